"""Public pages: decision verification, health, language switch."""
from __future__ import annotations

import hashlib
import hmac

from flask import jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from sqlalchemy import text

from ..errors import error_response, wants_json
from ..extensions import csrf, db
from ..i18n import LANGS
from ..services.decisions import find_by_token
from ..workflow.errors import NotFound
from . import bp


@bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


@bp.get("/lang/<lang>")
def set_lang(lang: str):
    if lang in LANGS:
        session["lang"] = lang
    target = request.args.get("next", "")
    # Only local paths: an open redirect would let a link send users elsewhere.
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("web.index")
    return redirect(target)


def _decision_or_404(token: str):
    decision = find_by_token(token) if len(token) <= 64 else None
    if decision is None:
        raise NotFound("Không tìm thấy quyết định với mã xác minh này. Hãy kiểm tra lại đường dẫn hoặc mã QR.",
                       "No decision has this verification code. Check the link or QR code.")
    return decision


def _decision_info(decision) -> dict:
    return {
        "number": decision.number, "symbol": decision.symbol, "issued_on": decision.issued_on.isoformat(),
        "issuer": {"code": decision.issuer.code, "name": decision.issuer.name},
        "type": decision.type, "status": decision.status, "signer": decision.signer_name,
        "subject": decision.subject, "sha256": decision.pdf_sha256,
        "units": [{"code": d.unit.code, "name": d.unit.name,
                   "parent": d.unit.parent.name if d.unit.parent else None, "dossier": d.code}
                  for d in decision.dossiers],
    }


def _verify_page(token: str, decision, status: int = 200, **check):
    return render_template("web/verify.html", d=_decision_info(decision), issued_on=decision.issued_on,
                           token=token, **check), status


@bp.get("/verify/<token>")
def verify(token: str):
    decision = _decision_or_404(token)
    if wants_json() or request.args.get("format") == "json":
        return jsonify(_decision_info(decision))
    return _verify_page(token, decision)


# The PDF header may follow up to 1 KiB of junk (PDF 1.7, annex H); readers accept that.
_PDF_HEADER_WINDOW = 1024
_CHUNK = 64 * 1024


@bp.post("/verify/<token>")
@csrf.exempt  # a read-only check anyone (or any script) may run: it changes nothing
def verify_upload(token: str):
    """Is the uploaded file byte for byte the issued PDF? Compares SHA-256 digests.

    The upload is only streamed through the hash: it is never stored. A mismatch is an
    answer (200), not an error; no file is 400 and a file that is not a PDF is 415.
    """
    decision = _decision_or_404(token)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_refused(token, decision, 400, "no_file",
                               _("Bạn chưa chọn tệp. Hãy chọn tệp PDF quyết định rồi bấm “Kiểm tra tệp”."))
    digest = hashlib.sha256()
    head = upload.stream.read(_PDF_HEADER_WINDOW)
    if b"%PDF-" not in head:
        return _upload_refused(token, decision, 415, "not_pdf",
                               _("Tệp bạn chọn không phải tệp PDF nên không thể là bản quyết định đã ban hành. "
                                 "Hãy chọn tệp PDF."))
    digest.update(head)
    for chunk in iter(lambda: upload.stream.read(_CHUNK), b""):
        digest.update(chunk)
    uploaded = digest.hexdigest()
    match = hmac.compare_digest(uploaded, decision.pdf_sha256)
    if match:
        message = _("Tệp bạn tải lên đúng là bản đã ban hành.")
    else:
        message = _("Tệp bạn tải lên không khớp với bản đã ban hành: nội dung đã bị thay đổi hoặc đây là "
                    "tệp khác. Đừng dựa vào tệp này; hãy xin bản chính thức từ cơ quan ban hành.")
    if wants_json():
        return jsonify({"match": match, "sha256": uploaded, "issued_sha256": decision.pdf_sha256,
                        "status": decision.status, "message": message})
    return _verify_page(token, decision, check_match=match, check_message=message, check_sha256=uploaded)


def _upload_refused(token: str, decision, status: int, code: str, message: str):
    if wants_json():
        return error_response(status, code, message)
    return _verify_page(token, decision, status, check_error=message)
