"""Administrative units as a tree with validity dates (reforms change the hierarchy)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db

LEVELS = ("province", "district", "commune", "town", "village")


class Unit(db.Model):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    # "/lai-chau/tam-duong/na-tam/" — a subtree test is a prefix test, in SQL too.
    path: Mapped[str] = mapped_column(String(500), index=True)
    agency_code: Mapped[str | None] = mapped_column(String(16))
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]

    parent: Mapped["Unit | None"] = relationship(remote_side=[id])

    def contains(self, other: "Unit") -> bool:
        return other.path.startswith(self.path)

    def ancestors(self) -> list["Unit"]:
        chain, unit = [], self.parent
        while unit is not None:
            chain.append(unit)
            unit = unit.parent
        return chain

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"
