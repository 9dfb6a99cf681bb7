"""Steering committee pages (Ban chỉ đạo): a member's own communes, criteria,
visits and monthly reports; the standing office's view of the month's reports;
the membership for the administrator. Thin views over services/committee.py."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..i18n import request_lang
from ..permissions import is_admin
from ..services.committee import (
    STATUSES,
    counts,
    criterion_name,
    current_month,
    due_date,
    file_report,
    find_report,
    is_late,
    is_standing_office,
    log_visit,
    member_of,
    members,
    month_label,
    my_reports,
    my_scope,
    office_status,
    own_commune,
    owned_criteria,
    parse_month,
    recent_visits,
    require_office,
    shift_month,
    units_of,
    visits_in_month,
)
from ..services.common import local_now
from ..workflow.errors import DomainError, NotPermitted
from . import bp
from .forms import ReportForm, VisitForm


@bp.app_template_global()
def shows_committee(user) -> bool:
    """Whether the navigation offers the committee pages: members and the standing office."""
    return member_of(user) is not None or is_standing_office(user)


def _form_errors(form) -> str:
    """The fields in error, by label, in the page's language (WTForms' own texts are English)."""
    problem = _("thiếu hoặc không hợp lệ")
    return "; ".join(f"{getattr(form, k).label.text} ({problem})" for k in form.errors
                     if hasattr(form, k) and k != "csrf_token")


def _member_page(*, month: str | None = None, commune_code: str | None = None, visit_form: VisitForm | None = None,
                 report_values: dict | None = None, error: str | None = None, status: int = 200):
    """The member's page; on a refused form it is shown again with the message and what was typed."""
    scope = my_scope(g.user)
    today = local_now().date()
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
    return render_template(
        "committee/member.html", scope=scope, lang=request_lang(), month=month, month_label=month_label,
        prev_month=shift_month(month, -1), next_month=shift_month(month, 1) if month < current_month(today) else None,
        commune=commune, report=report, report_late=is_late(report) if report else False,
        criteria=scope.criteria_for(commune) if commune else [], values=values, statuses=STATUSES,
        due=due_date(month), today=today, visit_form=visit_form,
        report_form=ReportForm(formdata=None, commune=commune.code if commune else "", month=month),
        visits=recent_visits(g.user), reports=my_reports(g.user), error=error,
        office=is_standing_office(g.user)), status


@bp.get("/committee")
def committee_home():
    if member_of(g.user) is None:
        if is_standing_office(g.user):
            return redirect(url_for("web.committee_office"))
        my_scope(g.user)  # 403 with the reason
    month = parse_month(request.args["month"]) if request.args.get("month") else None
    return _member_page(month=month, commune_code=request.args.get("commune") or None)


@bp.post("/committee/visits")
def committee_visit():
    my_scope(g.user)  # 403 for a non-member before anything else
    form = VisitForm()
    form.commune.choices = []
    if not form.validate_on_submit():
        return _member_page(visit_form=form, status=400, error=_(
            "Biểu mẫu chưa hợp lệ: %(errors)s. Hãy sửa rồi gửi lại.", errors=_form_errors(form)))
    try:
        visit = log_visit(g.user, form.commune.data, form.visited_on.data, form.notes.data)
    except DomainError as exc:
        if exc.status not in (400, 422):
            raise
        db.session.rollback()
        return _member_page(commune_code=None, visit_form=form, error=exc.message(request_lang()), status=exc.status)
    db.session.commit()
    flash(_("Đã ghi chuyến đi cơ sở %(commune)s ngày %(date)s.", commune=visit.commune.name,
            date=visit.visited_on.strftime("%d/%m/%Y")))
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
    my_scope(g.user)
    form = ReportForm()
    if not form.validate_on_submit():
        return _member_page(status=400, error=_("Biểu mẫu chưa hợp lệ: %(errors)s. Hãy sửa rồi gửi lại.",
                                                errors=_form_errors(form)))
    month = parse_month(form.month.data)
    own_commune(g.user, form.commune.data)  # 403/404 before reading the rest
    try:
        report = file_report(g.user, form.commune.data, month, form.body.data, _criteria_from_form())
    except DomainError as exc:
        if exc.status not in (400, 422):
            raise
        db.session.rollback()
        return _member_page(month=month, commune_code=form.commune.data, report_values=request.form.to_dict(),
                            error=exc.message(request_lang()), status=exc.status)
    late = is_late(report)
    db.session.commit()
    message = _("Đã gửi báo cáo tháng %(month)s về %(commune)s.", month=month_label(month), commune=report.commune.name)
    flash(message + " " + (_("Báo cáo này nộp muộn (hạn %(due)s).", due=due_date(month).strftime("%d/%m/%Y"))
                           if late else _("Đúng hạn.")))
    return redirect(url_for("web.committee_home", month=month, commune=report.commune.code) + "#report")


@bp.get("/committee/office")
def committee_office():
    units = require_office(g.user)
    today = local_now().date()
    month = parse_month(request.args["month"]) if request.args.get("month") else current_month(today)
    rows = office_status(g.user, month, today)
    visits = visits_in_month(month)
    communes = sorted({r.commune.id: r.commune for r in rows}.values(), key=lambda u: u.name)
    per_commune = [{"commune": u, "visits": visits.get((0, u.id)),
                    "received": sum(1 for r in rows if r.commune.id == u.id and r.report is not None),
                    "expected": sum(1 for r in rows if r.commune.id == u.id and r.member is not None)}
                   for u in communes]
    return render_template(
        "committee/office.html", units=units, month=month, month_label=month_label, rows=rows, counts=counts(rows),
        visits=visits, per_commune=per_commune, due=due_date(month), today=today,
        prev_month=shift_month(month, -1), next_month=shift_month(month, 1) if month < current_month(today) else None,
        member=member_of(g.user) is not None, criterion_name=criterion_name, lang=request_lang())


@bp.get("/admin/committee")
def admin_committee():
    if not (is_admin(g.user) or is_standing_office(g.user)):
        raise NotPermitted("Chỉ quản trị viên và cơ quan thường trực Ban chỉ đạo được xem danh sách thành viên.",
                           "Only the administrator and the committee's standing office may see the membership.")
    rows = [{"member": m, "communes": units_of(list(m.communes or [])), "criteria": owned_criteria(m)}
            for m in members()]
    return render_template("committee/members.html", rows=rows, lang=request_lang())
