"""Issued decisions and the gap-free counters that number them."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .dossiers import Dossier
from .times import utcnow
from .units import Unit
from .users import User

decision_dossiers = Table(
    "decision_dossiers",
    db.metadata,
    Column("decision_id", ForeignKey("decisions.id"), primary_key=True),
    # The primary key leads with decision_id; finding a dossier's decisions (every
    # download, every dossier page) needs its own index, or it reads the whole table.
    Column("dossier_id", ForeignKey("dossiers.id"), primary_key=True, index=True),
)


class Counter(db.Model):
    """One row per numbering scope (issuer-year, dossier-code day), locked by
    its own UPDATE ... RETURNING: gap-free, unlike database sequences."""

    __tablename__ = "counters"

    scope: Mapped[str] = mapped_column(String(120), primary_key=True)
    value: Mapped[int] = mapped_column(default=0)


class Decision(db.Model):
    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("issuer_id", "year", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    year: Mapped[int]
    number: Mapped[int]
    symbol: Mapped[str] = mapped_column(String(40))
    type: Mapped[str] = mapped_column(String(20), default="recognition")
    issued_on: Mapped[date]
    signed_at: Mapped[datetime] = mapped_column(default=utcnow)
    signer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(Text)
    pdf_key: Mapped[str] = mapped_column(String(200))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    verify_token: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="valid")
    # A revocation decision names the decision it revokes (and its dossiers are
    # the ones whose recognition ends); the reason is the approver's comment.
    revokes_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), index=True)
    reason: Mapped[str | None] = mapped_column(Text)

    issuer: Mapped[Unit] = relationship(lazy="joined")
    signer: Mapped[User] = relationship()
    dossiers: Mapped[list[Dossier]] = relationship(secondary=decision_dossiers, lazy="selectin")
    revokes: Mapped["Decision | None"] = relationship(remote_side=[id], back_populates="revocations")
    revocations: Mapped[list["Decision"]] = relationship(back_populates="revokes", order_by="Decision.id")


class Document(db.Model):
    """A numbered paper of a dossier other than a decision: the receipt slip at
    submission, the appraisal report at appraisal. The row (number, date, who)
    is made in the event's transaction; the PDF is rendered once, on first
    download, from facts that no longer change, and then kept."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("dossier_id", "kind", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))  # "receipt" | "appraisal_report"
    round: Mapped[int]
    number: Mapped[int | None]
    symbol: Mapped[str | None] = mapped_column(String(40))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    issuer_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    pdf_key: Mapped[str | None] = mapped_column(String(200))
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))

    dossier: Mapped[Dossier] = relationship()
    issued_by: Mapped[User] = relationship()
    issuer: Mapped[Unit] = relationship()


class VerificationCheck(db.Model):
    """One row per public verification (page view or file check): who looked,
    at what, with which outcome. Written outside the dossier audit chain."""

    __tablename__ = "verification_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("decisions.id"), index=True)
    token: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(10))  # "view" | "upload"
    result: Mapped[str] = mapped_column(String(20))  # found, not_found, match, mismatch, refused
    remote_addr: Mapped[str | None] = mapped_column(String(64))
