"""Papers are rendered when they are issued, once the transaction that issues them
has committed: the receipt slip, the appraisal report and the apology slip.

The issuing service queues the new Document with `render_after_commit(doc, template,
context)`: nothing is laid out while the transaction holds its locks (the dossier row,
a register's counter). When the session's outermost transaction commits, each queued
paper that is still in the database is rendered once, in the render workers
(pdf/printing.py), stored (core/storage) and its key recorded by a short transaction
of its own (`render_paper`). Where it runs is PAPERS_RENDER:

- ``background`` (the default): a paper issued by a request is handed to the app
  process's background thread (background.py), so the answer leaves at the commit and
  the PDF follows a fraction of a second later. Papers issued outside a request (a
  `flask` command, a script) are rendered at once, before the command goes on: no one
  waits for an answer there, and the command must not end before its papers exist.
- ``inline``: rendered at once after every commit, before the answer leaves.

- Rolled back (a refusal, a lost race, a batch refused part-way): the queue is
  dropped, nothing is rendered or written. A savepoint rolled back drops what was
  issued inside it.
- A render that fails after the commit (time limit, a worker gone, storage full), or
  never runs (the process stopped first), loses nothing: the paper and its facts are
  committed; the first download renders it (papers.ensure_pdf). `flask doctor` names a
  paper without PDF only past its grace period.
- One paper, one file: whoever renders (this thread, a download in this process or on
  another machine) first takes `one_render` (a lock in this process) and locks the
  paper's row (FOR NO KEY UPDATE on PostgreSQL) in the transaction that will record the
  key, and renders only while the row has none. A second renderer waits, finds the
  key and renders nothing. On SQLite the row lock does not exist: two processes may
  both lay the paper out; the layout is deterministic and files are content-addressed
  (the same bytes, the same key), and the key is recorded only while none is.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app, has_request_context
from sqlalchemy import event, inspect, select, update

from ...config import sqlite_in_memory
from ...extensions import db
from ...models import Document
from ...pdf.printing import render_pdf
from ..core.storage import put_bytes
from .background import later

log = logging.getLogger(__name__)

_QUEUED = "papers_to_render"  # session.info: papers issued in the open transaction
_COMMITTED = "papers_committed"  # session.info: papers of the transaction that just committed


@dataclass(frozen=True)
class _Paper:
    doc: Document
    template: str
    context: dict


def render_after_commit(doc: Document, template: str, context: dict) -> None:
    """Render ``doc`` from ``templates/<template>`` with ``context`` once the caller's
    transaction commits; never if it rolls back."""
    db.session.info.setdefault(_QUEUED, []).append(_Paper(doc, template, context))


def render_file(template: str, context: dict) -> tuple[str, str]:
    """Lay the paper out in a render worker and store the PDF: (storage key, SHA-256)."""
    return put_bytes(render_pdf(template, context), ".pdf")


def record_pdf(executor, document_id: int, key: str, digest: str) -> None:
    """Record the paper's file, only while it has none."""
    executor.execute(update(Document).where(Document.id == document_id, Document.pdf_key.is_(None))
                     .values(pdf_key=key, pdf_sha256=digest).execution_options(synchronize_session=False))


def needs_pdf(executor, document_id: int) -> bool:
    """Whether the paper (still) has no file, its row locked until the caller's
    transaction ends (PostgreSQL; NO KEY: rows naming the paper may still be written)."""
    row = executor.execute(select(Document.pdf_key).where(Document.id == document_id)
                           .with_for_update(key_share=True)).first()
    return row is not None and row.pdf_key is None


_rendering: dict[tuple[int, int], list] = {}  # (engine, document id) -> [lock, holders and waiters]
_rendering_lock = threading.Lock()


@contextmanager
def one_render(document_id: int) -> Iterator[None]:
    """One render of a paper at a time in this process (the row lock's twin, for
    SQLite): hold it until the transaction recording the key has committed."""
    name = (id(db.engine), document_id)
    with _rendering_lock:
        entry = _rendering.setdefault(name, [threading.Lock(), 0])
        entry[1] += 1
    try:
        with entry[0]:
            yield
    finally:
        with _rendering_lock:
            entry[1] -= 1
            if not entry[1]:
                del _rendering[name]


def render_paper(document_id: int, kind: str, template: str, context: dict) -> bool:
    """Render a committed paper and record its file, unless someone did first; False
    when it failed (logged: the first download renders it)."""
    try:
        with one_render(document_id), db.engine.begin() as conn:
            if not needs_pdf(conn, document_id):
                log.debug("document %s (%s) already has its PDF", document_id, kind)
                return True
            key, digest = render_file(template, context)
            record_pdf(conn, document_id, key, digest)
    except Exception:  # noqa: BLE001 - the paper is committed; the first download renders it
        log.exception("document %s (%s): rendering after issue failed; the first download will render it",
                      document_id, kind)
        return False
    log.info("document %s (%s) rendered at issue: %s", document_id, kind, digest)
    return True


def in_background() -> bool:
    """Papers committed now go to the background thread (see the module's notes)."""
    config = current_app.config
    return (config.get("PAPERS_RENDER", "background") == "background" and has_request_context()
            and not sqlite_in_memory(config["SQLALCHEMY_DATABASE_URI"]))  # one connection: not shared


# ----------------------------------------------------------------------------- session events

@event.listens_for(db.session, "after_commit")
def _committed(session) -> None:
    """A savepoint released is not a commit: the papers wait for the outermost one.
    The objects are not expired yet here, so their ids are read without SQL."""
    if session.in_nested_transaction():
        return
    papers = session.info.pop(_QUEUED, [])
    done, ready = set(), []
    for paper in papers:
        state = inspect(paper.doc)
        if state.persistent and paper.doc.id not in done:  # a batch queues each paper once; once is enough
            done.add(paper.doc.id)
            ready.append((paper.doc.id, paper.doc.kind, paper.template, paper.context))
    if ready:
        session.info[_COMMITTED] = ready


@event.listens_for(db.session, "after_transaction_end")
def _ended(session, transaction) -> None:
    """The outermost transaction has ended and released its connection: render what
    it committed (or hand it to the background thread), drop what it did not. A
    savepoint ended: forget what it rolled back (those objects are no longer in the
    session)."""
    if transaction.parent is not None:
        queued = session.info.get(_QUEUED)
        if queued:
            session.info[_QUEUED] = [p for p in queued if inspect(p.doc).session_id is not None]
        return
    dropped = session.info.pop(_QUEUED, [])
    if dropped:
        log.debug("%d paper(s) not rendered: their transaction did not commit", len(dropped))
    committed = session.info.pop(_COMMITTED, [])
    if not committed:
        return
    if in_background():
        app = current_app._get_current_object()
        for paper in committed:
            later(app, render_paper, *paper)
        return
    for paper in committed:
        render_paper(*paper)
