"""Schemathesis against /api/v1/openapi.json, in process (WSGI), on the demo district.

Every operation of the document gets generated requests (valid and invalid) with the
default checks, `not_a_server_error` among them: no 500, responses as the document
describes them. The generated path ids are swapped, most of the time, for ids that
exist (a dossier in some state, one of its attachments or papers, a criterion code),
and every request carries the Bearer token of a real user in some role, so the
operations behind the 404 and 401 walls are reached. The run ends with the doctor:
whatever the fuzzer did, the stored data keeps its invariants.
"""
from __future__ import annotations

import os

import pytest
import schemathesis
from flask.testing import FlaskClient
from helpers import dossier_in
from hypothesis import HealthCheck, given, settings, strategies as st
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation
from test_doctor import assert_clean

from workflow_app.clock import local_today
from workflow_app.extensions import db
from workflow_app.models import Attachment, Document, Dossier
from workflow_app.months import current_month, shift_month
from workflow_app.services import create_dossier, fire_event
from workflow_app.services.admin.demo import DEMO_USERS
from workflow_app.services.committee.membership import load_committee
from workflow_app.services.core.lines import add_line
from workflow_app.services.core.users import create_user, find_user, issue_token

pytestmark = pytest.mark.db
# Per operation and mode: about half a minute for the whole document on two CPUs;
# FUZZ_EXAMPLES=500 for a longer hunt by hand.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "20"))
# A valid request that the rules refuse is a 422 (CONTRACT), not a schema failure.
ACCEPTED = ["2xx", "401", "403", "404", "409", "422", "429"]
# Except a line's body: the document cannot say which columns a dossier's kind has, so a
# body it calls valid may name a column the kind lacks, or (PUT) none at all: 400.
CONFIG = schemathesis.Config.from_dict({
    "checks": {"positive_data_acceptance": {"expected-statuses": ACCEPTED}},
    "operations": [{"include-path-regex": "/lines", "include-method": ["POST", "PUT"],
                    "checks": {"positive_data_acceptance": {"expected-statuses": [*ACCEPTED, "400"]}}}]})


