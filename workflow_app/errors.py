"""Domain errors and HTTP errors become responses here, and only here:
JSON {"error": {"code", "message"}} for the API, a page for browsers."""
from __future__ import annotations

import logging

from flask import Flask, g, jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException

from .extensions import db, login_manager
from .i18n import request_lang
from .services.core.persist import ACTED_FIRST, is_lost_race
from .workflow.errors import DomainError

log = logging.getLogger(__name__)

HTTP_TEXTS = {
    400: ("bad_request", "Yêu cầu không hợp lệ. Hãy kiểm tra dữ liệu gửi lên.",
          "Malformed request. Check what you sent."),
    401: ("unauthorized",
          "Chưa đăng nhập hoặc mã truy cập (token) không hợp lệ. Hãy dùng 'Authorization: Bearer <token>'.",
          "Not signed in or bad token. Send 'Authorization: Bearer <token>'."),
    403: ("forbidden", "Bạn không có quyền thực hiện việc này.", "You are not permitted to do this."),
    404: ("not_found", "Không tìm thấy địa chỉ này. Hãy kiểm tra lại đường dẫn.", "Nothing here. Check the address."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ cho địa chỉ này.",
          "Method not allowed for this address."),
    409: ("conflict", ACTED_FIRST[0], ACTED_FIRST[1]),
    413: ("file_too_large", "Tệp hoặc dữ liệu gửi lên quá lớn. Hãy nén hoặc chia nhỏ rồi gửi lại.",
          "The file or request is too large. Compress or split it and send again."),
    415: ("unsupported_media_type", "Kiểu dữ liệu không được hỗ trợ.", "Unsupported media type."),
    422: ("rule_refused", "Yêu cầu bị quy tắc từ chối.", "The rules refuse this request."),
    429: ("too_many_requests", "Quá nhiều yêu cầu. Hãy đợi một lát rồi thử lại.",
          "Too many requests. Wait a moment and retry."),
    500: ("internal_error", "Lỗi hệ thống. Hãy thử lại sau; nếu vẫn lỗi, báo cho quản trị viên.",
          "Internal error. Try again later; if it persists, tell the administrator."),
    503: ("database_unavailable",
          "Cơ sở dữ liệu tạm thời không trả lời. Hãy thử lại sau ít phút; nếu vẫn lỗi, báo cho quản trị viên.",
          "The database is not answering right now. Try again in a few minutes; "
          "if it persists, tell the administrator."),
}
DATABASE_RETRY_AFTER = "30"  # seconds, in the 503's Retry-After
# Pages for people without an account (decision verification): their errors use
# the public layout, with no link into the signed-in app.
PUBLIC_PREFIXES = ("/verify/",)


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, code: str, message: str, details: dict | None = None):
    if wants_json():
        body = {"error": {"code": code, "message": message}}
        if details:
            body["error"]["details"] = details
        return jsonify(body), status
    public = request.path.startswith(PUBLIC_PREFIXES)
    if public:  # a refused file check leads back to its decision's page
        back = request.path if request.method == "POST" and status != 404 else None
    else:
        referrer = request.referrer or ""
        back = referrer if referrer.startswith(request.host_url) and referrer != request.url else None
    titles = {403: ("Bạn không có quyền", "Not permitted"), 404: ("Không tìm thấy", "Not found"),
              409: ("Đã có người thao tác trước bạn", "Someone acted before you"),
              413: ("Tệp quá lớn", "File too large"), 422: ("Chưa thể thực hiện", "Not possible yet"),
              429: ("Quá nhiều yêu cầu", "Too many requests"),
              503: ("Tạm thời chưa phục vụ được", "Temporarily unavailable")}
    title = titles.get(status, (None, None))[1 if request_lang() == "en" else 0]
    return render_template("errors/error.html", status=status, code=code, message=message,
                           title=title, back=back, public=public), status


def http_error(exc: HTTPException, details: dict | None = None):
    status = exc.code or 500
    code, vi, en = HTTP_TEXTS.get(status, ("error", exc.description or "", exc.description or ""))
    if status == 422 and details:  # a schema rejected the body: malformed, not a rule
        status, (code, vi, en) = 400, HTTP_TEXTS[400]
    return error_response(status, code, en if request_lang() == "en" else vi, details)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        db.session.rollback()  # a refused request changes nothing
        lang = request_lang()
        return error_response(exc.status, exc.code, exc.message(lang), exc.details(lang))

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        db.session.rollback()
        vi = "Biểu mẫu đã hết hạn hoặc không hợp lệ. Hãy tải lại trang rồi gửi lại."
        en = "The form has expired or is invalid. Reload the page and send it again."
        return error_response(400, "csrf", en if request_lang() == "en" else vi)

    @app.errorhandler(HTTPException)
    def http_exception(exc: HTTPException):
        db.session.rollback()
        details = getattr(exc, "data", {}).get("messages") if hasattr(exc, "data") else None
        return http_error(exc, details)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        db.session.rollback()
        if is_lost_race(exc):
            return error_response(409, "conflict", ACTED_FIRST[1] if request_lang() == "en" else ACTED_FIRST[0])
        if isinstance(exc, OperationalError | InterfaceError):  # cannot reach the database, or it gave up
            log.warning("database unavailable on %s %s: %s", request.method, request.path, exc.orig or exc)
            # The page's header shows who is signed in, and finding out needs the
            # database: render it for nobody (the session cookie is left as it was).
            g._login_user = login_manager.anonymous_user()
            code, vi, en = HTTP_TEXTS[503]
            response = make_response(error_response(503, code, en if request_lang() == "en" else vi))
            response.headers["Retry-After"] = DATABASE_RETRY_AFTER
            return response
        log.exception("unhandled error on %s %s", request.method, request.path)
        code, vi, en = HTTP_TEXTS[500]
        return error_response(500, code, en if request_lang() == "en" else vi)
