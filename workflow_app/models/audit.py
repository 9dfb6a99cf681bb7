"""Audit records: every change to a dossier, hash-chained per dossier. The chain's
head (count and last hash) is kept on the dossier row, and signed checkpoints of
every head (AuditCheckpoint) anchor the chains' tails (services/core/audit.py checks).
On PostgreSQL both tables refuse UPDATE, DELETE and TRUNCATE (append_only)."""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime

from sqlalchemy import (
    DDL,
    JSON,
    ForeignKey,
    Index,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .times import utcnow
from .units import Unit
from .users import User

GENESIS = "0" * 64


class AuditRecord(db.Model):
    __tablename__ = "audit_records"
    # (dossier, seq) unique: the chain cannot fork even if two writers slipped through.
    __table_args__ = (UniqueConstraint("dossier_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    seq: Mapped[int]
    # An event name of the definition (a state change), or an action such as
    # create, self_assess, appraise_criterion, attach, set_fields.
    action: Mapped[str] = mapped_column(String(40))
    is_transition: Mapped[bool] = mapped_column(default=False)
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(20))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    comment: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    actor: Mapped[User] = relationship(lazy="joined")
    unit: Mapped[Unit] = relationship()

    def canonical(self) -> bytes:
        body = {
            "dossier_id": self.dossier_id, "seq": self.seq, "action": self.action,
            "from": self.from_state, "to": self.to_state, "actor_id": self.actor_id,
            "role": self.role, "unit_id": self.unit_id, "comment": self.comment,
            "data": self.data or {}, "at": self.at.isoformat(timespec="microseconds"),
        }
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()

    def compute_hash(self) -> str:
        return hashlib.sha256(self.prev_hash.encode() + self.canonical()).hexdigest()


# Transitions by time (migrations 7a1d0c3e5b21, 320f4aab2bbe): the monthly report reads the records
# after a moment (services/reporting/monthly_report.states_at) and a month's moves in (at, id) order.
# Partial on PostgreSQL, with what those read included, so the index alone answers them.
Index("ix_audit_records_transitions_at", AuditRecord.at, AuditRecord.id, postgresql_where=AuditRecord.is_transition,
      postgresql_include=["dossier_id", "action", "from_state", "to_state"])


class AuditCheckpoint(db.Model):
    """All chain heads at one moment, signed (services/core/audit.py makes and checks them).
    `heads` holds only the dossiers whose head moved since the previous checkpoint
    ({"<dossier id>": [count, last hash]}); folding them in `seq` order gives every
    head, whose digest is `digest`. `mac` is an HMAC of the whole row."""
    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)  # 1, 2, ...: a gap is a deleted checkpoint
    day: Mapped[date]  # local (Vietnam) date it was made
    made_at: Mapped[datetime]
    dossiers: Mapped[int]  # dossiers with at least one record
    records: Mapped[int]
    heads: Mapped[dict] = mapped_column(JSON)
    digest: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(64))

    def signed_bytes(self) -> bytes:
        body = {"seq": self.seq, "day": self.day.isoformat(),
                "made_at": self.made_at.isoformat(timespec="microseconds"), "dossiers": self.dossiers,
                "records": self.records, "heads": self.heads, "digest": self.digest}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


# PostgreSQL: the audit tables are append-only for everyone whose triggers fire. A
# maintainer who must rewrite rows on purpose runs, in that one transaction,
# SET LOCAL session_replication_role = replica (docs/security.md).
APPEND_ONLY_TABLES = ("audit_records", "audit_checkpoints")
APPEND_ONLY_TRIGGER = "ntm_append_only"
APPEND_ONLY_FUNCTION_SQL = (
    f"CREATE OR REPLACE FUNCTION {APPEND_ONLY_TRIGGER}() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege', "
    "MESSAGE = TG_OP || ' on ' || TG_TABLE_NAME || ' refused: the audit trail is append-only'; END $$")


def append_only_trigger_sql(table: str) -> str:
    return (f"CREATE TRIGGER {APPEND_ONLY_TRIGGER} BEFORE UPDATE OR DELETE OR TRUNCATE ON {table} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {APPEND_ONLY_TRIGGER}()")


def install_append_only(metadata: MetaData) -> None:
    """The function and triggers, made with the tables by create_all (PostgreSQL only)."""
    event.listen(metadata, "before_create", DDL(APPEND_ONLY_FUNCTION_SQL).execute_if(dialect="postgresql"))
    for table in APPEND_ONLY_TABLES:
        event.listen(metadata.tables[table], "after_create",
                     DDL(append_only_trigger_sql(table)).execute_if(dialect="postgresql"))
