"""Evidence files on the dossier page: remove (soft) and replace one file."""
from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..i18n import request_lang
from ..services.core.common import load_dossier
from ..services.core.evidence import remove_evidence, replace_evidence, uploads_open
from ..services.core.persist import unit_of_work
from ..validation import form_int
from ..workflow.errors import (
    Conflict,
    FileTooLarge,
    RuleRefused,
    StaleVersion,
    UnsupportedFileType,
)
from . import bp
from .dossier_views import _detail_page, _require_form
from .forms import PostForm

# Refusals shown on the dossier page at the file's criterion; 403 and 404 keep their pages.
SHOWN_IN_PLACE = (RuleRefused, Conflict, StaleVersion, UnsupportedFileType, FileTooLarge)


def _refused(dossier_id: int, attachment_id: int, exc) -> tuple:
    db.session.rollback()
    dossier = load_dossier(dossier_id, g.user)
    attachment = next((a for a in dossier.attachments if a.id == attachment_id), None)
    code = attachment.criterion_code if attachment else None
    # At the file's replace form while it is on the page, else at its criterion.
    where = f"a-{attachment_id}" if attachment and attachment.removed_at is None and uploads_open(dossier) else code
    return _detail_page(dossier, exc.status, (where or "", exc.message(request_lang())))


def _back(dossier_id: int, code: str | None):
    return redirect(url_for("web.dossier_detail", dossier_id=dossier_id) + (f"#c-{code}" if code else ""))


@bp.post("/dossiers/<int:dossier_id>/attachments/<int:attachment_id>/remove")
def evidence_remove(dossier_id: int, attachment_id: int):
    load_dossier(dossier_id, g.user)  # 404 before looking at the form
    _require_form(PostForm())
    version = form_int("version")

    def work() -> tuple[str, str | None]:
        removed = remove_evidence(g.user, load_dossier(dossier_id, g.user), attachment_id, version)
        return removed.filename, removed.criterion_code
    try:
        filename, code = unit_of_work(work, version)
    except SHOWN_IN_PLACE as exc:
        return _refused(dossier_id, attachment_id, exc)
    flash(_("Đã gỡ %(name)s khỏi minh chứng; tệp vẫn được lưu trong quá trình xử lý.", name=filename))
    return _back(dossier_id, code)


@bp.post("/dossiers/<int:dossier_id>/attachments/<int:attachment_id>/replace")
def evidence_replace(dossier_id: int, attachment_id: int):
    load_dossier(dossier_id, g.user)  # 404 before looking at the form
    _require_form(PostForm())
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise RuleRefused("Hãy chọn tệp mới để thay.", "Choose the new file first.")
        name, data, version = upload.filename, upload.read(), form_int("version")

        def work() -> tuple[str, str | None]:
            new = replace_evidence(g.user, load_dossier(dossier_id, g.user), attachment_id, name, data, version)
            return new.filename, new.criterion_code
        filename, code = unit_of_work(work, version)
    except SHOWN_IN_PLACE as exc:
        return _refused(dossier_id, attachment_id, exc)
    flash(_("Đã thay tệp minh chứng bằng %(name)s.", name=filename))
    return _back(dossier_id, code)
