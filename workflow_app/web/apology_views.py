"""Deadlines on the pages: the step clock and filing flags (template helpers used by the
work queue, the dossier list and the dossier page) and the apology slip form
(phiếu xin lỗi và hẹn lại ngày trả kết quả) of a late step."""
from __future__ import annotations

from datetime import date

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..extensions import db
from ..formats import vn_date
from ..models import Dossier
from ..services.core.campaigns import FilingStatus, filing_status
from ..services.core.clocks import StepClock, step_clock, step_clocks
from ..services.core.common import load_dossier
from ..services.core.persist import unit_of_work
from ..services.documents.apology import apology_capacity, can_apologize, issue_apology
from ..workflow.errors import DomainError
from . import bp
from .dossier_views import _detail_page
from .form_errors import FormErrors, checked, refusable


class ApologyForm(FlaskForm):
    new_date = DateField(_l("Ngày hẹn trả kết quả mới"), validators=[DataRequired()])
    reason = TextAreaField(_l("Lý do chậm trễ"), validators=[DataRequired(), Length(max=2000)])
    confirm = BooleanField(_l("Tôi xác nhận lập phiếu xin lỗi và hẹn lại ngày trả kết quả"),
                           validators=[DataRequired()])


# ----------------------------------------------------------------------------- template helpers

@bp.app_template_global()
def dossier_clock(dossier: Dossier) -> StepClock | None:
    return step_clock(dossier)


@bp.app_template_global()
def dossier_clocks(dossiers) -> dict:
    """Clocks of a page of dossiers, with one query."""
    return step_clocks(list(dossiers))


@bp.app_template_global()
def dossier_filing(dossier: Dossier) -> FilingStatus | None:
    return filing_status(dossier)


@bp.app_template_global()
def clock_flag(clock: StepClock | None) -> tuple[str, str] | None:
    """(css class, text) of a step clock: "Quá hạn N ngày", "Sắp đến hạn", "Còn N ngày làm việc"."""
    if clock is None:
        return None
    if clock.calendar_gap:
        return "muted", _("không tính được hạn (thiếu lịch nghỉ năm %(year)s)", year=clock.calendar_gap)
    working = clock.unit == "working"
    if clock.overdue:
        text = (_("Quá hạn %(n)s ngày làm việc", n=clock.days_late) if working
                else _("Quá hạn %(n)s ngày", n=clock.days_late))
        return "badge s-rejected", text
    left = (_("còn %(n)s ngày làm việc", n=clock.days_left) if working else _("còn %(n)s ngày", n=clock.days_left))
    if clock.due_soon:
        return "badge s-returned", _("Sắp đến hạn") + " — " + left
    return "muted", (_("Còn %(n)s ngày làm việc", n=clock.days_left) if working
                     else _("Còn %(n)s ngày", n=clock.days_left))


@bp.app_template_global()
def filing_flag(status: FilingStatus | None) -> tuple[str, str] | None:
    """(css class, text): "Hạn nộp 30/09/2024: còn 12 ngày" / "nộp muộn 3 ngày" / "quá hạn nộp 3 ngày"."""
    if status is None:
        return None
    deadline = vn_date(status.deadline)
    if status.filed_on is not None:
        if status.late:
            return "v-fail", _("Hạn nộp %(d)s: nộp muộn %(n)s ngày", d=deadline, n=status.days_late)
        return "muted", _("Hạn nộp %(d)s: nộp đúng hạn", d=deadline)
    if status.late:
        return "v-fail", _("Hạn nộp %(d)s: quá hạn nộp %(n)s ngày", d=deadline, n=status.days_late)
    return "muted", _("Hạn nộp %(d)s: còn %(n)s ngày", d=deadline, n=status.days_left)


@bp.app_template_global()
def apology_form_for(dossier: Dossier, clock: StepClock | None) -> ApologyForm | None:
    """The apology form when the signed-in user may issue one now, else None."""
    return ApologyForm() if can_apologize(g.user, dossier, clock) else None


# ----------------------------------------------------------------------------- the form

@bp.post("/dossiers/<int:dossier_id>/apology")
def dossier_apology(dossier_id: int):
    dossier = load_dossier(dossier_id, g.user)
    apology_capacity(g.user, dossier)  # 403 before looking at the form
    form = ApologyForm()
    ids = {"new_date": "apology-new-date", "reason": "apology-reason", "confirm": "apology-confirm"}
    errors = FormErrors()
    if checked(form, errors, ids):
        new_date: date = form.new_date.data

        def work() -> str:
            again = load_dossier(dossier_id, g.user)
            apology_capacity(g.user, again)
            return issue_apology(g.user, again, new_date, form.reason.data).symbol
        try:
            symbol = unit_of_work(work)
        except DomainError as exc:
            if not refusable(exc):
                raise
            errors.add_exception(exc, fields=ids)
    if errors:
        db.session.rollback()
        dossier = load_dossier(dossier_id, g.user)
        if not can_apologize(g.user, dossier, step_clock(dossier)):
            errors.in_summary_only()  # the page no longer shows the form: no field to point to
        return _detail_page(dossier, errors.status, errors=errors, refused="apology", typed=request.form.to_dict())
    flash(_("Đã lập phiếu xin lỗi số %(symbol)s, hẹn lại ngày %(d)s.", symbol=symbol,
            d=vn_date(new_date)))
    return redirect(url_for("web.dossier_detail", dossier_id=dossier_id) + "#documents")
