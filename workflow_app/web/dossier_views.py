"""Dossier pages: create, read, self-assess, upload, appraise, fields, events."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from ..clock import local_today
from ..downloads import send_attachment, send_decision
from ..extensions import db
from ..i18n import request_lang
from ..models import Unit
from ..permissions import capacities, scope_clause
from ..services import (
    appraise_criterion,
    attach_evidence,
    create_dossier,
    fire_event,
    self_assess,
    set_fields,
)
from ..services.core.common import definition_of, engine, load_dossier
from ..services.core.evidence import ACCEPTED_LIST, max_bytes
from ..services.core.line_workbook import cell_value
from ..services.core.lines import lines_of
from ..services.core.persist import LostRace, unit_of_work
from ..services.documents.decisions import decision_of
from ..services.reading.dossier_page import dossier_page
from ..validation import JSON_SAFE_INT, check_int, form_int, parse_decimal, query_int
from ..workflow.diagram import svg
from ..workflow.errors import (
    BadRequest,
    DomainError,
    FileTooLarge,
    GuardFailed,
    RuleRefused,
    UnsupportedFileType,
)
from . import bp
from .form_errors import FormErrors, checked, refusable, show_again
from .forms import EventForm, NewDossierForm, PostForm, UploadForm


def _version() -> int | None:
    return form_int("version")


def _require_form(form) -> None:
    """A form that must pass its own checks, else 400 naming each field in the page's words."""
    errors = FormErrors()
    if not checked(form, errors):
        problems = " ".join(m for _f, m in errors)
        raise BadRequest(f"Biểu mẫu chưa hợp lệ: {problems} Hãy điền đủ rồi gửi lại.",
                         f"The form is not valid: {problems} Complete it and send again.")


def creatable(user) -> dict[str, list[Unit]]:
    """Per kind, the applicant units (alive today) this user may open a dossier for,
    on the road in force today."""
    today = local_today()
    out = {}
    for kind in engine().kinds():
        d = engine().definition_for(kind, today.year, today)
        units = db.session.execute(db.select(Unit).where(Unit.level == d.applicant_level, scope_clause(Unit.id, user))
                                   .order_by(Unit.code)).scalars()
        allowed = [u for u in units if u.live_on(today) and capacities(user, u, d.actions["create"].by)]
        if allowed:
            out[kind] = allowed
    return out


@bp.route("/dossiers/new", methods=["GET", "POST"])
def dossier_new():
    options = creatable(g.user)
    if not options:
        abort(403)
    lang = request_lang()
    form = NewDossierForm()
    form.kind.choices = [(k, engine().kind_label(k, lang)) for k in options]
    form.unit.choices = [(u.code, f"{u.name}" + (f" — {p.name}" if (p := u.parent_on(local_today())) else ""))
                         for units in options.values() for u in units]
    this_year = local_today().year
    form.year.choices = [(y, str(y)) for y in range(this_year + 1, 2019, -1)]
    if request.method == "GET":
        form.year.data = this_year
    if request.method == "POST":
        errors = FormErrors()
        try:
            if checked(form, errors) and _offered(form, options, errors):
                dossier = create_dossier(g.user, form.kind.data, form.unit.data, form.year.data)
        except DomainError as exc:
            if not refusable(exc):
                raise
            db.session.rollback()
            errors.add_exception(exc)
        if errors:
            return show_again("dossier/new.html", errors, form=form)
        db.session.commit()
        flash(_("Đã tạo hồ sơ %(code)s.", code=dossier.code))
        return redirect(url_for("web.dossier_detail", dossier_id=dossier.id))
    return render_template("dossier/new.html", form=form, errors=FormErrors())


