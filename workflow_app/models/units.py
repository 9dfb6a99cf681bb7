"""Administrative units as a tree that changes on dates.

A unit keeps its identity (code) for life; where it sits is a list of links, each
valid for a period: a village moved by a reform has one link to its old commune up
to the day before the reform and one to its new commune from that day. A unit
abolished by a merger also gets a `successor` link to the unit that inherits its
history, so the successor's officials read what the old unit read.

`units.parent_id` and `units.path` repeat the unit's latest parent link: the tree
as it stands after every reform loaded."""
from __future__ import annotations

from datetime import date

from sqlalchemy import DDL, ForeignKey, Index, String, event, select
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from ..extensions import db
from ..workflow.vocabulary import LEVELS  # noqa: F401  (re-exported by models)

RELATIONS = ("parent", "successor")


class Reform(db.Model):
    """An administrative reform loaded from a file (reference_data/reforms/)."""

    __tablename__ = "reforms"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    effective: Mapped[date]
    legal_basis: Mapped[str] = mapped_column(String(500))


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
    # The reform that abolished the unit (its valid_to is the day before it took effect).
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("reforms.id"))

    parent: Mapped[Unit | None] = relationship(remote_side=[id])
    ended_by: Mapped[Reform | None] = relationship()
    links: Mapped[list[UnitLink]] = relationship(
        foreign_keys="UnitLink.unit_id", back_populates="unit", lazy="selectin",
        order_by="UnitLink.id", cascade="all, delete-orphan")

    def live_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or self.valid_to >= day)

    def link_on(self, day: date) -> UnitLink | None:
        return next((link for link in self.links if link.relation == "parent" and link.covers(day)), None)

    def path_on(self, day: date) -> str | None:
        """Where the unit sat on that day; None outside its life."""
        link = self.link_on(day)
        return link.path if link else None

    def parent_on(self, day: date) -> Unit | None:
        link = self.link_on(day)
        return link.parent if link else None

    def contains_on(self, other: Unit, day: date) -> bool:
        mine, theirs = self.path_on(day), other.path_on(day)
        return mine is not None and theirs is not None and theirs.startswith(mine)

    def ancestors(self) -> list[Unit]:
        chain, unit = [], self.parent
        while unit is not None:
            chain.append(unit)
            unit = unit.parent
        return chain

    def ancestors_on(self, day: date) -> list[Unit]:
        """The units above this one on `day`, nearest first: the codes of its path on that
        day, read in one statement. (Walking `parent_on` up lazy-loads each ancestor's
        links along an ever longer loader path, for which SQLAlchemy stops caching the
        statement: compiled again on every request.)"""
        path = self.path_on(day)
        codes = path.strip("/").split("/")[:-1] if path else []
        session = object_session(self)
        if not codes or session is None:
            return []
        found = {u.code: u for u in session.execute(select(Unit).where(Unit.code.in_(codes))).scalars()}
        return [found[code] for code in reversed(codes) if code in found]

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


class UnitLink(db.Model):
    """One period of a unit's place: under `parent` (relation "parent"), or, for an
    abolished unit, the unit that inherits its history (relation "successor")."""

    __tablename__ = "unit_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"), index=True)
    relation: Mapped[str] = mapped_column(String(12), default="parent")
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    path: Mapped[str] = mapped_column(String(500), index=True)
    reform_id: Mapped[int | None] = mapped_column(ForeignKey("reforms.id"))

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id], back_populates="links")
    parent: Mapped[Unit | None] = relationship(foreign_keys=[parent_id], lazy="joined")
    reform: Mapped[Reform | None] = relationship()

    def covers(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or self.valid_to >= day)

    def __repr__(self) -> str:
        return f"<UnitLink {self.unit_id} {self.relation} {self.path} {self.valid_from}..{self.valid_to}>"


# The search's "contains" on PostgreSQL (pg_trgm, migration 9e3b5c7d1f20); on SQLite a plain index.
# create_all (tests) makes the extension first, as the migration does.
event.listen(Unit.__table__, "before_create",
             DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"))
Index("ix_units_name_search", Unit.name, postgresql_using="gin",
      postgresql_ops={"name": "gin_trgm_ops"})
# The reading scope's "path begins with" (permissions.scope_clause, LIKE 'prefix%') as an index
# range on PostgreSQL, whatever the collation (migration 7a1d0c3e5b21); on SQLite a plain index.
Index("ix_unit_links_path_prefix", UnitLink.path, postgresql_ops={"path": "varchar_pattern_ops"})
