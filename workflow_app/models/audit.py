"""Audit records: every change to a dossier, hash-chained per dossier."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
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