def _offered(form, options: dict, errors: FormErrors) -> bool:
    """Whether the unit chosen is one the page offers for the kind chosen (the list holds
    every kind's units); if not, say so at the unit, in the page's words."""
    offered = {u.code for units in options.values() for u in units}
    if form.kind.data not in options or form.unit.data not in offered \
            or form.unit.data in {u.code for u in options[form.kind.data]}:
        return True  # anything else is the service's to refuse (unknown kind, a unit out of reach)
    errors.add(_("Đơn vị này không thuộc loại hồ sơ “%(kind)s”. Hãy chọn một đơn vị phù hợp, hoặc đổi loại hồ sơ.",
                 kind=dict(form.kind.choices).get(form.kind.data, form.kind.data)), "unit")
    return False


@bp.get("/dossiers/<int:dossier_id>")
def dossier_detail(dossier_id: int):
    # ?round=N: an earlier version of a table of lines, read only
    return _detail_page(load_dossier(dossier_id, g.user), shown_round=query_int("round", lo=1))


def _detail_page(dossier, status: int = 200, upload_error: tuple[str, str] | None = None, *,
                 errors: FormErrors | None = None, refused: str | None = None, typed: dict | None = None,
                 shown_round: int | None = None):
    """The dossier's page; `upload_error` (criterion, message) shows a refused upload
    at the form it came from. A refused event, apology or lines form comes back with its
    `errors`, which form it was (`refused`: "event-<name>", "apology", "add-line" or
    "import") and what was `typed`."""
    page = dossier_page(g.user, dossier, request_lang(), shown_round)
    d = definition_of(dossier)
    return render_template("dossier/detail.html", p=page, dossier=dossier, form=PostForm(),
                           event_form=EventForm(), upload_form=UploadForm(),
                           diagram=svg(d, dossier.state, request_lang()), upload_error=upload_error,
                           accepted=ACCEPTED_LIST, max_mb=max_bytes() // (1024 * 1024),
                           errors=errors or FormErrors(), refused=refused, typed=typed or {}), status


def _criteria_form(dossier_id: int, *, allowed: str, value_key: str, value_attr: str, note_attr: str,
                   service, template: str, saved: str):
    """One form for every criterion (self-assessment or appraisal): each changed row goes
    through the service; the version is checked against the page seen. All or nothing:
    a refused row is shown at its place and no row is saved. Without a version (a page
    that sent none) the rows are saved on the dossier as it is when they arrive."""
    if request.method == "POST":
        errors = FormErrors()
        version = None
        if checked(PostForm(), errors):
            try:
                version = _version()
            except DomainError as exc:
                if not refusable(exc):
                    raise
                errors.add_exception(exc)
        if not errors:
            def work() -> None:
                _save_rows(load_dossier(dossier_id, g.user), version, value_key, value_attr, note_attr, service)
            try:
                unit_of_work(work, version)
            except _RowsRefused as refused:
                errors = refused.errors
            except DomainError as exc:  # a race lost although a version was sent: stop here
                if not refusable(exc):
                    raise
                errors.add_exception(exc)
        if errors:
            db.session.rollback()
            dossier = load_dossier(dossier_id, g.user)
            typed, was = _shown_again([_criterion_row(e, value_key, value_attr, note_attr)
                                       for e in dossier.current_criteria()], errors.status == 409)
            return show_again(template, errors, p=dossier_page(g.user, dossier, request_lang()), dossier=dossier,
                              form=PostForm(), typed=typed, was=was,
                              version=dossier.version if errors.status == 409 else request.form.get("version"))
        flash(saved)
        return redirect(url_for("web.dossier_detail", dossier_id=dossier_id))
    dossier = load_dossier(dossier_id, g.user)
    page = dossier_page(g.user, dossier, request_lang())
    if not getattr(page, allowed):
        abort(403)
    return render_template(template, p=page, dossier=dossier, form=PostForm(), errors=FormErrors(), typed=None,
                           was={}, version=dossier.version)


class _RowsRefused(Exception):
    """Rows of a criteria form refused: the unit of work rolls back every row saved before."""

    def __init__(self, errors: FormErrors) -> None:
        super().__init__("refused")
        self.errors = errors


