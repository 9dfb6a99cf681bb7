"""A dossier's table of lines on the web (definitions with `lines`): add a line below
the table, edit or remove one on its own page, fill the table from an Excel workbook
(the template to download, the upload). The rules are the services' (core.lines,
core.line_workbook); a refused cell is shown next to its input with what was typed."""
from __future__ import annotations

from io import BytesIO

from flask import abort, flash, g, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..i18n import request_lang
from ..services.core.common import definition_of, engine, load_dossier
from ..services.core.evidence import max_bytes
from ..services.core.line_workbook import build_template, cell_value, read_workbook
from ..services.core.lines import add_line, lines_of, offered_units, remove_line, replace_lines, update_line
from ..services.core.persist import unit_of_work
from ..services.reading.dossier_page import dossier_page
from ..services.reporting.sheets import XLSX_MIME
from ..workflow.errors import DomainError, LineRefused
from . import bp
from .dossier_views import _detail_page
from .form_errors import FormErrors, checked, refusable
from .forms import ImportLinesForm, LineForm, RemoveLineForm

# What the import form shows besides the form's own refusals: a file refused as a whole.
FILE_STATUSES = (413, 415)


def _typed(dossier) -> dict:
    """The line's cells as posted (`line-<column>`), read by the one rule for typed
    cells; a column whose input was not posted is left as it is."""
    spec = lines_of(dossier)
    return {name: cell_value(column, request.form[f"line-{name}"])
            for name, column in spec.columns.items() if f"line-{name}" in request.form}


def _refused(errors: FormErrors, exc: DomainError) -> None:
    """A refusal on a line's form: each cell's reason next to its input."""
    if isinstance(exc, LineRefused) and exc.cells:
        for name, text in exc.cells.items():
            errors.add(text.get(request_lang()), f"line-{name}")
        errors.refusals.extend([exc.status] * len(exc.cells))
        return
    if not refusable(exc):
        raise exc
    errors.add_exception(exc)


def _back(dossier_id: int, anchor: str = "lines"):
    return redirect(url_for("web.dossier_detail", dossier_id=dossier_id) + f"#{anchor}")


@bp.post("/dossiers/<int:dossier_id>/lines")
def dossier_line_add(dossier_id: int):
    form = LineForm()
    errors = FormErrors()
    if checked(form, errors):
        def work() -> int:
            dossier = load_dossier(dossier_id, g.user)
            return add_line(g.user, dossier, _typed(dossier), form.version.data).id
        try:
            line_id = unit_of_work(work, form.version.data)
        except DomainError as exc:
            _refused(errors, exc)
    if errors:
        db.session.rollback()
        return _detail_page(load_dossier(dossier_id, g.user), errors.status, errors=errors, refused="add-line",
                            typed=request.form.to_dict())
    flash(_("Đã thêm một dòng."))
    return _back(dossier_id, f"line-{line_id}")


def _line_page(dossier, line_id: int, errors: FormErrors | None = None, typed: dict | None = None,
               status: int = 200):
    page = dossier_page(g.user, dossier, request_lang())
    if page.lines is None:
        abort(404)
    row = next((r for r in page.lines.rows if r.id == line_id), None)
    if row is None:
        abort(404)
    if not page.lines.can_edit:
        abort(403)
    return render_template("dossier/line_edit.html", p=page, dossier=dossier, row=row, errors=errors or FormErrors(),
                           typed=typed, refused=None), status


@bp.route("/dossiers/<int:dossier_id>/lines/<int:line_id>", methods=["GET", "POST"])
def dossier_line_edit(dossier_id: int, line_id: int):
    if request.method == "GET":
        return _line_page(load_dossier(dossier_id, g.user), line_id)
    form = LineForm()
    errors = FormErrors()
    if checked(form, errors):
        def work() -> None:
            dossier = load_dossier(dossier_id, g.user)
            update_line(g.user, dossier, line_id, _typed(dossier), form.version.data)
        try:
            unit_of_work(work, form.version.data)
        except DomainError as exc:
            _refused(errors, exc)
    if errors:
        db.session.rollback()
        return _line_page(load_dossier(dossier_id, g.user), line_id, errors, request.form.to_dict(), errors.status)
    flash(_("Đã lưu dòng."))
    return _back(dossier_id, f"line-{line_id}")


@bp.post("/dossiers/<int:dossier_id>/lines/<int:line_id>/remove")
def dossier_line_remove(dossier_id: int, line_id: int):
    form = RemoveLineForm()
    errors = FormErrors()
    if checked(form, errors, {"confirm": "remove-confirm"}):
        def work() -> None:
            remove_line(g.user, load_dossier(dossier_id, g.user), line_id, form.version.data)
        try:
            unit_of_work(work, form.version.data)
        except DomainError as exc:
            _refused(errors, exc)
    if errors:
        db.session.rollback()
        return _line_page(load_dossier(dossier_id, g.user), line_id, errors, None, errors.status)
    flash(_("Đã xoá dòng."))
    return _back(dossier_id)


@bp.get("/dossiers/<int:dossier_id>/lines/template.xlsx")
def dossier_lines_template(dossier_id: int):
    dossier = load_dossier(dossier_id, g.user)
    d = definition_of(dossier)
    lines_of(dossier)
    title = f"{engine().kind_label(dossier.kind, 'vi')} — {dossier.unit.name} — {dossier.year}"
    data = build_template(d, offered_units(d.lines, dossier.unit), title)
    return send_file(BytesIO(data), mimetype=XLSX_MIME, as_attachment=True, download_name=f"mau-{dossier.code}.xlsx")


@bp.post("/dossiers/<int:dossier_id>/lines/import")
def dossier_lines_import(dossier_id: int):
    form = ImportLinesForm()
    errors = FormErrors()
    if checked(form, errors, {"file": "import-file"}):
        upload = form.file.data
        name, data = upload.filename or "", upload.read()

        def work() -> int:
            dossier = load_dossier(dossier_id, g.user)
            d = definition_of(dossier)
            offered = offered_units(d.lines, dossier.unit)  # read once: the workbook's names, then the check
            rows = read_workbook(d, name, data, max_bytes(), offered)
            return len(replace_lines(g.user, dossier, rows, form.version.data, offered))
        try:
            count = unit_of_work(work, form.version.data)
        except LineRefused as exc:
            lang = request_lang()
            errors.add(exc.text.get(lang))
            for number, cells in sorted(exc.by_row.items()):
                for text in cells.values():
                    errors.add((f"Row {number}: " if lang == "en" else f"Dòng {number}: ") + text.get(lang))
            errors.status = exc.status
        except DomainError as exc:
            if exc.status not in FILE_STATUSES and not refusable(exc):
                raise
            errors.add_exception(exc, "import-file")
            if exc.status in FILE_STATUSES:
                errors.status = exc.status
    if errors:
        db.session.rollback()
        return _detail_page(load_dossier(dossier_id, g.user), errors.status, errors=errors, refused="import",
                            typed={})
    flash(_("Đã nhập %(n)s dòng từ tệp Excel.", n=count))
    return _back(dossier_id)
