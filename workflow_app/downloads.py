"""File downloads shared by the pages and the API: the same stored bytes,
the same names and the same refusals whichever door the user comes through."""
from __future__ import annotations

import io
import os
import unicodedata
from urllib.parse import quote

from flask import abort, current_app, request
from werkzeug.http import dump_options_header, http_date, quote_etag
from werkzeug.utils import send_file as _werkzeug_send_file
from werkzeug.wsgi import FileWrapper

from .auth import bearer_token
from .extensions import db
from .models import (
    ApiToken,
    Decision,
    Dossier,
    RoleAssignment,
    Unit,
    User,
    decision_dossiers,
)
from .permissions import in_scope
from .read_cache import cached_rows
from .services import find_attachment
from .services.common import dossier_not_found
from .services.filecheck import safe_download_name
from .services.storage import path_of
from .services.users import check_token_lifetime, token_hash
from .workflow.errors import NotFound

_dossiers, _units, _decisions = Dossier.__table__, Unit.__table__, Decision.__table__
_tokens, _users, _roles = ApiToken.__table__, User.__table__, RoleAssignment.__table__
_role_units = _units.alias("role_unit")
# The dossier's latest decision of the type (none: NULL). Statements are built once:
# each memoizes its cache key, so executing it again skips SQLAlchemy's analysis.
_LATEST_DECISION = (
    db.select(db.func.max(_decisions.c.id))
    .select_from(_decisions.join(decision_dossiers, decision_dossiers.c.decision_id == _decisions.c.id))
    .where(decision_dossiers.c.dossier_id == _dossiers.c.id, _decisions.c.type == db.bindparam("document"))
    .scalar_subquery())
# What a decision download needs, without ORM objects: the dossier's code and unit
# path (for the permission check) and the file columns of that decision.
_FILE_COLUMNS = (_dossiers.c.code, _dossiers.c.unit_id, _units.c.path, _decisions.c.number, _decisions.c.year, _decisions.c.pdf_key,
                 _decisions.c.pdf_sha256)
_DECISION_DOWNLOAD = (
    db.select(*_FILE_COLUMNS)
    .select_from(_dossiers.join(_units, _units.c.id == _dossiers.c.unit_id)
                 .outerjoin(_decisions, _decisions.c.id == _LATEST_DECISION))
    .where(_dossiers.c.id == db.bindparam("dossier_id")))
# The same for an API caller, with the Bearer token's check in the same round trip:
# one row per role of the token's user (its unit's path), each carrying the dossier
# and decision columns (NULLs when missing). No row: unknown token. The token's
# expiry is read, not compared in SQL: the cached rows must not outlive it.
_DECISION_DOWNLOAD_FOR_TOKEN = (
    db.select(_users.c.id.label("user_id"), _users.c.active, _tokens.c.expires_at, _tokens.c.revoked_at, _role_units.c.path.label("role_path"),
              *_FILE_COLUMNS)
    .select_from(_tokens.join(_users, _users.c.id == _tokens.c.user_id)
                 .outerjoin(_roles, _roles.c.user_id == _users.c.id)
                 .outerjoin(_role_units, _role_units.c.id == _roles.c.unit_id)
                 .outerjoin(_dossiers, _dossiers.c.id == db.bindparam("dossier_id"))
                 .outerjoin(_units, _units.c.id == _dossiers.c.unit_id)
                 .outerjoin(_decisions, _decisions.c.id == _LATEST_DECISION))
    .where(_tokens.c.token_hash == db.bindparam("token_hash")))


class _WholeFileWrapper(FileWrapper):
    """FileWrapper reading up to 1 MiB at a time instead of 8 kB. A server without a
    file wrapper of its own (Werkzeug's) writes each piece to the socket separately:
    a 120 kB decision went out in 15 reads and 15 sends, each releasing and retaking
    the GIL against the server's other threads."""

    def __init__(self, file, buffer_size: int = 8192) -> None:
        super().__init__(file, max(buffer_size, 1 << 20))


def send_file(path, **kwargs):
    """flask.send_file (same headers, ETag, conditional and range answers), served in
    large pieces unless the WSGI server brings its own wsgi.file_wrapper (gunicorn's
    uses sendfile(2))."""
    environ = request.environ
    if "wsgi.file_wrapper" not in environ:
        environ = {**environ, "wsgi.file_wrapper": _WholeFileWrapper}
    kwargs.setdefault("max_age", current_app.get_send_file_max_age)
    return _werkzeug_send_file(path, environ, use_x_sendfile=current_app.config["USE_X_SENDFILE"],
                               response_class=current_app.response_class, _root_path=current_app.root_path,
                               **kwargs)


_READ_WHOLE_MAX = 4 * 1024 * 1024
# A request with any of these needs send_file's conditional or partial answer.
_CONDITIONAL = ("HTTP_RANGE", "HTTP_IF_RANGE", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH",
                "HTTP_IF_UNMODIFIED_SINCE")


