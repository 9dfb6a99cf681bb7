"""Papers are rendered when they are issued, once the transaction that issues them
has committed: the receipt slip, the appraisal report and the apology slip.

The issuing service queues the new Document with `render_after_commit(doc, template,
context)`: nothing is laid out while the transaction holds its locks (the dossier row,
a register's counter). When the session's outermost transaction commits, each queued
paper that is still in the database is rendered once, in the render workers
(pdf/printing.py), stored (core/storage.py) and its key recorded by a short
transaction of its own; all of it in the same request, before the answer leaves, so
every download is a file read.

- Rolled back (a refusal, a lost race, a batch refused part-way): the queue is
  dropped, nothing is rendered or written. A savepoint rolled back drops what was
  issued inside it.
- A render that fails after the commit (time limit, a worker gone, storage full)
  loses nothing: the paper and its facts are committed; the failure is logged and
  the first download renders it (papers.ensure_pdf), as before. `flask doctor`
  names a paper without PDF only past its grace period.
- The key is recorded only while none is (the first download may have won).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import event, inspect, update

from ...extensions import db
from ...models import Document
from ...pdf.printing import render_pdf
from ..core.storage import put_bytes

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
    """Record the paper's file, only while it has none: the first render recorded wins
    and a later one (the same facts, the same bytes) changes nothing."""
    executor.execute(update(Document).where(Document.id == document_id, Document.pdf_key.is_(None))
                     .values(pdf_key=key, pdf_sha256=digest).execution_options(synchronize_session=False))


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
    it committed, drop what it did not. A savepoint ended: forget what it rolled back
    (those objects are no longer in the session)."""
    if transaction.parent is not None:
        queued = session.info.get(_QUEUED)
        if queued:
            session.info[_QUEUED] = [p for p in queued if inspect(p.doc).session_id is not None]
        return
    dropped = session.info.pop(_QUEUED, [])
    if dropped:
        log.debug("%d paper(s) not rendered: their transaction did not commit", len(dropped))
    for document_id, kind, template, context in session.info.pop(_COMMITTED, []):
        try:
            key, digest = render_file(template, context)
            with db.engine.begin() as conn:  # the session is between transactions: a short one of its own
                record_pdf(conn, document_id, key, digest)
        except Exception:  # noqa: BLE001 - the paper is committed; the first download renders it
            log.exception("document %s (%s): rendering after issue failed; the first download will render it",
                          document_id, kind)
            continue
        log.info("document %s (%s) rendered at issue: %s", document_id, kind, digest)
