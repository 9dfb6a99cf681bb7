"""Rewriting audit records on purpose, as tests that simulate the past must.

The audit tables are append-only on PostgreSQL (a trigger refuses UPDATE, DELETE
and TRUNCATE). These helpers switch the trigger off for their own transaction with
`SET LOCAL session_replication_role = replica`, the same switch docs/security.md
gives maintainers; it needs a superuser (the test role is one) and ends with the
transaction."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text

from workflow_app.extensions import db
from workflow_app.models import AuditRecord, Dossier
from workflow_app.models.audit import GENESIS


def allow_audit_rewrite() -> None:
    """Let this transaction update or delete audit rows (no-op on SQLite)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL session_replication_role = replica"))


def rewrite_chain(dossier_id: int, change: Callable[[AuditRecord], None]) -> None:
    """Apply `change` to each of the dossier's records in order, re-chain the hashes,
    move the dossier's chain head with them, and commit: the database then holds
    what it would have held had the records been written that way."""
    records = db.session.execute(db.select(AuditRecord).where(AuditRecord.dossier_id == dossier_id)
                                 .order_by(AuditRecord.seq)).scalars().all()
    allow_audit_rewrite()
    prev = GENESIS
    for rec in records:
        change(rec)
        rec.prev_hash = prev
        rec.hash = rec.compute_hash()
        prev = rec.hash
    db.session.flush()
    dossiers = Dossier.__table__
    db.session.execute(dossiers.update().where(dossiers.c.id == dossier_id)
                       .values(audit_count=len(records), audit_head=prev))
    db.session.commit()