def _save_rows(dossier, version: int | None, value_key: str, value_attr: str, note_attr: str, service) -> None:
    """Each row the user changed through the service; refused rows raise _RowsRefused at the end."""
    errors = FormErrors()
    for entry in dossier.current_criteria():
        value = request.form.get(f"{value_key}-{entry.code}")
        note = (request.form.get(f"note-{entry.code}") or "").strip() or None
        row = _criterion_row(entry, value_key, value_attr, note_attr)
        # Only a row this user changed on the page, and only if it is not what is stored already.
        if not value or not _touched(row) or not _differs(row):
            continue
        try:
            service(g.user, dossier, entry.code, value, note, version)
        except LostRace:
            raise  # the unit of work decides: run again on the latest state, or 409
        except DomainError as exc:
            if not refusable(exc):
                raise
            # A refusal that needs the note (a failed verdict without one) sits at the note.
            at = "note" if isinstance(exc, RuleRefused) and note is None and value in ("fail", "not_met") \
                else value_key
            if exc.status == 409:  # the dossier changed, or the session is spent: stop here
                errors.add_exception(exc)
                break
            errors.add_exception(exc, f"{at}-{entry.code}")
            continue
        version = None
    if errors:
        raise _RowsRefused(errors)


def _criterion_row(entry, value_key: str, value_attr: str, note_attr: str) -> dict[str, str]:
    """A criterion's controls on its form, each with the value stored now."""
    return {f"{value_key}-{entry.code}": getattr(entry, value_attr) or "",
            f"note-{entry.code}": getattr(entry, note_attr) or ""}


def _text(raw: str | None) -> str:
    """A posted value as compared: without surrounding blanks, line breaks as a browser may send them."""
    return (raw or "").replace("\r\n", "\n").strip()


def _seen(key: str, stored: str) -> str:
    """The value the page showed at `key` when it was loaded (its hidden was- twin). A form
    posted without one (a page opened before forms carried it) is compared with what is stored."""
    return request.form.get(f"was-{key}", stored)


def _touched(row: dict[str, str]) -> bool:
    """Whether the user changed this row on the page: a control of it posted with a value other
    than the one it showed. `row` maps each control to the value stored now; a control not posted
    is not a change."""
    return any(key in request.form and _text(request.form[key]) != _text(_seen(key, stored))
               for key, stored in row.items())


def _differs(row: dict[str, str]) -> bool:
    return any(key in request.form and _text(request.form[key]) != _text(stored) for key, stored in row.items())


def _shown_again(rows: list[dict[str, str]], conflict: bool) -> tuple[dict, dict]:
    """What a refused form shows (`typed`) and what its was- fields carry (`was`; a control not
    in it carries the value stored). After a conflict the page is based on the dossier as it is
    now: rows the user did not touch show what is stored, rows they changed keep what was typed
    (marked where it differs from what is stored), and each was- is the value stored, so saving
    again writes exactly the rows changed here. Otherwise the page keeps the values it was loaded with."""
    typed = request.form.to_dict()
    was = {}
    for row in rows:
        if not conflict:
            was.update({key: _seen(key, stored) for key, stored in row.items()})
        elif not _touched(row):
            typed.update(row)
    return typed, was


@bp.route("/dossiers/<int:dossier_id>/self-assessment", methods=["GET", "POST"])
def dossier_self_assessment(dossier_id: int):
    return _criteria_form(dossier_id, allowed="can_self_assess", value_key="sa", value_attr="self_assessment",
                          note_attr="note", service=self_assess, template="dossier/self_assessment.html",
                          saved=_("Đã lưu tự đánh giá."))


@bp.route("/dossiers/<int:dossier_id>/appraisal", methods=["GET", "POST"])
def dossier_appraisal(dossier_id: int):
    return _criteria_form(dossier_id, allowed="can_appraise", value_key="verdict", value_attr="verdict",
                          note_attr="verdict_note", service=appraise_criterion, template="dossier/appraisal.html",
                          saved=_("Đã lưu kết quả thẩm định."))


