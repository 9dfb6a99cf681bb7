"""The access matrix: every route of the app x every kind of caller -> the outcome.

Expectations are written from CONTRACT.md's roles, not from what the code does:
- a role held at a unit covers that unit's whole subtree;
- preparer (village) and submitter (commune) draft: create, self-assess, upload;
  only the submitter sets the commune's fields (request_ref) and submits;
- appraiser (district) gives verdicts, returns, marks appraised;
- approver (district) returns, rejects, recognises, revokes;
- viewer reads and downloads; admin manages users and has no dossier actions
  (reading is not an action: admin@lai-chau reads like a viewer of the province);
- the viewer is also a steering-committee member (xã Nà Tăm); the committee's standing office
  is the appraiser (district, no criteria limit);
- "outsider" is a submitter of another commune (giang-ma): every na-tam dossier
  is 404 to them (no existence leak), the rest of the app works as for anyone;
- anonymous: pages redirect to /login?next=..., the API answers 401; the public
  endpoints (auth.PUBLIC_ENDPOINTS) answer everyone.

A new route without an entry here fails `test_every_route_has_a_matrix_entry`.
Routes that deliberately have no entry go to EXCLUDED, with the reason.

Pages are called with a session (POST /login), the API with Bearer tokens. The
app and the fixture data are built once for the module; state-changing requests
get a pristine dossier from a small pool (rebuilt through the services whenever
a request changed it), so every case is independent of the order of the others.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field

import frozen_clock
import pytest
from conftest import build_app
from helpers import PDF, dispose_engines
from sqlalchemy import func, select, update
from test_clocks import backdate

from workflow_app.clock import local_now
from workflow_app.extensions import db
from workflow_app.models import Dossier, User
from workflow_app.services import (
    appraise_criterion,
    attach_evidence,
    create_dossier,
    fire_event,
    self_assess,
)
from workflow_app.services.core.lines import add_line
from workflow_app.services.core.users import create_user, issue_token
from workflow_app.services.documents.decisions import decision_of
from workflow_app.services.documents.papers import documents_of

pytestmark = pytest.mark.db

PASSWORD = "pw-123456"
YEAR = frozen_clock.YEAR
SUB_YEAR = YEAR - 1  # only the shared submitted dossier has this year: list filters find exactly it

# ----------------------------------------------------------------------------- callers

ANON, PREP, SUB, APPR, APV, VIEW, ADM, OUT = ROLES = (
    "anonymous", "preparer", "submitter", "appraiser", "approver", "viewer", "admin", "outsider")
# role -> (role held, unit); anonymous has no user.
CAST = {
    PREP: ("preparer", "na-tam-01"),
    SUB: ("submitter", "na-tam"),
    APPR: ("appraiser", "tam-duong"),
    APV: ("approver", "tam-duong"),
    VIEW: ("viewer", "tam-duong"),
    ADM: ("admin", "lai-chau"),
    OUT: ("submitter", "giang-ma"),
}

# ----------------------------------------------------------------------------- outcomes

LOGIN = "login"  # 302 to /login?next=... (a page asked for without a session)
SEES = "sees"    # 200, and the fixture dossier is in the list
BLIND = "blind"  # 200, and the fixture dossier is not in the list


@dataclass(frozen=True)
class Bug:
    """The outcome the role should get, which the app does not give today:
    the case runs as xfail(strict=True), so a fix turns it into a failure
    that asks for the Bug(...) wrapper to be removed."""

    expected: int | str
    reason: str


# ----------------------------------------------------------------------------- cases

@dataclass
class Ctx:
    """Concrete ids the URL and body builders fill in."""

    sub: int = 0          # village_ntm, na-tam-01, submitted, with evidence
    sub_code: str = ""
    att: int = 0          # an attachment of `sub` (criterion 1)
    draft: int = 0        # village_ntm, na-tam-01, draft (read-only pages)
    rec: int = 0          # village_ntm, na-tam-01, recognized, with its decision
    token: str = ""       # the decision's verification token
    report: int = 0       # the appraisal report of `rec` (a dossier paper, services/documents/papers.py)
    rev: int = 0          # village_ntm, na-tam-01, recognized then revoked (two decisions)
    lines: int = 0        # cement_request, na-tam (a commune's), submitted, with lines
    lines_draft: int = 0  # cement_request, na-tam, draft, with lines (read-only pages)
    lines_draft_line: int = 0  # its first line
    target: int = 0       # a user the admin enables (idempotent)
    pool: int = 0         # the pristine dossier of this case (Case.pool)
    pool_att: int = 0     # that dossier's first evidence file, if any
    pool_line: int = 0    # that dossier's first line, if it is made of lines
    me: str = ""          # the caller's username (a guest user for anonymous)


@dataclass
class Case:
    url: Callable[[Ctx], str]
    expect: dict
    body: Callable[[Ctx], dict] | None = None  # keyword arguments of client.open
    pool: str | None = None      # "draft" | "ready" | "submitted" | "lines draft": a pristine dossier it may change
    creates: bool = False        # allowed -> one more dossier; refused -> none
    rotates_session: bool = False  # the caller's session cookie is worthless afterwards
    listed: Callable | None = None  # (ctx, response) -> is the fixture dossier in the list?


def _upload_form(c: Ctx) -> dict:
    return {"data": {"file": (io.BytesIO(PDF), "minh-chung.pdf"), "criterion": "1"},
            "content_type": "multipart/form-data"}


def _lines_workbook(c: Ctx) -> dict:
    """A workbook of one cement line, headed by the column names (the import reads those too)."""
    from openpyxl import Workbook

    book = Workbook()
    line = {**_cement_line("Kè đá"), "priority": 1}
    book.active.append(list(line))
    book.active.append(list(line.values()))
    out = io.BytesIO()
    book.save(out)
    return {"data": {"file": (io.BytesIO(out.getvalue()), "dong.xlsx")}, "content_type": "multipart/form-data"}


def _web_lists(c: Ctx, r) -> bool:
    return f'href="/dossiers/{c.sub}"' in r.get_data(as_text=True)


def _api_lists(c: Ctx, r) -> bool:
    return any(item["id"] == c.sub for item in r.get_json()["items"])


# endpoint -> {"METHOD" or "METHOD variant": Case}; expect lists every caller.
MATRIX: dict[str, dict[str, Case]] = {
    # ------------------------------------------------------------------ public
    "static": {
        "GET": Case(url=lambda c: "/static/app.css", expect={
            ANON: 200, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.healthz": {
        "GET": Case(url=lambda c: "/healthz", expect={
            ANON: 200, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.set_lang": {
        "GET": Case(url=lambda c: "/lang/en?next=/dossiers", expect={
            ANON: 302, PREP: 302, SUB: 302, APPR: 302, APV: 302, VIEW: 302, ADM: 302, OUT: 302}),
    },
    "web.verify": {
        "GET": Case(url=lambda c: f"/verify/{c.token}", expect={
            ANON: 200, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.verify_upload": {
        "POST": Case(url=lambda c: f"/verify/{c.token}", body=_upload_form, expect={
            ANON: 200, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.login": {
        "GET": Case(url=lambda c: "/login", expect={
            ANON: 200, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
        # Each caller signs in as itself (anonymous as a guest user).
        "POST": Case(url=lambda c: "/login", body=lambda c: {"data": {"username": c.me, "password": PASSWORD}},
                     expect={ANON: 302, PREP: 302, SUB: 302, APPR: 302, APV: 302, VIEW: 302, ADM: 302, OUT: 302}),
    },
    "api-docs.openapi_json": {
        "GET": Case(url=lambda c: "/api/v1/openapi.json", expect={
            ANON: 200, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    # ------------------------------------------------------------------ pages: any signed-in user
    "web.index": {
        "GET": Case(url=lambda c: "/", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.dossier_list": {
        "GET": Case(url=lambda c: f"/dossiers?q={c.sub_code}", listed=_web_lists, expect={
            ANON: LOGIN, PREP: SEES, SUB: SEES, APPR: SEES, APV: SEES, VIEW: SEES, ADM: SEES, OUT: BLIND}),
    },
    "web.logout": {
        "POST": Case(url=lambda c: "/logout", rotates_session=True, expect={
            ANON: LOGIN, PREP: 302, SUB: 302, APPR: 302, APV: 302, VIEW: 302, ADM: 302, OUT: 302}),
    },
    "web.password": {
        "GET": Case(url=lambda c: "/password", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
        # A valid change (to the same password, so later sign-ins still work).
        "POST": Case(url=lambda c: "/password", rotates_session=True,
                     body=lambda c: {"data": {"current": PASSWORD, "new": PASSWORD}},
                     expect={ANON: LOGIN, PREP: 302, SUB: 302, APPR: 302, APV: 302, VIEW: 302, ADM: 302,
                             OUT: 302}),
    },
    # ------------------------------------------------------------------ pages: administration
    "web.admin_users": {
        "GET": Case(url=lambda c: "/admin/users", expect={
            ANON: LOGIN, PREP: 403, SUB: 403, APPR: 403, APV: 403, VIEW: 403, ADM: 200, OUT: 403}),
    },
    "web.admin_set_active": {
        # Enabling an enabled account: valid for the admin, changes nothing that matters.
        "POST": Case(url=lambda c: f"/admin/users/{c.target}/active/1", expect={
            ANON: LOGIN, PREP: 403, SUB: 403, APPR: 403, APV: 403, VIEW: 403, ADM: 302, OUT: 403}),
    },
    # ------------------------------------------------------------------ pages: dossiers
    "web.dossier_new": {
        "GET": Case(url=lambda c: "/dossiers/new", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 403, APV: 403, VIEW: 403, ADM: 403, OUT: 200}),
        "POST": Case(url=lambda c: "/dossiers/new", creates=True,
                     body=lambda c: {"data": {"kind": "village_ntm", "unit": "na-tam-01", "year": str(YEAR)}},
                     expect={ANON: LOGIN, PREP: 302, SUB: 302, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                             OUT: 403}),
    },
    "web.dossier_detail": {
        "GET": Case(url=lambda c: f"/dossiers/{c.sub}", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
    },
    "web.dossier_self_assessment": {
        "GET": Case(url=lambda c: f"/dossiers/{c.draft}/self-assessment", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 403, APV: 403, VIEW: 403, ADM: 403, OUT: 404}),
        "POST": Case(url=lambda c: f"/dossiers/{c.pool}/self-assessment", pool="draft",
                     body=lambda c: {"data": {"sa-1": "met", "note-1": "Đạt"}},
                     expect={ANON: LOGIN, PREP: 302, SUB: 302, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    "web.dossier_appraisal": {
        "GET": Case(url=lambda c: f"/dossiers/{c.sub}/appraisal", expect={
            ANON: LOGIN, PREP: 403, SUB: 403, APPR: 200, APV: 403, VIEW: 403, ADM: 403, OUT: 404}),
        "POST": Case(url=lambda c: f"/dossiers/{c.pool}/appraisal", pool="submitted",
                     body=lambda c: {"data": {"verdict-1": "pass"}},
                     expect={ANON: LOGIN, PREP: 403, SUB: 403, APPR: 302, APV: 403, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    "web.dossier_fields": {
        "GET": Case(url=lambda c: f"/dossiers/{c.draft}/fields", expect={
            ANON: LOGIN, PREP: 403, SUB: 200, APPR: 403, APV: 403, VIEW: 403, ADM: 403, OUT: 404}),
        "POST": Case(url=lambda c: f"/dossiers/{c.pool}/fields", pool="draft",
                     body=lambda c: {"data": {"field-request_ref": "Tờ trình số 12/TTr-UBND ngày 02/9/2024"}},
                     expect={ANON: LOGIN, PREP: 403, SUB: 302,
                             APPR: 403, APV: 403,
                             VIEW: 403, ADM: 403, OUT: 404}),
    },
    "web.dossier_upload": {
        "POST": Case(url=lambda c: f"/dossiers/{c.pool}/attachments", pool="draft", body=_upload_form, expect={
            ANON: LOGIN, PREP: 302, SUB: 302, APPR: 403, APV: 403, VIEW: 403, ADM: 403, OUT: 404}),
    },
    "web.evidence_remove": {
        "POST": Case(url=lambda c: f"/dossiers/{c.pool}/attachments/{c.pool_att}/remove", pool="ready", expect={
            ANON: LOGIN, PREP: 302, SUB: 302, APPR: 403, APV: 403, VIEW: 403, ADM: 403, OUT: 404}),
    },
    "web.evidence_replace": {
        "POST": Case(url=lambda c: f"/dossiers/{c.pool}/attachments/{c.pool_att}/replace", pool="ready",
                     body=_upload_form, expect={
                         ANON: LOGIN, PREP: 302, SUB: 302, APPR: 403, APV: 403, VIEW: 403, ADM: 403, OUT: 404}),
    },
    "web.dossier_attachment": {
        "GET": Case(url=lambda c: f"/dossiers/{c.sub}/attachments/{c.att}", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
    },
    "web.dossier_event": {
        "POST return": Case(url=lambda c: f"/dossiers/{c.pool}/events", pool="submitted",
                            body=lambda c: {"data": {"event": "return", "comment": "Bổ sung minh chứng tiêu chí 7",
                                                     "confirm": "y"}},
                            expect={ANON: LOGIN, PREP: 403, SUB: 403, APPR: 302, APV: 302, VIEW: 403, ADM: 403,
                                    OUT: 404}),
        "POST submit": Case(url=lambda c: f"/dossiers/{c.pool}/events", pool="ready",
                            body=lambda c: {"data": {"event": "submit", "confirm": "y"}},
                            expect={ANON: LOGIN, PREP: 403, SUB: 302, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                                    OUT: 404}),
    },
    # ------------------------------------------------------------------ pages: the decision register
    # The API's rule (reference.register): every user whose units meet the issuer's reads it;
    # the navigation links it for approver, appraiser, viewer and admin only.
    "web.register_page": {
        "GET": Case(url=lambda c: f"/decisions?issuer=tam-duong&year={YEAR}", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.register_xlsx_download": {
        "GET": Case(url=lambda c: f"/decisions.xlsx?issuer=tam-duong&year={YEAR}", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.dossier_decision": {
        "GET": Case(url=lambda c: f"/dossiers/{c.rec}/decision.pdf", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
    },
    "web.dossier_document": {
        "GET": Case(url=lambda c: f"/dossiers/{c.rec}/documents/{c.report}.pdf", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
    },
    "web.outbox": {
        # Everyone signed in reads the outbox: an admin every message, others their own.
        "GET": Case(url=lambda c: "/outbox", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.batch_decision": {
        "GET": Case(url=lambda c: "/decisions/batch", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.batch_decision_post": {
        "POST": Case(url=lambda c: "/decisions/batch", pool="appraised",
                     body=lambda c: {"data": {"dossier": str(c.pool), "confirm": "y"}},
                     expect={ANON: LOGIN, PREP: 403, SUB: 403, APPR: 403, APV: 302, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    "web.dossier_revocation": {
        "GET": Case(url=lambda c: f"/dossiers/{c.rev}/revocation.pdf", expect={
            ANON: LOGIN, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
    },
    # ------------------------------------------------------------------ pages: progress dashboard, monthly report
    # Officials above village level, each over their own subtree (a commune officer sees
    # their commune; the outsider sees Giang Ma); a village head follows their own dossiers.
    "web.dashboard_page": {
        "GET": Case(url=lambda c: f"/dashboard?year={SUB_YEAR}", expect={
            ANON: LOGIN, PREP: 403, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.dashboard_xlsx": {
        "GET": Case(url=lambda c: f"/dashboard.xlsx?year={SUB_YEAR}", expect={
            ANON: LOGIN, PREP: 403, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.monthly_report_page": {
        "GET": Case(url=lambda c: "/reports/monthly", expect={
            ANON: LOGIN, PREP: 403, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.monthly_moves_page": {
        "GET": Case(url=lambda c: "/reports/monthly/moves", expect={
            ANON: LOGIN, PREP: 403, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.monthly_overdue_page": {
        "GET": Case(url=lambda c: "/reports/monthly/overdue", expect={
            ANON: LOGIN, PREP: 403, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.monthly_report_xlsx": {
        "GET": Case(url=lambda c: "/reports/monthly.xlsx", expect={
            ANON: LOGIN, PREP: 403, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "web.monthly_report_pdf": {
        "GET": Case(url=lambda c: "/reports/monthly.pdf", expect={
            ANON: LOGIN, PREP: 403, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    # ------------------------------------------------------------------ pages: summaries of lines
    # The receiving unit's table across its communes: whoever reads the issuer's dossiers
    # (the district's officials, the province's admin); a commune or a village reads its own.
    "web.summary_page": {
        "GET": Case(url=lambda c: f"/summaries/cement_request?issuer=tam-duong&year={YEAR}", expect={
            ANON: LOGIN, PREP: 403, SUB: 403, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 403}),
    },
    "web.summary_xlsx_download": {
        "GET": Case(url=lambda c: f"/summaries/cement_request.xlsx?issuer=tam-duong&year={YEAR}", expect={
            ANON: LOGIN, PREP: 403, SUB: 403, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 403}),
    },
    "web.summary_pdf_download": {
        "GET": Case(url=lambda c: f"/summaries/funding_plan.pdf?issuer=tam-duong&year={YEAR}", expect={
            ANON: LOGIN, PREP: 403, SUB: 403, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 403}),
    },
    # ------------------------------------------------------------------ API: reference
    "reference.me": {
        "GET": Case(url=lambda c: "/api/v1/me", expect={
            ANON: 401, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "reference.units": {
        "GET": Case(url=lambda c: "/api/v1/units?parent=na-tam", expect={
            ANON: 401, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "reference.unit": {
        "GET": Case(url=lambda c: "/api/v1/units/na-tam-01?on=2025-07-01", expect={
            ANON: 401, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "reference.register": {
        # The district's register of numbered decisions: public documents (each has a public
        # verify page); every user of the district and province may read it.
        "GET": Case(url=lambda c: f"/api/v1/decisions?issuer=tam-duong&year={YEAR}", expect={
            ANON: 401, PREP: 200, SUB: 200, APPR: 200,
            APV: 200, VIEW: 200, ADM: 200,
            OUT: 200}),
    },
    "reference.register_xlsx_file": {
        # The same register as a workbook, under the same rule.
        "GET": Case(url=lambda c: f"/api/v1/decisions.xlsx?issuer=tam-duong&year={YEAR}", expect={
            ANON: 401, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    # ------------------------------------------------------------------ API: summaries of lines
    "summaries.summary_json": {
        "GET": Case(url=lambda c: f"/api/v1/summaries/funding_plan?issuer=tam-duong&year={YEAR}", expect={
            ANON: 401, PREP: 403, SUB: 403, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 403}),
    },
    "summaries.summary_xlsx_file": {
        "GET": Case(url=lambda c: f"/api/v1/summaries/cement_request.xlsx?issuer=tam-duong&year={YEAR}", expect={
            ANON: 401, PREP: 403, SUB: 403, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 403}),
    },
    # ------------------------------------------------------------------ API: dossiers
    "dossiers.list_dossiers": {
        "GET": Case(url=lambda c: f"/api/v1/dossiers?unit=na-tam-01&year={SUB_YEAR}&state=submitted",
                    listed=_api_lists, expect={
                        ANON: 401, PREP: SEES, SUB: SEES, APPR: SEES, APV: SEES, VIEW: SEES, ADM: SEES,
                        OUT: BLIND}),
    },
    "dossiers.create": {
        "POST": Case(url=lambda c: "/api/v1/dossiers", creates=True,
                     body=lambda c: {"json": {"kind": "village_ntm", "unit": "na-tam-01", "year": YEAR}},
                     expect={ANON: 401, PREP: 201, SUB: 201, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                             OUT: 403}),
    },
    "dossiers.get_dossier": {
        "GET": Case(url=lambda c: f"/api/v1/dossiers/{c.sub}", expect={
            ANON: 401, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
    },
    "dossiers.put_self_assessment": {
        "PUT": Case(url=lambda c: f"/api/v1/dossiers/{c.pool}/criteria/1", pool="draft",
                    body=lambda c: {"json": {"self_assessment": "met", "note": "Đạt"}},
                    expect={ANON: 401, PREP: 200, SUB: 200, APPR: 403, APV: 403, VIEW: 403, ADM: 403, OUT: 404}),
    },
    "dossiers.post_appraisal": {
        "POST": Case(url=lambda c: f"/api/v1/dossiers/{c.pool}/criteria/1/appraisal", pool="submitted",
                     body=lambda c: {"json": {"verdict": "pass"}},
                     expect={ANON: 401, PREP: 403, SUB: 403, APPR: 200, APV: 403, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    "dossiers.put_fields": {
        "PUT": Case(url=lambda c: f"/api/v1/dossiers/{c.pool}/fields", pool="draft",
                    body=lambda c: {"json": {"request_ref": "Tờ trình số 12/TTr-UBND ngày 02/9/2024"}},
                    expect={ANON: 401, PREP: 403, SUB: 200, APPR: 403, APV: 403, VIEW: 403, ADM: 403, OUT: 404}),
    },
    "dossiers.post_attachment": {
        "POST": Case(url=lambda c: f"/api/v1/dossiers/{c.pool}/attachments", pool="draft", body=_upload_form,
                     expect={ANON: 401, PREP: 201, SUB: 201, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    "dossiers.attachment": {
        "GET": Case(url=lambda c: f"/api/v1/dossiers/{c.sub}/attachments/{c.att}", expect={
            ANON: 401, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
        "DELETE": Case(url=lambda c: f"/api/v1/dossiers/{c.pool}/attachments/{c.pool_att}", pool="ready",
                       expect={ANON: 401, PREP: 204, SUB: 204, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                               OUT: 404}),
    },
    "dossiers.post_event": {
        "POST return": Case(url=lambda c: f"/api/v1/dossiers/{c.pool}/events", pool="submitted",
                            body=lambda c: {"json": {"event": "return", "comment": "Bổ sung minh chứng tiêu chí 7"}},
                            expect={ANON: 401, PREP: 403, SUB: 403, APPR: 200, APV: 200, VIEW: 403, ADM: 403,
                                    OUT: 404}),
        "POST submit": Case(url=lambda c: f"/api/v1/dossiers/{c.pool}/events", pool="ready",
                            body=lambda c: {"json": {"event": "submit"}},
                            expect={ANON: 401, PREP: 403, SUB: 200, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                                    OUT: 404}),
    },
    # Dossiers made of lines: a commune's (its preparer and submitter edit the lines while
    # a draft); the village's preparer is below the applicant and does not see it.
    "lines.lines": {
        "GET": Case(url=lambda c: f"/api/v1/dossiers/{c.lines}/lines", expect={
            ANON: 401, PREP: 404, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
        "POST": Case(url=lambda c: f"/api/v1/dossiers/{c.pool}/lines", pool="lines draft",
                     body=lambda c: {"json": _cement_line("Mương thoát nước")},
                     expect={ANON: 401, PREP: 404, SUB: 201, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    "lines.line": {
        "PUT": Case(url=lambda c: f"/api/v1/dossiers/{c.pool}/lines/{c.pool_line}", pool="lines draft",
                    body=lambda c: {"json": {"cement_tonnes": 7.5}},
                    expect={ANON: 401, PREP: 404, SUB: 200, APPR: 403, APV: 403, VIEW: 403, ADM: 403, OUT: 404}),
        "DELETE": Case(url=lambda c: f"/api/v1/dossiers/{c.pool}/lines/{c.pool_line}", pool="lines draft",
                       expect={ANON: 401, PREP: 404, SUB: 204, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                               OUT: 404}),
    },
    # The same table through the pages: the dossier's page forms (redirect on success).
    "web.dossier_line_add": {
        "POST": Case(url=lambda c: f"/dossiers/{c.pool}/lines", pool="lines draft",
                     body=lambda c: {"data": {f"line-{k}": str(v) for k, v in _cement_line("Rãnh nước").items()}},
                     expect={ANON: LOGIN, PREP: 404, SUB: 302, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    "web.dossier_line_edit": {
        "GET": Case(url=lambda c: f"/dossiers/{c.lines_draft}/lines/{c.lines_draft_line}", expect={
            ANON: LOGIN, PREP: 404, SUB: 200, APPR: 403, APV: 403, VIEW: 403, ADM: 403, OUT: 404}),
        "POST": Case(url=lambda c: f"/dossiers/{c.pool}/lines/{c.pool_line}", pool="lines draft",
                     body=lambda c: {"data": {"line-cement_tonnes": "7,5"}},
                     expect={ANON: LOGIN, PREP: 404, SUB: 302, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    "web.dossier_line_remove": {
        "POST": Case(url=lambda c: f"/dossiers/{c.pool}/lines/{c.pool_line}/remove", pool="lines draft",
                     body=lambda c: {"data": {"confirm": "y"}},
                     expect={ANON: LOGIN, PREP: 404, SUB: 302, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    "web.dossier_lines_template": {
        "GET": Case(url=lambda c: f"/dossiers/{c.lines}/lines/template.xlsx", expect={
            ANON: LOGIN, PREP: 404, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
    },
    "web.dossier_lines_import": {
        "POST": Case(url=lambda c: f"/dossiers/{c.pool}/lines/import", pool="lines draft", body=_lines_workbook,
                     expect={ANON: LOGIN, PREP: 404, SUB: 302, APPR: 403, APV: 403, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    "dossiers.decision_pdf": {
        "GET": Case(url=lambda c: f"/api/v1/dossiers/{c.rec}/decision.pdf", expect={
            ANON: 401, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
    },
    "documents.list_documents": {
        "GET": Case(url=lambda c: f"/api/v1/dossiers/{c.rec}/documents", expect={
            ANON: 401, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
    },
    "documents.document_pdf": {
        "GET": Case(url=lambda c: f"/api/v1/dossiers/{c.rec}/documents/{c.report}.pdf", expect={
            ANON: 401, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
    },
    "batch.post_decision": {
        "POST": Case(url=lambda c: "/api/v1/decisions", pool="appraised",
                     body=lambda c: {"json": {"dossiers": [c.pool]}},
                     expect={ANON: 401, PREP: 403, SUB: 403, APPR: 403, APV: 201, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    "dossiers.revocation_pdf": {
        "GET": Case(url=lambda c: f"/api/v1/dossiers/{c.rev}/revocation.pdf", expect={
            ANON: 401, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 404}),
    },
    # Apology slip of a late step: whoever may act on the step (appraiser, approver on
    # `submitted`), on a dossier submitted 40 days ago (pool "overdue").
    "apology.post_apology": {
        "POST": Case(url=lambda c: f"/api/v1/dossiers/{c.pool}/apology", pool="overdue",
                     body=lambda c: {"json": {"new_date": _apology_date(), "reason": "Chưa đi thực địa được"}},
                     expect={ANON: 401, PREP: 403, SUB: 403, APPR: 201, APV: 201, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    "web.dossier_apology": {
        "POST": Case(url=lambda c: f"/dossiers/{c.pool}/apology", pool="overdue",
                     body=lambda c: {"data": {"new_date": _apology_date(), "reason": "Chưa đi thực địa được",
                                              "confirm": "y"}},
                     expect={ANON: LOGIN, PREP: 403, SUB: 403, APPR: 302, APV: 302, VIEW: 403, ADM: 403,
                             OUT: 404}),
    },
    # Steering committee (services/committee/): the viewer is also a member (xã Nà Tăm,
    # village criterion 1); the standing office is the district appraiser without a criteria limit.
    "web.committee_home": {
        "GET": Case(url=lambda c: "/committee", expect={  # the standing office is sent to its own page
            ANON: LOGIN, PREP: 403, SUB: 403, APPR: 302, APV: 403, VIEW: 200, ADM: 403, OUT: 403}),
    },
    "web.committee_visit": {
        "POST": Case(url=lambda c: "/committee/visits", body=lambda c: {"data": {
            "commune": "na-tam", "visited_on": local_now().date().isoformat(), "notes": "Kiểm tra bản 01"}},
            expect={ANON: LOGIN, PREP: 403, SUB: 403, APPR: 403, APV: 403, VIEW: 302, ADM: 403, OUT: 403}),
    },
    "web.committee_report": {
        "POST": Case(url=lambda c: "/committee/reports", body=lambda c: {"data": {
            "commune": "na-tam", "month": local_now().strftime("%Y-%m"), "body": "Tình hình tháng",
            "status-village_ntm-1": "met"}},
            expect={ANON: LOGIN, PREP: 403, SUB: 403, APPR: 403, APV: 403, VIEW: 302, ADM: 403, OUT: 403}),
    },
    "web.committee_office": {
        "GET": Case(url=lambda c: "/committee/office", expect={
            ANON: LOGIN, PREP: 403, SUB: 403, APPR: 200, APV: 403, VIEW: 403, ADM: 403, OUT: 403}),
    },
    "web.admin_committee": {
        "GET": Case(url=lambda c: "/admin/committee", expect={
            ANON: LOGIN, PREP: 403, SUB: 403, APPR: 200, APV: 403, VIEW: 403, ADM: 200, OUT: 403}),
    },
    "committee.me": {
        "GET": Case(url=lambda c: "/api/v1/committee/me", expect={  # member: null for non-members
            ANON: 401, PREP: 200, SUB: 200, APPR: 200, APV: 200, VIEW: 200, ADM: 200, OUT: 200}),
    },
    "committee.post_visit": {
        "POST": Case(url=lambda c: "/api/v1/committee/visits", body=lambda c: {"json": {
            "commune": "na-tam", "visited_on": local_now().date().isoformat(), "notes": "Kiểm tra bản 02"}},
            expect={ANON: 401, PREP: 403, SUB: 403, APPR: 403, APV: 403, VIEW: 201, ADM: 403, OUT: 403}),
    },
    "committee.put_report": {
        "PUT": Case(url=lambda c: f"/api/v1/committee/reports/na-tam/{local_now():%Y-%m}", body=lambda c: {"json": {
            "body": "Tình hình tháng", "criteria": {"village_ntm": {"1": {"status": "in_progress"}}}}},
            expect={ANON: 401, PREP: 403, SUB: 403, APPR: 403, APV: 403, VIEW: 200, ADM: 403, OUT: 403}),
    },
    "committee.reports": {
        "GET": Case(url=lambda c: "/api/v1/committee/reports", expect={
            ANON: 401, PREP: 403, SUB: 403, APPR: 200, APV: 403, VIEW: 403, ADM: 403, OUT: 403}),
    },
}

def _cement_line(work: str) -> dict:
    return {"village": "na-tam-01", "work": work, "quantity": 200, "unit_of_measure": "m", "cement_tonnes": 9,
            "households": 25}


def _apology_date() -> str:
    from workflow_app.workdays import add_working_days

    return add_working_days(local_now().date(), 2).isoformat()


# Endpoints of the url_map that deliberately have no matrix entry: endpoint -> reason.
# (flask-smorest's Swagger UI / ReDoc / RapiDoc pages are not configured: OPENAPI_*_PATH unset.)
EXCLUDED: dict[str, str] = {}


def _method(label: str) -> str:
    return label.split()[0]


def _is_api(endpoint: str) -> bool:
    return not (endpoint == "static" or endpoint.startswith("web."))


# ----------------------------------------------------------------------------- the world

@dataclass
class World:
    app: object
    ctx: Ctx
    usernames: dict
    tokens: dict
    builder: dict                      # role -> id of the helper user who builds the fixtures
    cookies: dict = field(default_factory=dict)
    pool: dict = field(default_factory=dict)

    # --- dossiers, through the services
    def build(self, state: str, year: int = YEAR) -> int:
        """A village_ntm dossier of na-tam-01 in `state`, made by helper users
        (so the matrix users have no history on it: no separation-of-duty effects)."""
        sub, appr, apv = (db.session.get(User, self.builder[r]) for r in ("submitter", "appraiser", "approver"))
        # Many fixtures share na-tam-01: free the (kind, applicant, year) uniqueness slot.
        db.session.execute(update(Dossier).values(open_key=None))
        dossier = create_dossier(sub, "village_ntm", "na-tam-01", year)
        if state != "draft":
            for entry in list(dossier.current_criteria()):
                attach_evidence(sub, dossier, f"minh-chung-{entry.code}.pdf", PDF, entry.code)
                self_assess(sub, dossier, entry.code, "met", "Đạt")
        if state in ("submitted", "overdue", "appraised", "recognized", "revoked"):
            fire_event(sub, dossier, "submit")
        if state in ("appraised", "recognized", "revoked"):
            for entry in list(dossier.current_criteria()):
                appraise_criterion(appr, dossier, entry.code, "pass", None)
            fire_event(appr, dossier, "appraise")
        if state in ("recognized", "revoked"):
            fire_event(apv, dossier, "recognize")
        if state == "revoked":
            fire_event(apv, dossier, "revoke", "Tiêu chí 8 (Thu nhập) không còn đạt")
        db.session.commit()
        if state == "overdue":  # submitted 40 days ago: past its 15 working days
            backdate(dossier.id, 40)
        assert dossier.state == {"ready": "draft", "overdue": "submitted"}.get(state, state)
        return dossier.id

    def build_lines(self, state: str, year: int = YEAR) -> int:
        """A cement_request of na-tam with two lines in `state` (draft or submitted)."""
        sub = db.session.get(User, self.builder["submitter"])
        db.session.execute(update(Dossier).values(open_key=None))
        dossier = create_dossier(sub, "cement_request", "na-tam", year)
        for work in ("Đường nội bản", "Sân nhà văn hoá"):
            add_line(sub, dossier, _cement_line(work))
        if state == "submitted":
            fire_event(sub, dossier, "submit")
        db.session.commit()
        assert dossier.state == state
        return dossier.id

    def pristine(self, kind: str) -> int:
        with self.app.app_context():
            if kind not in self.pool:
                did = self.build_lines(kind.split()[1]) if kind.startswith("lines ") else self.build(kind)
                self.pool[kind] = (did, db.session.get(Dossier, did).version)
            return self.pool[kind][0]

    def first_attachment(self, dossier_id: int) -> int:
        with self.app.app_context():
            return min((a.id for a in db.session.get(Dossier, dossier_id).attachments), default=0)

    def first_line(self, dossier_id: int) -> int:
        with self.app.app_context():
            return min((ln.id for ln in db.session.get(Dossier, dossier_id).current_lines()), default=0)

    def pool_changed(self, kind: str) -> bool:
        """Whether the last request changed the pool dossier; a changed one is dropped."""
        did, version = self.pool[kind]
        with self.app.app_context():
            changed = db.session.get(Dossier, did).version != version
        if changed:
            del self.pool[kind]
        return changed

    def dossier_count(self) -> int:
        with self.app.app_context():
            return db.session.execute(select(func.count(Dossier.id))).scalar_one()

    def free_slots(self) -> None:
        with self.app.app_context():
            db.session.execute(update(Dossier).values(open_key=None))
            db.session.commit()

    # --- callers
    def web_client(self, role: str):
        client = self.app.test_client()
        if role == ANON:
            return client
        if role in self.cookies:
            client.set_cookie("session", self.cookies[role])
            return client
        r = client.post("/login", data={"username": self.usernames[role], "password": PASSWORD})
        r.close()
        assert r.status_code == 302, f"cannot sign in as {role}: {r.status_code}"
        self.cookies[role] = client.get_cookie("session").value
        return client

    def call(self, endpoint: str, label: str, role: str, ctx: Ctx):
        case = MATRIX[endpoint][label]
        kw = case.body(ctx) if case.body else {}
        method, url = _method(label), case.url(ctx)
        if _is_api(endpoint):
            client = self.app.test_client()
            headers = {} if role == ANON else {"Authorization": f"Bearer {self.tokens[role]}"}
            r = client.open(url, method=method, headers=headers, **kw)
        else:
            r = self.web_client(role).open(url, method=method, **kw)
        r.get_data()  # read streamed files fully, then release them
        r.close()
        return r


@pytest.fixture(scope="module")
def world(tmp_path_factory, pg_database):
    # No app context stays pushed while requests run: Flask would reuse it, and with it
    # `g` (Flask-Login keeps the signed-in user there) and the SQLAlchemy session, so
    # one client's login would leak into the next client's request.
    app = build_app(tmp_path_factory.mktemp("access-matrix"), pg_database)
    with app.app_context():
        usernames, tokens = {}, {}
        for role, (held, unit) in CAST.items():
            user = create_user(f"m-{role}", PASSWORD, held, unit)
            usernames[role], tokens[role] = user.username, issue_token(user)
        # The viewer is also a steering-committee member: the member-only routes have a caller.
        from workflow_app.models import CommitteeMember
        from workflow_app.services.core.users import find_user
        db.session.add(CommitteeMember(user_id=find_user(usernames[VIEW]).id, title="Thành viên Ban chỉ đạo",
                                       criteria={"village_ntm": ["1"]}, communes=["na-tam"]))
        guest = create_user("m-guest", PASSWORD, "viewer", "tam-duong")
        target = create_user("m-target", PASSWORD, "viewer", "tam-duong")
        builder = {
            "submitter": create_user("m-build-sub", PASSWORD, "submitter", "na-tam"),
            "appraiser": create_user("m-build-appr", PASSWORD, "appraiser", "tam-duong"),
            "approver": create_user("m-build-apv", PASSWORD, "approver", "tam-duong"),
        }
        db.session.commit()
        builder = {role: user.id for role, user in builder.items()}
        usernames[ANON] = guest.username
        w = World(app=app, ctx=Ctx(target=target.id), usernames=usernames, tokens=tokens, builder=builder)
        sub = db.session.get(Dossier, w.build("submitted", SUB_YEAR))
        w.ctx.sub, w.ctx.sub_code = sub.id, sub.code
        w.ctx.att = next(a.id for a in sub.attachments if a.criterion_code == "1")
        w.ctx.draft = w.build("draft", YEAR - 2)
        rec = db.session.get(Dossier, w.build("recognized", YEAR - 3))
        decision = decision_of(rec)
        assert decision is not None and decision.status == "valid"
        w.ctx.rec, w.ctx.token = rec.id, decision.verify_token
        w.ctx.report = next(d.id for d in documents_of(rec) if d.kind == "appraisal_report")
        w.ctx.rev = w.build("revoked", YEAR - 4)
        w.ctx.lines = w.build_lines("submitted")
        w.ctx.lines_draft = w.build_lines("draft", YEAR - 5)
        w.ctx.lines_draft_line = min(ln.id for ln in db.session.get(Dossier, w.ctx.lines_draft).lines)
        db.session.commit()
        db.session.remove()
    yield w
    with app.app_context():
        db.session.remove()
        dispose_engines()


# ----------------------------------------------------------------------------- completeness

def _routes(app) -> dict[str, set[str]]:
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        routes.setdefault(rule.endpoint, set()).update(rule.methods - {"HEAD", "OPTIONS"})
    return routes


def test_every_route_has_a_matrix_entry(world):
    routes = _routes(world.app)
    problems = []
    for endpoint in sorted(routes):
        if endpoint in EXCLUDED:
            continue
        if endpoint not in MATRIX:
            problems.append(f"{endpoint} ({', '.join(sorted(routes[endpoint]))}): no entry in MATRIX")
            continue
        covered = {_method(label) for label in MATRIX[endpoint]}
        if covered != routes[endpoint]:
            problems.append(f"{endpoint}: routes answer {sorted(routes[endpoint])}, MATRIX covers {sorted(covered)}")
    for endpoint in sorted(set(MATRIX) | set(EXCLUDED)):
        if endpoint not in routes:
            where = "MATRIX" if endpoint in MATRIX else "EXCLUDED"
            problems.append(f"{endpoint}: in {where} but no such endpoint any more")
        elif endpoint in MATRIX and endpoint in EXCLUDED:
            problems.append(f"{endpoint}: both in MATRIX and EXCLUDED")
    for endpoint, cases in MATRIX.items():
        for label, case in cases.items():
            if set(case.expect) != set(ROLES):
                problems.append(f"{endpoint} {label}: expectations for {sorted(case.expect)}, need {sorted(ROLES)}")
    assert not problems, "access matrix out of date:\n  " + "\n  ".join(problems)


def test_public_endpoints_are_exactly_those_anonymous_may_use():
    """The gate's PUBLIC_ENDPOINTS agree with the matrix's anonymous column."""
    from workflow_app.auth import PUBLIC_ENDPOINTS

    def refused(outcome):
        outcome = outcome.expected if isinstance(outcome, Bug) else outcome
        return outcome in (LOGIN, 401)

    open_to_anonymous = {e for e, cases in MATRIX.items() if not any(refused(c.expect[ANON]) for c in cases.values())}
    assert open_to_anonymous == set(PUBLIC_ENDPOINTS)


# ----------------------------------------------------------------------------- the matrix

def _params():
    for endpoint, cases in MATRIX.items():
        for label, case in cases.items():
            for role in ROLES:
                outcome = case.expect[role]
                marks = [pytest.mark.xfail(strict=True, reason=outcome.reason)] if isinstance(outcome, Bug) else []
                yield pytest.param(endpoint, label, role, marks=marks,
                                   id=f"{endpoint}-{label.replace(' ', '_')}-{role}")


def _describe(r) -> str:
    body = r.get_data(as_text=True)
    return f"{r.status_code} Location={r.headers.get('Location')!r} body={body[:300]!r}"


@pytest.mark.parametrize(("endpoint", "label", "role"), list(_params()))
def test_access(world, endpoint, label, role):
    case = MATRIX[endpoint][label]
    want = case.expect[role]
    want = want.expected if isinstance(want, Bug) else want
    allowed = want not in (LOGIN, 401, 403, 404)
    ctx = Ctx(**{**world.ctx.__dict__, "me": world.usernames[role]})
    if case.pool:
        ctx.pool = world.pristine(case.pool)
        ctx.pool_att = world.first_attachment(ctx.pool)
        ctx.pool_line = world.first_line(ctx.pool)
    if case.creates:
        world.free_slots()
        before = world.dossier_count()

    r = world.call(endpoint, label, role, ctx)
    if case.rotates_session:
        world.cookies.pop(role, None)

    request = f"{_method(label)} {case.url(ctx)} as {role}"
    # What the request did to the data is checked first (and the pool refreshed)
    # so a failing status assertion never leaves a changed dossier behind.
    changed = world.pool_changed(case.pool) if case.pool else None
    created = world.dossier_count() - before if case.creates else None

    if want == LOGIN:
        assert r.status_code == 302 and "/login?next=" in r.headers.get("Location", ""), \
            f"{request}: want a redirect to /login, got {_describe(r)}"
    elif want in (SEES, BLIND):
        assert r.status_code == 200, f"{request}: want 200, got {_describe(r)}"
        assert case.listed(ctx, r) == (want == SEES), \
            f"{request}: the fixture dossier should {'' if want == SEES else 'not '}be listed"
    else:
        assert r.status_code == want, f"{request}: want {want}, got {_describe(r)}"
        if want == 302:
            assert "/login?next=" not in r.headers.get("Location", ""), f"{request}: sent to sign in"
        if _is_api(endpoint) and not allowed:
            assert r.is_json and "error" in r.get_json(), f"{request}: not the CONTRACT's error shape"

    if changed is not None:
        assert changed == allowed, \
            f"{request}: {'nothing was saved' if allowed else 'a refused request changed the dossier'}"
    if created is not None:
        assert created == (1 if allowed else 0), f"{request}: {created} dossiers created"
