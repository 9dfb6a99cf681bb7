"""The dossier aggregate: criteria entries per round and evidence attachments."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..clock import local_date
from ..extensions import db
from .audit import GENESIS
from .lines import DossierLine
from .times import utcnow
from .units import Unit
from .users import User


class Dossier(db.Model):
    __tablename__ = "dossiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    definition_version: Mapped[int]
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    year: Mapped[int] = mapped_column(index=True)
    state: Mapped[str] = mapped_column(String(30), index=True)
    # Compare-and-set: every UPDATE says WHERE version = <read version>; a
    # concurrent writer finds 0 rows and gets a 409 (see services.core.common).
    version: Mapped[int] = mapped_column(default=1)
    round: Mapped[int] = mapped_column(default=1)
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    # "<kind>:<unit id>:<year>" while the dossier is open, NULL once closed:
    # a unique index makes "one open dossier per kind, applicant, year" race-free.
    open_key: Mapped[str | None] = mapped_column(String(120), unique=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The head of the dossier's audit chain: how many records it has and the last
    # one's hash, set only by services.core.common.record in the transaction that appends.
    # Records deleted at the end of the chain no longer reach it (services/core/audit.py).
    audit_count: Mapped[int] = mapped_column(default=0, server_default="0")
    audit_head: Mapped[str] = mapped_column(String(64), default=GENESIS, server_default=GENESIS)

    unit: Mapped[Unit] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship()
    criteria: Mapped[list[CriterionEntry]] = relationship(
        back_populates="dossier", cascade="all, delete-orphan",
        order_by="(CriterionEntry.round, CriterionEntry.position)",
    )
    attachments: Mapped[list[Attachment]] = relationship(
        back_populates="dossier", cascade="all, delete-orphan", order_by="Attachment.id"
    )
    # Lines of every round (definitions with `lines`); current_lines() gives this round's.
    lines: Mapped[list[DossierLine]] = relationship(
        cascade="all, delete-orphan", order_by="(DossierLine.round, DossierLine.position)",
    )

    __mapper_args__ = {"version_id_col": version}

    @property
    def applicant_parent(self) -> Unit | None:
        """The applicant's parent when the dossier last changed: a 2024 dossier names
        its 2024 commune, not the one a later reform moved the village to."""
        return self.unit.parent_on(local_date(self.updated_at)) if self.updated_at else self.unit.parent

    def current_criteria(self) -> list[CriterionEntry]:
        return [c for c in self.criteria if c.round == self.round]

    def current_lines(self) -> list[DossierLine]:
        return [ln for ln in self.lines if ln.round == self.round]

    def criterion(self, code: str) -> CriterionEntry | None:
        return next((c for c in self.current_criteria() if c.code == code), None)

    @property
    def evidence(self) -> list[Attachment]:
        """The files that count as evidence: every attachment not removed
        (`attachments` keeps the removed ones too, for the history)."""
        return [a for a in self.attachments if a.removed_at is None]

    def evidence_for(self, code: str) -> list[Attachment]:
        return [a for a in self.evidence if a.criterion_code == code]

    def removed_evidence_for(self, code: str) -> list[Attachment]:
        return [a for a in self.attachments if a.criterion_code == code and a.removed_at is not None]

    def __repr__(self) -> str:
        return f"<Dossier {self.code} {self.state} v{self.version}>"


class CriterionEntry(db.Model):
    __tablename__ = "criterion_entries"
    __table_args__ = (UniqueConstraint("dossier_id", "round", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    round: Mapped[int]
    code: Mapped[str] = mapped_column(String(20))
    position: Mapped[int]
    self_assessment: Mapped[str | None] = mapped_column(String(10))
    note: Mapped[str | None] = mapped_column(Text)
    verdict: Mapped[str | None] = mapped_column(String(10))
    verdict_note: Mapped[str | None] = mapped_column(Text)
    appraiser_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    appraised_at: Mapped[datetime | None]

    dossier: Mapped[Dossier] = relationship(back_populates="criteria")
    appraiser: Mapped[User | None] = relationship()


class Attachment(db.Model):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    criterion_code: Mapped[str | None] = mapped_column(String(20))
    round: Mapped[int]
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int]
    mime: Mapped[str] = mapped_column(String(100))
    sha256: Mapped[str] = mapped_column(String(64))
    # Bytes live under STORAGE_DIR, content-addressed, never under static/.
    storage_key: Mapped[str] = mapped_column(String(200))
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Removal is soft: the row and the stored bytes stay for the history; a removed
    # file no longer counts as evidence.
    removed_at: Mapped[datetime | None]
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    dossier: Mapped[Dossier] = relationship(back_populates="attachments")
    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])
    removed_by: Mapped[User | None] = relationship(foreign_keys=[removed_by_id])


# The search's "contains" on PostgreSQL (pg_trgm, migration 9e3b5c7d1f20); on SQLite a plain index.
Index("ix_dossiers_code_search", Dossier.code, postgresql_using="gin",
      postgresql_ops={"code": "gin_trgm_ops"})
# A scope's dossiers by unit, with the state (the work queue's states) and the year (the
# years offered) in the index: migration 8c2e4f6a0d13.
Index("ix_dossiers_unit_state_year", Dossier.unit_id, Dossier.state, Dossier.year)
# A year's dossiers of a kind in a scope, read from the index alone on PostgreSQL (the
# dashboard's latest dossier per applicant, the years offered): migration c9e1a3b5d7f2.
Index("ix_dossiers_unit_kind_year", Dossier.unit_id, Dossier.kind, Dossier.year,
      postgresql_include=["id", "state", "round"])