def send_stored_file(path, *, etag: str, mimetype: str, download_name: str):
    """send_file of a stored file, as an attachment, whose ETag we know (a decision:
    its SHA-256). Without a server file wrapper the file is read in one go (open,
    fstat, read, close) and answered from memory, with the same Last-Modified,
    length and ETag as send_file gives from the path: every system call lets
    another of the server's threads take the GIL, and send_file's path makes
    about eight of them. A plain GET (no Range, no If-*) is answered directly,
    with the headers send_file would give it (tests/test_downloads.py compares)."""
    kwargs = {"mimetype": mimetype, "as_attachment": True, "download_name": download_name, "etag": etag}
    if "wsgi.file_wrapper" in request.environ or _is_x_sendfile():
        return send_file(path, **kwargs)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        stat = os.fstat(fd)
        if stat.st_size > _READ_WHOLE_MAX:
            data = None
        else:
            data = os.read(fd, stat.st_size + 1)  # one read; the +1 tells a file that grew
    finally:
        os.close(fd)
    if data is None or len(data) != stat.st_size:  # large, or changing under us: from the path
        return send_file(path, **kwargs)
    environ = request.environ
    if any(h in environ for h in _CONDITIONAL) or current_app.get_send_file_max_age(None) is not None:
        return send_file(io.BytesIO(data), last_modified=stat.st_mtime, **kwargs)
    return _whole_attachment(data, stat.st_mtime, **kwargs)


def _whole_attachment(data: bytes, mtime: float, *, mimetype: str, download_name: str, etag: str, **_):
    """send_file's 200 answer to a plain GET, built without its general machinery
    (which a hot download paid ~60 µs for): the same headers, in fewer steps."""
    response = current_app.response_class(data, mimetype=mimetype)  # Content-Type and Content-Length
    headers = response.headers
    headers["Content-Disposition"] = _attachment_disposition(download_name)
    headers["Last-Modified"] = http_date(int(mtime))
    headers["Cache-Control"] = "no-cache"
    headers["ETag"] = quote_etag(etag)
    headers["Accept-Ranges"] = "bytes"
    headers["Date"] = http_date()
    return response


def _attachment_disposition(name: str) -> str:
    # As send_file writes it: an ASCII name as is, otherwise an ASCII fallback and
    # the UTF-8 name (RFC 6266).
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        simple = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
        return dump_options_header("attachment", {"filename": simple,
                                                  "filename*": f"UTF-8''{quote(name, safe='!#$&+-.^_`|~')}"})
    return dump_options_header("attachment", {"filename": name})


def _is_x_sendfile() -> bool:
    return bool(current_app.config["USE_X_SENDFILE"])


def send_attachment(dossier: Dossier, attachment_id: int):
    a = find_attachment(dossier, attachment_id)
    # Rows written by other means (imports, old data) may carry any name: cleaned again for the header.
    return send_file(path_of(a.storage_key), mimetype=a.mime, as_attachment=True,
                     download_name=safe_download_name(a.filename))


def send_decision(dossier_id: int, user: User, document: str = "recognition"):
    """The dossier's latest decision of that type (recognition or revocation) as a
    download, for ``user``: 404 as load_dossier gives it when the dossier is missing
    or hidden from the user, 404 when it has no such decision."""
    row = db.session.execute(_DECISION_DOWNLOAD, {"dossier_id": dossier_id, "document": document}).first()
    if row is None or not _sees(user, row.unit_id):
        raise dossier_not_found()
    return _send_decision_row(row, document)


def send_decision_for_bearer(dossier_id: int, document: str = "recognition"):
    """send_decision for the API caller whose Bearer token comes with the request,
    checked in the same statement that finds the file (the route is marked
    auth.checks_bearer_itself): 401 as the gate gives it for a missing or unknown
    token, a revoked or expired one or a disabled user, then the same refusals as
    send_decision."""
    token = bearer_token()
    rows = []
    if token is not None:
        # Not through the ORM session: a read that needs no objects skips the
        # session's bookkeeping here and at teardown, and on PostgreSQL runs in one
        # round trip (reads.py; libpq trace: ping, BEGIN, query, ROLLBACK -> query).
        # Answered from memory while nothing it reads has changed (read_cache.py).
        rows = cached_rows(_DECISION_DOWNLOAD_FOR_TOKEN, {"token_hash": token_hash(token), "dossier_id": dossier_id,
                                                        "document": document})
    if not rows:
        abort(401)
    row = rows[0]
    check_token_lifetime(row.expires_at, row.revoked_at)  # against the clock now, cached rows or not
    if not row.active:
        abort(401)
    if row.unit_id is None or not _sees(db.session.get(User, row.user_id), row.unit_id):
        raise dossier_not_found()
    return _send_decision_row(row, document)


def _sees(user: User, unit_id: int) -> bool:
    """can_view: the one scope rule, over every period of the unit tree."""
    return in_scope(user, db.session.get(Unit, unit_id))


def _send_decision_row(row, document: str):
    if row.pdf_key is None:
        if document == "revocation":
            raise NotFound("Hồ sơ này không có quyết định thu hồi.", "This dossier has no revocation decision.")
        raise NotFound("Hồ sơ này chưa có quyết định công nhận.", "This dossier has no decision yet.")
    prefix = "QD-thu-hoi" if document == "revocation" else "QD"
    return send_stored_file(path_of(row.pdf_key), mimetype="application/pdf",
                            download_name=f"{prefix}-{row.number}-{row.year}-{row.code}.pdf", etag=row.pdf_sha256)
