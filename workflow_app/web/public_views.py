"""Public pages: decision verification, health, language switch.

Every verification (page view or file check) is recorded as a VerificationCheck
row and a log line; the checks are rate-limited per client address
(workflow_app/ratelimit.py)."""
from __future__ import annotations

import hashlib
import hmac
import logging

from flask import jsonify, redirect, render_template, request, session
from flask_babel import gettext as _
from sqlalchemy import text

from ..errors import error_response, wants_json
from ..extensions import csrf, db
from ..i18n import LANGS, request_lang
from ..models import VerificationCheck
from ..services.core.filecheck import ASK_ISSUER, check_pdf_shape
from ..services.documents.decisions import find_by_token
from ..services.reporting.register import issuer_body, revoked_by, revokes, status_key, unit_list
from ..validation import safe_next
from ..workflow.errors import NotFound, RuleRefused
from . import bp

log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


@bp.get("/lang/<lang>")
def set_lang(lang: str):
    if lang in LANGS:
        session["lang"] = lang
    # Only local paths: an open redirect would let a link send users elsewhere.
    return redirect(safe_next(request.args.get("next")))


def _decision_or_404(token: str, method: str):
    decision = find_by_token(token) if len(token) <= 64 else None
    if decision is None:
        record_check(method, "not_found", token)
        raise NotFound("Không tìm thấy quyết định với mã xác minh này. Hãy kiểm tra lại đường dẫn hoặc mã QR.",
                       "No decision has this verification code. Check the link or QR code.")
    return decision


def record_check(method: str, result: str, token: str, decision=None) -> None:
    """One row and one log line per check. The page is otherwise read-only, so
    the row is committed here; a failure to record never fails the check."""
    address = (request.remote_addr or "")[:64] or None
    decision_id = decision.id if decision is not None else None
    try:
        db.session.add(VerificationCheck(decision_id=decision_id, token=token[:64], method=method,
                                         result=result, remote_addr=address))
        db.session.commit()
    except Exception:  # noqa: BLE001 - recording is secondary to answering
        db.session.rollback()
        log.warning("verification check not recorded (%s %s, decision %s)", method, result, decision_id,
                    exc_info=True)
    # Only a prefix of the token: the full token is the key to the public page.
    log.info("verification %s %s: decision %s, token %s..., from %s", method, result, decision_id, token[:6],
             address)


def _links(items):
    """Public references without the bare token (the verify_url carries it)."""
    if items is None:
        return None
    if isinstance(items, dict):
        return {k: v for k, v in items.items() if k != "token"}
    return [_links(x) for x in items]


def _decision_info(decision) -> dict:
    return {
        "number": decision.number, "symbol": decision.symbol, "issued_on": decision.issued_on.isoformat(),
        "issuer": {"code": decision.issuer.code, "name": decision.issuer.name},
        "issuer_body": issuer_body(decision.issuer),  # "Ủy ban nhân dân huyện Tam Đường"
        "type": decision.type, "status": decision.status, "signer": decision.signer_name,
        "subject": decision.subject, "sha256": decision.pdf_sha256,
        "units": unit_list(decision),
        "reason": decision.reason,
        "revoked_by": _links(revoked_by(decision)),
        "revokes": _links(revokes(decision)),
    }


def _verify_page(token: str, decision, status: int = 200, **check):
    return render_template("web/verify.html", d=_decision_info(decision), issued_on=decision.issued_on,
                           token=token, status_key=status_key(decision), revoked_by=revoked_by(decision),
                           revokes=revokes(decision), **check), status


@bp.get("/verify/<token>")
def verify(token: str):
    decision = _decision_or_404(token, "view")
    if wants_json() or request.args.get("format") == "json":
        response = jsonify(_decision_info(decision))
    else:
        response = _verify_page(token, decision)
    record_check("view", "found", token, decision)
    return response


# The PDF header may follow up to 1 KiB of junk (PDF 1.7, annex H); readers accept that.
_PDF_HEADER_WINDOW = 1024


@bp.post("/verify/<token>")
@csrf.exempt  # a read-only check anyone (or any script) may run: it changes nothing
def verify_upload(token: str):
    """Is the uploaded file byte for byte the issued PDF? Compares SHA-256 digests.

    The upload is never stored. A mismatch is an answer (200), not an error; no file is
    400, a file that is not a PDF is 415, and one that starts as a PDF but is not one
    to its end (cut short, HTML after the header) is 422.
    """
    decision = _decision_or_404(token, "upload")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _upload_refused(token, decision, 400, "no_file",
                               _("Bạn chưa chọn tệp. Hãy chọn tệp PDF quyết định rồi bấm “Kiểm tra tệp”."))
    data = upload.stream.read()  # bounded by MAX_CONTENT_LENGTH
    start = data.find(b"%PDF-", 0, _PDF_HEADER_WINDOW)
    if start < 0:
        return _upload_refused(token, decision, 415, "not_pdf",
                               _("Tệp bạn chọn không phải tệp PDF nên không thể là bản quyết định đã ban hành. "
                                 "Hãy chọn tệp PDF."))
    uploaded = hashlib.sha256(data).hexdigest()
    match = hmac.compare_digest(uploaded, decision.pdf_sha256)
    if not match:  # the issued file is ours; any other must be a PDF through and through
        try:
            check_pdf_shape(data[start:], advice=ASK_ISSUER)
        except RuleRefused as exc:
            return _upload_refused(token, decision, 422, "invalid_pdf", exc.message(request_lang()))
    if match:
        message = _("Tệp bạn tải lên đúng là bản đã ban hành.")
    else:
        message = _("Tệp bạn tải lên không khớp với bản đã ban hành: nội dung đã bị thay đổi hoặc đây là "
                    "tệp khác. Đừng dựa vào tệp này; hãy xin bản chính thức từ cơ quan ban hành.")
    if wants_json():
        response = jsonify({"match": match, "sha256": uploaded, "issued_sha256": decision.pdf_sha256,
                            "status": decision.status, "message": message})
    else:
        response = _verify_page(token, decision, check_match=match, check_message=message, check_sha256=uploaded)
    record_check("upload", "match" if match else "mismatch", token, decision)
    return response


def _upload_refused(token: str, decision, status: int, code: str, message: str):
    if wants_json():
        response = error_response(status, code, message)
    else:
        response = _verify_page(token, decision, status, check_error=message)
    record_check("upload", "refused", token, decision)
    return response
