"""Steering committee pages (Ban chỉ đạo): a member's own communes, criteria,
visits and monthly reports; the standing office's view of the month's reports;
the membership for the administrator. Thin views over services/committee/."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..clock import local_today
from ..extensions import db
from ..formats import vn_date
from ..i18n import request_lang
from ..months import FIRST_DAY, current_month, month_label, month_or_current, next_if_past, parse_month, shift_month
from ..permissions import in_scope, is_admin
from ..services.committee.membership import (
    criterion_name,
    is_standing_office,
    member_of,
    members,
    my_scope,
    own_commune,
    owned_criteria,
    require_office,
    units_of,
)
from ..services.committee.visits import (
    STATUSES,
    counts,
    criterion_field,
    due_date,
    file_report,
    find_report,
    is_late,
    log_visit,
    my_reports,
    office_scope,
    office_status,
    recent_visits,
    visits_in_month,
)
from ..workflow.errors import DomainError, NotPermitted
from . import bp
from .form_errors import FormErrors, checked, refusable
from .forms import ReportForm, VisitForm


@bp.app_template_global()
def shows_committee(user) -> bool:
    """Whether the navigation offers the committee pages: members and the standing office."""
    return member_of(user) is not None or is_standing_office(user)


# A refusal's `field` (services/committee/visits.py) -> the control on the member's page; the
# month and commune of a report are hidden values, so their refusals stay in the summary.
VISIT_FIELDS = {"commune": "commune", "visited_on": "visited_on", "notes": "notes"}
REPORT_FIELDS = {"body": "body"}


def _report_fields(criteria) -> dict[str, str]:
    """REPORT_FIELDS and the status and note controls of the criteria the page shows."""
    fields = dict(REPORT_FIELDS)
    for c in criteria:
        for part in ("status", "note"):
            fields[criterion_field(c.kind, c.code, part)] = f"{part}-{c.kind}-{c.code}"
    return fields


def _member_page(*, month: str | None = None, commune_code: str | None = None, visit_form: VisitForm | None = None,
                 report_values: dict | None = None, errors: FormErrors | None = None, refused: str | None = None):
    """The member's page; a refused form (`refused`: "visit" or "report") is shown again
    with what was typed, its `errors` at the fields and a summary."""
    scope = my_scope(g.user)
    today = local_today()
    month = month or current_month(today)
    commune = None
    if commune_code:
        _member, commune = own_commune(g.user, commune_code)
    elif scope.communes:
        commune = scope.communes[0]
    if visit_form is None:
        visit_form = VisitForm(formdata=None, commune=commune.code if commune else None, visited_on=today)
    visit_form.commune.choices = [(u.code, u.name) for u in scope.communes]
    report = find_report(g.user, commune, month) if commune else None
    values = report_values
    if values is None:
        values = {"body": report.body if report else ""}
        for kind, entries in ((report.criteria or {}) if report else {}).items():
            for code, entry in entries.items():
                values[f"status-{kind}-{code}"] = entry.get("status", "")
                values[f"note-{kind}-{code}"] = entry.get("note", "")
    errors = errors or FormErrors()
    return render_template(
        "committee/member.html", scope=scope, lang=request_lang(), month=month, month_label=month_label,
        prev_month=shift_month(month, -1), next_month=next_if_past(month, today), first_day=FIRST_DAY,
        commune=commune, report=report, report_late=is_late(report) if report else False,
        criteria=scope.criteria_for(commune) if commune else [], values=values, statuses=STATUSES,
        due=due_date(month), today=today, visit_form=visit_form,
        report_form=ReportForm(formdata=None, commune=commune.code if commune else "", month=month),
        visits=recent_visits(g.user), reports=my_reports(g.user), errors=errors, refused=refused,
        office=is_standing_office(g.user)), errors.status if errors else 200


@bp.get("/committee")
def committee_home():
    if member_of(g.user) is None:
        if is_standing_office(g.user):
            return redirect(url_for("web.committee_office"))
        my_scope(g.user)  # 403 with the reason
    month = month_or_current(request.args.get("month"))
    return _member_page(month=month, commune_code=request.args.get("commune") or None)


@bp.post("/committee/visits")
def committee_visit():
    my_scope(g.user)  # 403 for a non-member before anything else
    form = VisitForm()
    form.commune.choices = []
    errors = FormErrors()
    if checked(form, errors):
        try:
            visit = log_visit(g.user, form.commune.data, form.visited_on.data, form.notes.data)
        except DomainError as exc:
            if not refusable(exc):
                raise
            errors.add_exception(exc, fields=VISIT_FIELDS)
    if errors:
        db.session.rollback()
        return _member_page(visit_form=form, errors=errors, refused="visit")
    db.session.commit()
    flash(_("Đã ghi chuyến đi cơ sở %(commune)s ngày %(date)s.", commune=visit.commune.name,
            date=vn_date(visit.visited_on)))
    return redirect(url_for("web.committee_home", commune=visit.commune.code) + "#visits")


def _criteria_from_form() -> dict:
    out: dict[str, dict] = {}
    for key, value in request.form.items():
        if not key.startswith("status-") or not value:
            continue
        kind, _sep, code = key[len("status-"):].rpartition("-")
        if kind and code:
            out.setdefault(kind, {})[code] = {"status": value, "note": request.form.get(f"note-{kind}-{code}", "")}
    return out


@bp.post("/committee/reports")
def committee_report():
    scope = my_scope(g.user)
    form = ReportForm()
    errors = FormErrors()
    month = commune = None
    fields = REPORT_FIELDS
    if checked(form, errors):
        try:
            month = parse_month(form.month.data)
            unit = own_commune(g.user, form.commune.data)[1]  # 403/404 before reading the rest
            commune, fields = unit.code, _report_fields(scope.criteria_for(unit))
            report = file_report(g.user, commune, month, form.body.data, _criteria_from_form())
        except DomainError as exc:
            if not refusable(exc):
                raise
            errors.add_exception(exc, fields=fields)
    if errors:
        db.session.rollback()
        return _member_page(month=month, commune_code=commune, report_values=request.form.to_dict(),
                            errors=errors, refused="report")
    late = is_late(report)
    db.session.commit()
    message = _("Đã gửi báo cáo tháng %(month)s về %(commune)s.", month=month_label(month), commune=report.commune.name)
    flash(message + " " + (_("Báo cáo này nộp muộn (hạn %(due)s).", due=vn_date(due_date(month)))
                           if late else _("Đúng hạn.")))
    return redirect(url_for("web.committee_home", month=month, commune=report.commune.code) + "#report")


@bp.get("/committee/office")
def committee_office():
    units = require_office(g.user)
    today = local_today()
    month = month_or_current(request.args.get("month"), today)
    rows = office_status(g.user, month, today)
    visits = visits_in_month(month, office_scope(g.user))
    communes = sorted({r.commune.id: r.commune for r in rows}.values(), key=lambda u: u.name)
    per_commune = [{"commune": u, "visits": visits.get((0, u.id)),
                    "received": sum(1 for r in rows if r.commune.id == u.id and r.report is not None),
                    "expected": sum(1 for r in rows if r.commune.id == u.id and r.member is not None)}
                   for u in communes]
    return render_template(
        "committee/office.html", units=units, month=month, month_label=month_label, rows=rows, counts=counts(rows),
        visits=visits, per_commune=per_commune, due=due_date(month), today=today,
        prev_month=shift_month(month, -1), next_month=next_if_past(month, today),
        member=member_of(g.user) is not None, criterion_name=criterion_name, lang=request_lang())


@bp.get("/admin/committee")
def admin_committee():
    if not (is_admin(g.user) or is_standing_office(g.user)):
        raise NotPermitted("Chỉ quản trị viên và cơ quan thường trực Ban chỉ đạo được xem danh sách thành viên.",
                           "Only the administrator and the committee's standing office may see the membership.")
    rows = [{"member": m, "communes": units_of(list(m.communes or [])), "criteria": owned_criteria(m)}
            for m in members()]
    if not is_admin(g.user):  # a standing office: the members with a commune in its district(s)
        office = office_scope(g.user)
        rows = [r for r in rows if any(in_scope(office, u) for u in r["communes"])]
    return render_template("committee/members.html", rows=rows, lang=request_lang())
