"""File downloads shared by the pages and the API: the same stored bytes,
the same names and the same refusals whichever door the user comes through."""
from __future__ import annotations

from flask import request, send_file
from werkzeug.wsgi import wrap_file

from .extensions import db
from .models import Decision, Dossier, User, decision_dossiers
from .permissions import scope_clause
from .services import find_attachment
from .services.core.common import dossier_not_found
from .services.core.filecheck import safe_download_name
from .services.core.storage import Missing, StoredReader, backend, digest_of
from .workflow.errors import NotFound

_dossiers, _decisions = Dossier.__table__, Decision.__table__
# The dossier's latest decision of the type (none: NULL).
_LATEST_DECISION = (
    db.select(db.func.max(_decisions.c.id))
    .select_from(_decisions.join(decision_dossiers, decision_dossiers.c.decision_id == _decisions.c.id))
    .where(decision_dossiers.c.dossier_id == _dossiers.c.id, _decisions.c.type == db.bindparam("document"))
    .scalar_subquery())
# What a decision download needs, without ORM objects: the dossier's code and the
# file columns of that decision (the caller adds the scope clause).
_DECISION_DOWNLOAD = (
    db.select(_dossiers.c.code, _decisions.c.number, _decisions.c.year, _decisions.c.pdf_key,
              _decisions.c.pdf_sha256)
    .select_from(_dossiers.outerjoin(_decisions, _decisions.c.id == _LATEST_DECISION))
    .where(_dossiers.c.id == db.bindparam("dossier_id")))


def send_attachment(dossier: Dossier, attachment_id: int):
    a = find_attachment(dossier, attachment_id)
    # Rows written by other means (imports, old data) may carry any name: cleaned again for the header.
    return send_stored(a.storage_key, mimetype=a.mime, download_name=safe_download_name(a.filename),
                       etag=a.sha256 or True)


def send_decision(dossier_id: int, user: User, document: str = "recognition"):
    """The dossier's latest decision of that type (recognition or revocation) as a
    download, for ``user``: 404 as load_dossier gives it when the dossier is missing
    or hidden from the user, 404 when it has no such decision. The file row is
    looked up within the user's scope (the one scope rule's SQL clause, over every
    period of the unit tree) in one statement."""
    statement = _DECISION_DOWNLOAD.where(scope_clause(_dossiers.c.unit_id, user))
    row = db.session.execute(statement, {"dossier_id": dossier_id, "document": document}).first()
    if row is None:
        raise dossier_not_found()
    if row.pdf_key is None:
        if document == "revocation":
            raise NotFound("Hồ sơ này không có quyết định thu hồi.", "This dossier has no revocation decision.")
        raise NotFound("Hồ sơ này chưa có quyết định công nhận.", "This dossier has no decision yet.")
    prefix = "QD-thu-hoi" if document == "revocation" else "QD"
    # The file's SHA-256 is its ETag: a client holding the same bytes gets 304.
    return send_stored(row.pdf_key, mimetype="application/pdf",
                       download_name=f"{prefix}-{row.number}-{row.year}-{row.code}.pdf", etag=row.pdf_sha256)


def send_stored(key: str, mimetype: str, download_name: str, etag: str | bool = True):
    """A stored file as an attachment: send_file of its path from a local folder, else
    its bytes streamed from the store with the same headers, conditional (304) and
    partial (206) answers. The ETag is the file's SHA-256 (`etag`, or the digest its
    content key names). A range is read from its first byte on: the database from the
    chunk holding it, an object store by a ranged GET. 404 when the store has no such file."""
    if etag is True:
        etag = digest_of(key) or True
    store = backend()
    if store.local:
        path = store.path(key)
        if not path.is_file():
            raise _file_missing()
        return send_file(path, mimetype=mimetype, as_attachment=True, download_name=download_name, etag=etag)
    store = store.for_threads()  # its bytes are read after the request's app context has ended
    try:
        found = store.stat(key)
    except Missing:
        raise _file_missing() from None
    response = send_file(StoredReader(store, key, found.size), mimetype=mimetype, as_attachment=True,
                         download_name=download_name, etag=etag if isinstance(etag, str) else False,
                         last_modified=found.stored_at, conditional=False)
    response.content_length = found.size
    response.make_conditional(request.environ, accept_ranges=True, complete_length=found.size)
    if response.status_code == 206:
        # Werkzeug would read the bytes before the range and drop them (a server's file
        # wrapper cannot seek): the range's own reader starts at its offset instead.
        part = response.content_range
        response.response = wrap_file(request.environ, StoredReader(store, key, found.size, part.start, part.stop))
    return response


def _file_missing() -> NotFound:
    return NotFound("Không tìm thấy tệp đã lưu.", "The stored file is missing.")