@bp.route("/dossiers/<int:dossier_id>/fields", methods=["GET", "POST"])
def dossier_fields(dossier_id: int):
    dossier = load_dossier(dossier_id, g.user)
    page = dossier_page(g.user, dossier, request_lang())
    if not any(f.editable for f in page.fields):
        abort(403)
    if request.method == "POST":
        errors = FormErrors()
        labels = {f"field-{f.name}": f.label for f in page.fields}
        values = {}
        if checked(PostForm(), errors):
            for f in page.fields:
                raw = (request.form.get(f"field-{f.name}") or "").strip()
                # Only a field this user changed on the page (as the criteria forms).
                if f.editable and raw != f.display_raw and _touched(_field_row(f)):
                    try:
                        values[f.name] = _parse_field(f.name, f.type, raw)
                    except DomainError as exc:
                        if not refusable(exc):
                            raise
                        errors.add_exception(exc, f"field-{f.name}", labels)
        if values and not errors:
            try:
                version = _version()
                unit_of_work(lambda: set_fields(g.user, load_dossier(dossier_id, g.user), values, version), version)
            except DomainError as exc:
                if not refusable(exc):
                    raise
                # The service names the field by its label.
                at = next((key for key, label in labels.items() if f"'{label}'" in exc.message(request_lang())), None)
                errors.add_exception(exc, at, labels)
        if errors:
            db.session.rollback()
            dossier = load_dossier(dossier_id, g.user)
            page = dossier_page(g.user, dossier, request_lang())
            typed, was = _shown_again([_field_row(f) for f in page.fields if f.editable], errors.status == 409)
            return show_again("dossier/fields.html", errors, p=page, dossier=dossier, form=PostForm(),
                              typed=typed, was=was,
                              version=dossier.version if errors.status == 409 else request.form.get("version"))
        flash(_("Đã lưu thông tin."))
        return redirect(url_for("web.dossier_detail", dossier_id=dossier_id))
    return render_template("dossier/fields.html", p=page, dossier=dossier, form=PostForm(), errors=FormErrors(),
                           typed=None, was={}, version=dossier.version)


def _field_row(f) -> dict[str, str]:
    return {f"field-{f.name}": f.display_raw}


def _parse_field(name: str, ftype: str, raw: str):
    if raw == "":
        return None
    if ftype in ("string", "date"):  # a date is checked by the service, as from the API
        return raw
    number = parse_decimal(name, raw)  # the Vietnamese decimal comma too: "92,5" -> 92.5
    if ftype == "integer" and number.is_integer():
        return check_int(name, int(number), -JSON_SAFE_INT, JSON_SAFE_INT)
    return number


@bp.post("/dossiers/<int:dossier_id>/attachments")
def dossier_upload(dossier_id: int):
    form = UploadForm()
    errors = FormErrors()
    if not checked(form, errors):  # no file chosen: said at the form it came from
        return _detail_page(load_dossier(dossier_id, g.user), errors.status,
                            (form.criterion.data or "", " ".join(m for _f, m in errors)))
    upload = form.file.data
    name, data, version = upload.filename or "", upload.read(), form.version.data

    def work() -> str:
        dossier = load_dossier(dossier_id, g.user)
        return attach_evidence(g.user, dossier, name, data, form.criterion.data or None, version).filename
    try:
        filename = unit_of_work(work, version)
    except (RuleRefused, UnsupportedFileType, FileTooLarge) as exc:
        # The file itself was refused: the page again, the message at the form it came from.
        return _detail_page(load_dossier(dossier_id, g.user), exc.status,
                            (form.criterion.data or "", exc.message(request_lang())))
    flash(_("Đã tải lên %(name)s.", name=filename))
    anchor = f"#c-{form.criterion.data}" if form.criterion.data else ""
    return redirect(url_for("web.dossier_detail", dossier_id=dossier_id) + anchor)


@bp.get("/dossiers/<int:dossier_id>/attachments/<int:attachment_id>")
def dossier_attachment(dossier_id: int, attachment_id: int):
    return send_attachment(load_dossier(dossier_id, g.user), attachment_id)