class _Client(FlaskClient):
    """Reads each response whole and closes it (a download holds its file open)."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        response.get_data()
        response.close()
        return response


def _pools() -> dict:
    """Real values for each path parameter, per dossier so that the pairs match."""
    dossiers = {}
    for dossier in db.session.execute(db.select(Dossier).order_by(Dossier.id)).scalars():
        dossiers[dossier.id] = {
            "state": dossier.state,
            "attachment_id": [a for (a,) in db.session.execute(
                db.select(Attachment.id).where(Attachment.dossier_id == dossier.id).limit(5))] or [1],
            "document_id": [d for (d,) in db.session.execute(
                db.select(Document.id).where(Document.dossier_id == dossier.id))] or [1],
            "code": [c.code for c in dossier.current_criteria()] or ["1"],
            "line_id": [ln.id for ln in dossier.current_lines()] or [1],
        }
    return dossiers


def _real_path(dossiers: dict, wanted: set[str]):
    month = current_month()
    communes = ["na-tam", "giang-ma", "tt-tam-duong", "son-binh", "ta-leng"]

    def for_dossier(dossier_id: int):
        pool = dossiers[dossier_id]
        return st.fixed_dictionaries({
            "dossier_id": st.just(dossier_id),
            "attachment_id": st.sampled_from(pool["attachment_id"]),
            "document_id": st.sampled_from(pool["document_id"]),
            "code": st.sampled_from(pool["code"]),
            "line_id": st.sampled_from(pool["line_id"]),
            "commune": st.sampled_from(communes),
            "month": st.sampled_from([month, shift_month(month, -1), shift_month(month, -2)]),
        })
    # A state first, then one of its dossiers: the one revoked dossier is drawn as
    # often as the many drafts.
    by_state = {}
    for dossier_id, pool in sorted(dossiers.items()):
        by_state.setdefault(pool["state"], []).append(dossier_id)
    return st.sampled_from(sorted(by_state)).flatmap(lambda state: st.sampled_from(by_state[state])).flatmap(
        for_dossier).map(
        lambda values: {k: v for k, v in values.items() if k in wanted})


REAL_QUERY = {"issuer": ["tam-duong"], "year": [2024, local_today().year],
              "kind": ["village_ntm", "town_civilized", "cement_request", "funding_plan"],
              "state": ["draft", "submitted", "returned", "appraised", "recognized", "rejected", "revoked", "accepted"],
              "round": [1, 2],
              "unit": ["tam-duong", "na-tam", "na-tam-01"], "parent": ["tam-duong", "na-tam"],
              "on": ["2025-06-30", "2025-07-01"]}
REAL_UNITS = ["lai-chau", "tam-duong", "na-tam", "giang-ma-01", "ta-leng-2025"]
REAL_BODY = {"event": ["submit", "return", "appraise", "reject", "recognize", "revoke", "accept", "amend"],
             "year": [2024], "kind": ["village_ntm", "town_civilized", "cement_request", "funding_plan"],
             "unit": ["na-tam-09", "giang-ma-08", "tt-tam-duong", "na-tam"],
             "commune": ["na-tam", "giang-ma", "son-binh"]}


def _real_values(generated: dict, real: dict):
    return st.fixed_dictionaries({
        key: st.one_of(*[st.sampled_from(real[key])] * 4, st.just(value))
        for key, value in generated.items() if key in real})


def _seed() -> None:
    """The demo's users (every role, the committee's members) and a dossier in every
    state, moved by the real services where a state leaves papers behind (receipt,
    appraisal report, recognition and revocation decisions)."""
    for u in DEMO_USERS:
        create_user(u.username, u.password if find_user(u.username) is None else None, u.role, u.unit, u.name,
                    u.capacity)
    for username, communes in {"bcd.hatang": ("giang-ma", "tt-tam-duong"), "bcd.vanhoa": ("ta-leng",)}.items():
        for commune in communes:
            create_user(username, None, "viewer", commune)
    load_committee()
    db.session.commit()
    officer, appraiser, approver = (find_user(n) for n in ("canbo.natam", "thamdinh", "chutich"))
    dossier_in(officer, "na-tam-02", 2024, "draft")
    fire_event(officer, dossier_in(officer, "na-tam-03", 2024, "draft"), "submit")
    fire_event(appraiser, dossier_in(officer, "na-tam-04", 2024, "submitted"), "return", "Bổ sung tiêu chí 7.")
    fire_event(appraiser, dossier_in(officer, "na-tam-05", 2024, "submitted"), "appraise")
    fire_event(approver, dossier_in(officer, "na-tam-06", 2024, "submitted"), "reject", "Chưa đăng ký.")
    fire_event(approver, dossier_in(officer, "na-tam-01", 2024, "appraised"), "recognize")
    revoked = fire_event(approver, dossier_in(officer, "na-tam-07", 2024, "appraised"), "recognize")
    fire_event(approver, revoked, "revoke", "Tiêu chí 17 không còn đạt.")
    create_dossier(find_user("vanthu.thitran"), "town_civilized", "tt-tam-duong", 2024)
    # Dossiers made of lines: a cement request in draft, one accepted in part (two rounds),
    # a funding plan submitted.
    commune = find_user("canbo.natam")
    draft = create_dossier(commune, "cement_request", "na-tam", 2024)
    for village, work, tonnes in (("na-tam-01", "Đường nội bản", 12), ("na-tam-02", "Rãnh thoát nước", 3.5)):
        add_line(commune, draft, {"village": village, "work": work, "quantity": 300, "unit_of_measure": "m",
                                  "cement_tonnes": tonnes, "households": 30})
    other = find_user("canbo.giangma")
    granted = create_dossier(other, "cement_request", "giang-ma", 2024)
    line = add_line(other, granted, {"village": "giang-ma-01", "work": "Sân", "quantity": 80,
                                     "unit_of_measure": "m2", "cement_tonnes": 6})
    fire_event(other, granted, "submit")
    fire_event(appraiser, granted, "return", "Bổ sung số hộ góp công.")
    fire_event(other, granted, "submit")
    fire_event(appraiser, granted, "accept", granted={granted.current_lines()[0].id: 4})
    assert line.round == 1 and granted.round == 2
    plan = create_dossier(commune, "funding_plan", "na-tam", 2024)
    add_line(commune, plan, {"item": "Nhà văn hoá", "source": "province", "amount_vnd": 250_000_000})
    fire_event(commune, plan, "submit")
    db.session.commit()


@pytest.fixture
def api_schema(app):
    _seed()
    tokens = [issue_token(find_user(u.username)) for u in DEMO_USERS]  # every role, the committee too
    db.session.commit()
    dossiers = _pools()
    db.session.remove()  # the requests open their own sessions
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)

    @schema.hook
    def flatmap_case(context, case):
        # Four times in five a real id or name (the deeper operations), else the generated
        # one; never where the case is invalid on purpose.
        negative = case.meta.is_negative_at if case.meta is not None else (lambda _: False)
        parts = {}
        if case.path_parameters and not negative(ParameterLocation.PATH):
            real = (st.fixed_dictionaries({"code": st.sampled_from(REAL_UNITS)})
                    if case.operation.path.endswith("/units/{code}")
                    else _real_path(dossiers, set(case.path_parameters)))
            parts["path"] = st.one_of(*[real] * 4, st.just({}))
        if isinstance(case.query, dict) and not negative(ParameterLocation.QUERY):
            parts["query"] = _real_values(case.query, REAL_QUERY)
        if isinstance(case.body, dict) and not negative(ParameterLocation.BODY):
            parts["body"] = _real_values(case.body, REAL_BODY)

        def apply(drawn):
            case.path_parameters = {**(case.path_parameters or {}), **drawn.get("path", {})}
            if "query" in drawn:
                case.query = {**case.query, **drawn["query"]}
            if "body" in drawn:
                case.body = {**case.body, **drawn["body"]}
            return case
        return st.fixed_dictionaries(parts).map(apply)

    schema.tokens, schema.dossiers = tokens, dossiers
    schema.district_token = tokens[[u.username for u in DEMO_USERS].index("chutich")]
    yield schema
    assert_clean(app)  # whatever the fuzzer did, the stored data keeps its invariants


def test_every_operation_answers_as_documented_and_never_500(app, api_schema, subtests):
    # Not schemathesis' pytest plugin: its lazy fixture loader does not run on this pytest.
    client = _Client(app, app.response_class)
    seen: dict[str, set[int]] = {}
    for result in api_schema.get_all_operations():
        operation = result.ok()  # an operation the document describes wrongly raises here
        codes = seen.setdefault(operation.label, set())
        with subtests.test(operation=operation.label, mode="every state"):
            _every_state(operation, api_schema, client, codes)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            with subtests.test(operation=operation.label, mode=mode.value):
                _fuzz(operation, mode, api_schema.tokens, client, codes)
    # The real ids and tokens took the requests past "no such dossier" and "who are you".
    walled = {label: codes for label, codes in seen.items() if codes <= {400, 401, 404}}
    assert not walled, walled
    print({label: sorted(codes) for label, codes in seen.items()})


def _every_state(operation, api_schema, client, seen: set[int]) -> None:
    """Explicit cases first: a dossier of every state (with its attachment, paper and
    criterion) read or acted on by the district's approver, whatever the draws bring."""
    if "{dossier_id}" not in operation.path:
        return
    firsts = {}
    for dossier_id, pool in sorted(api_schema.dossiers.items()):
        firsts.setdefault(pool["state"], (dossier_id, pool))
    for dossier_id, pool in firsts.values():
        values = {"dossier_id": dossier_id, "attachment_id": pool["attachment_id"][0],
                  "document_id": pool["document_id"][-1], "code": pool["code"][0], "line_id": pool["line_id"][0]}
        wanted = {k: v for k, v in values.items() if "{" + k + "}" in operation.path}
        case = operation.Case(path_parameters=wanted)
        response = case.call_and_validate(session=client,
                                          headers={"Authorization": f"Bearer {api_schema.district_token}"})
        seen.add(response.status_code)


def _fuzz(operation, mode, tokens, client, seen: set[int]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode), token=st.sampled_from(tokens))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case, token):
        # Explicit: the ignored_auth check then also sends it without, and with a bad one.
        # The document declares no header but the token: a case invalid in its headers is
        # one sent without a (valid) token, and keeps it that way.
        negative_headers = case.meta is not None and case.meta.is_negative_at(ParameterLocation.HEADER)
        headers = None if negative_headers else {"Authorization": f"Bearer {token}"}
        response = case.call_and_validate(session=client, headers=headers)
        seen.add(response.status_code)
    run()
