"""Issued decisions and the gap-free counters that number them."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, ForeignKey, String, Table, Text, UniqueConstraint
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
    Column("dossier_id", ForeignKey("dossiers.id"), primary_key=True),
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

    issuer: Mapped[Unit] = relationship(lazy="joined")
    signer: Mapped[User] = relationship()
    dossiers: Mapped[list[Dossier]] = relationship(secondary=decision_dossiers, lazy="selectin")
