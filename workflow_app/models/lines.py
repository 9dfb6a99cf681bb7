"""A dossier's table of lines (funding items, works needing cement), per round:
a new round copies the lines, so what was accepted before stays readable."""
from __future__ import annotations

from sqlalchemy import JSON, Float, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class DossierLine(db.Model):
    __tablename__ = "dossier_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    dossier_id: Mapped[int] = mapped_column(ForeignKey("dossiers.id"))
    round: Mapped[int]
    # The order lines were added in (ids survive the copy to a new round as `origin_id`).
    position: Mapped[int]
    # The line as the applicant entered it, by the definition's column names:
    # integers and numbers as JSON numbers, dates as ISO text, units by code.
    values: Mapped[dict] = mapped_column(JSON, default=dict)
    # What the receiving level granted of the definition's `grants` column; None
    # until an event with `grants` fires.
    granted: Mapped[float | None] = mapped_column(Float)
    # The line of the previous round this one copies, so a grant or an edit can be
    # traced across versions.
    origin_id: Mapped[int | None] = mapped_column(ForeignKey("dossier_lines.id"))


Index("ix_dossier_lines_dossier_round", DossierLine.dossier_id, DossierLine.round, DossierLine.position)
