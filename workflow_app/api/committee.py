"""Steering committee (Ban chỉ đạo) endpoints: a member's scope, visits and
monthly reports; the standing office's view of a month's reports."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..auth import acting_user
from ..clock import local_iso, local_today
from ..extensions import db
from ..i18n import request_lang
from ..models import CommitteeVisit, MonthlyReport
from ..months import MONTH_PATTERN, month_or_current, parse_month
from ..services.committee.membership import is_standing_office, member_of, my_scope
from ..services.committee.visits import (
    STATUSES,
    counts,
    due_date,
    file_report,
    is_late,
    log_visit,
    my_reports,
    office_status,
    recent_visits,
)
from .boundary import Blueprint, BoundarySchema, Code, Text
from .serialize import unit_ref

blp = Blueprint("committee", __name__, description="Steering committee: members' visits and monthly reports")


# ----------------------------------------------------------------------------- schemas

class _UnitRef(Schema):
    code = fields.String()
    name = fields.String()


class _Criterion(Schema):
    kind = fields.String()
    code = fields.String()
    name = fields.String()


class _Visit(Schema):
    id = fields.Integer()
    commune = fields.Nested(_UnitRef)
    visited_on = fields.String(metadata={"description": "YYYY-MM-DD"})
    notes = fields.String()
    created_at = fields.String(metadata={"description": "ISO 8601 with offset"})


class _Report(Schema):
    commune = fields.Nested(_UnitRef)
    month = fields.String(metadata={"description": "YYYY-MM"})
    body = fields.String()
    criteria = fields.Dict(metadata={"description": '{kind: {code: {"status": "met|not_met|in_progress", "note"}}}'})
    submitted_at = fields.String(metadata={"description": "first filing, ISO 8601 with offset; decides lateness"})
    updated_at = fields.String(metadata={"description": "last change, ISO 8601 with offset"})
    due = fields.String(metadata={"description": "YYYY-MM-DD: the 25th, or the next working day"})
    late = fields.Boolean()


class _Member(Schema):
    username = fields.String()
    name = fields.String()
    title = fields.String()
    communes = fields.List(fields.Nested(_UnitRef))
    criteria = fields.List(fields.Nested(_Criterion))


class CommitteeMeOut(Schema):
    member = fields.Nested(_Member, allow_none=True, metadata={"description": "null when the caller is no member"})
    standing_office = fields.Boolean()
    visits = fields.List(fields.Nested(_Visit), metadata={"description": "the member's 20 latest visits"})
    reports = fields.List(fields.Nested(_Report), metadata={"description": "the member's latest reports"})


class VisitIn(BoundarySchema):
    commune = Code(required=True, metadata={"description": "commune or town code, e.g. na-tam"})
    visited_on = fields.Date(required=True, metadata={"description": "YYYY-MM-DD, not in the future, from 2020"})
    notes = Text(load_default="", metadata={"description": "at most 5000 characters"})


class ReportIn(BoundarySchema):
    body = Text(required=True)
    criteria = fields.Dict(load_default=dict, metadata={
        "description": 'every owned criterion that applies to the commune: '
                       '{"<dossier kind>": {"1": {"status": "met", "note": "..."}}}; '
                       'status one of ' + ", ".join(STATUSES)})


MONTH = MONTH_PATTERN  # the service's rule (parse_month), documented in the schema


class ReportQuery(BoundarySchema):
    month = Code(validate=validate.Regexp(MONTH),
                          metadata={"description": "YYYY-MM; default the current month (+07:00)"})


class _Row(Schema):
    member = fields.Dict(metadata={"description": "{username, name, title}; title null for a former member"})
    commune = fields.Nested(_UnitRef)
    status = fields.String(metadata={"description": "on_time | late | missing | pending"})
    late = fields.Boolean()
    missing = fields.Boolean()
    report = fields.Nested(_Report, allow_none=True)


class ReportStatusOut(Schema):
    month = fields.String()
    due = fields.String()
    counts = fields.Dict(metadata={"description": "on_time, late, missing, pending, received, total"})
    items = fields.List(fields.Nested(_Row))


# ----------------------------------------------------------------------------- shapes

def _visit(v: CommitteeVisit) -> dict:
    return {"id": v.id, "commune": unit_ref(v.commune), "visited_on": v.visited_on.isoformat(), "notes": v.notes,
            "created_at": local_iso(v.created_at)}


def _report(r: MonthlyReport) -> dict:
    return {"commune": unit_ref(r.commune), "month": r.month, "body": r.body, "criteria": r.criteria or {},
            "submitted_at": local_iso(r.submitted_at), "updated_at": local_iso(r.updated_at),
            "due": due_date(r.month).isoformat(), "late": is_late(r)}


# ----------------------------------------------------------------------------- endpoints

@blp.route("/committee/me", methods=["GET"])
@blp.response(200, CommitteeMeOut)
@blp.doc(security=[{"bearer": []}])
def me():
    """The caller's committee membership: own communes and criteria, latest visits and reports."""
    user, lang = acting_user(), request_lang()
    out = {"member": None, "standing_office": is_standing_office(user), "visits": [], "reports": []}
    if member_of(user) is not None:
        scope = my_scope(user)
        out["member"] = {"username": user.username, "name": user.name, "title": scope.member.title,
                         "communes": [unit_ref(u) for u in scope.communes],
                         "criteria": [{"kind": c.kind, "code": c.code, "name": c.name[lang]} for c in scope.criteria]}
        out["visits"] = [_visit(v) for v in recent_visits(user)]
        out["reports"] = [_report(r.report) for r in my_reports(user)]
    return out


@blp.route("/committee/visits", methods=["POST"])
@blp.arguments(VisitIn)
@blp.response(201, _Visit)
@blp.doc(security=[{"bearer": []}])
def post_visit(body: dict):
    """Log a site visit to one of the caller's communes (403 for another commune; 422 for a
    future date, a date before 2020 or notes over 5000 characters)."""
    visit = log_visit(acting_user(), body["commune"], body["visited_on"], body.get("notes"))
    db.session.commit()
    return _visit(visit)


@blp.route("/committee/reports/<commune>/<month>", methods=["PUT"], parameters=[
    {"in": "path", "name": "month", "description": "YYYY-MM", "schema": {"type": "string", "pattern": MONTH}}])
@blp.arguments(ReportIn)
@blp.response(200, _Report)
@blp.doc(security=[{"bearer": []}])
def put_report(body: dict, commune: str, month: str):
    """File or amend the caller's report on one own commune for a month (YYYY-MM). Amending
    keeps the first filing time, which decides whether it was on time (by the 25th)."""
    report = file_report(acting_user(), commune, parse_month(month), body["body"], body.get("criteria"))
    db.session.commit()
    return _report(report)


@blp.route("/committee/reports", methods=["GET"])
@blp.arguments(ReportQuery, location="query")
@blp.response(200, ReportStatusOut)
@blp.doc(security=[{"bearer": []}])
def reports(query: dict):
    """The standing office's view of a month: every member × commune of its district, with
    received (on time / late), missing (past due) and pending rows."""
    today = local_today()
    month = month_or_current(query.get("month"), today)
    rows = office_status(acting_user(), month, today)
    items = [{"member": {"username": r.user.username, "name": r.user.name,
                         "title": r.member.title if r.member else None},
              "commune": unit_ref(r.commune), "status": r.status, "late": r.late, "missing": r.missing,
              "report": _report(r.report) if r.report else None} for r in rows]
    return {"month": month, "due": due_date(month).isoformat(), "counts": counts(rows), "items": items}