@bp.post("/dossiers/<int:dossier_id>/events")
def dossier_event(dossier_id: int):
    form = EventForm()
    event = form.event.data or ""
    ids = {"comment": f"comment-{event}", "confirm": f"confirm-{event}"}
    errors = FormErrors()
    done = None

    def work() -> tuple[str, list]:
        dossier = load_dossier(dossier_id, g.user)
        issued_before = _decisions(dossier)
        fire_event(g.user, dossier, event, form.comment.data, form.version.data, granted=_granted(dossier, event))
        label = definition_of(dossier).events[event].labels[request_lang()]
        return label, [dec for key, dec in _decisions(dossier).items() if key not in issued_before]
    if checked(form, errors, ids):
        try:
            done = unit_of_work(work, form.version.data)
        except DomainError as exc:
            if not refusable(exc):
                raise
            at = exc.field if exc.field and exc.field.startswith("granted-") else None
            needs_comment = at is None and isinstance(exc, RuleRefused) and not isinstance(exc, GuardFailed) \
                and not (form.comment.data or "").strip()
            errors.add_exception(exc, ids["comment"] if needs_comment else at)
    if errors:
        db.session.rollback()
        return _detail_page(load_dossier(dossier_id, g.user), errors.status, errors=errors,
                            refused=f"event-{event}", typed=request.form.to_dict())
    if done is None:  # the form was refused before any work (checked() said why)
        return _detail_page(load_dossier(dossier_id, g.user), 400, refused=f"event-{event}")
    label, issued = done
    message = _("Đã thực hiện: %(label)s.", label=label)
    flash(_with_decision_links(message, issued, dossier_id) if issued else message)
    return redirect(url_for("web.dossier_detail", dossier_id=dossier_id))


def _granted(dossier, event: str) -> dict | None:
    """For an event that grants per line (the definition's `grants`): {line id: amount}
    from the form's `granted-<line id>` inputs, read by the one rule for typed numbers; a
    line without an input is granted what it asked. None for any other event."""
    e = definition_of(dossier).events.get(event)
    if e is None or not e.grants:
        return None
    column = lines_of(dossier).columns[e.grants]
    granted = {}
    for line in dossier.current_lines():
        key = f"granted-{line.id}"
        if key not in request.form:
            continue
        value = cell_value(column, request.form[key])
        if not isinstance(value, (int, float)):
            raise RuleRefused("Số được cấp của dòng này phải là số (ví dụ 12,5), từ 0 đến số đã đăng ký.",
                              "The amount granted for this line must be a number (e.g. 12.5), from 0 to the "
                              "amount asked.", field=key)
        granted[line.id] = value
    return granted


def _decisions(dossier) -> dict:
    """The dossier's latest decisions by id (recognition, revocation)."""
    found = (decision_of(dossier, doc) for doc in ("recognition", "revocation"))
    return {dec.id: dec for dec in found if dec is not None}


def _with_decision_links(message: str, issued: list, dossier_id: int) -> Markup:
    """The confirmation of an act that issued a decision, with where to read and check it."""
    out = Markup("{0}").format(message)
    for dec in issued:
        pdf = url_for("web.dossier_decision" if dec.type == "recognition" else "web.dossier_revocation",
                      dossier_id=dossier_id)
        out += Markup(' {0} <a href="{1}">{2}</a> · <a href="{3}">{4}</a>').format(
            _("Quyết định số %(symbol)s.", symbol=dec.symbol), pdf, _("Tải quyết định (PDF)"),
            url_for("web.verify", token=dec.verify_token), _("Trang xác minh"))
    return out


@bp.get("/dossiers/<int:dossier_id>/decision.pdf")
def dossier_decision(dossier_id: int):
    return send_decision(dossier_id, g.user)


@bp.get("/dossiers/<int:dossier_id>/revocation.pdf")
def dossier_revocation(dossier_id: int):
    return send_decision(dossier_id, g.user, "revocation")
