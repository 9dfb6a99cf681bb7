"""Figures of a past year in the tree of that year: the reference day of a year or
a month, the parent link that covers it, and the progress pages' scope.

Reports group applicants by where they sat on the reference day (unit_links), not
by `units.parent_id`, which holds only the latest place: a 2024 report shows the
communes of 2024 even after a reform moved the villages. Every clause here is a
subquery, never a bound list of ids (a province may have tens of thousands of
villages)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, or_

from ...extensions import db
from ...models import Dossier, Unit, UnitLink, User
from ...permissions import unit_ids_under

GROUP_LEVELS = ("commune",)  # rows of the per-commune tables: the parents of the applicant villages


def year_day(year: int, today: date) -> date:
    """The day whose tree a year's figures use: 31/12, or today while the year runs."""
    return min(date(year, 12, 31), today)


def month_day(last_day: date, today: date) -> date:
    """The day whose tree a month's figures use: its last day, or today while it runs."""
    return min(last_day, today)


def live_on(unit, day: date):
    """SQL: `unit` (the Unit entity or an alias) exists on `day`."""
    return and_(or_(unit.valid_from.is_(None), unit.valid_from <= day),
                or_(unit.valid_to.is_(None), unit.valid_to >= day))


def place_on(link, unit_id_column, day: date):
    """Join condition: `link` (a UnitLink alias) is the parent link of `unit_id_column` on `day`."""
    return and_(link.unit_id == unit_id_column, link.relation == "parent", live_on(link, day))


def scope_paths(user: User) -> list[str]:
    """Subtrees the progress figures cover, in every period: the user's roles above
    village level (village heads follow their own dossiers, not the figures)."""
    if not user.active:
        return []
    return sorted({p for ra in user.roles if ra.unit.level != "village" for p in ra.unit.all_paths()})


def in_scope(unit_id_column, paths: list[str]):
    """The one scope rule (permissions.unit_ids_under) over the progress subtrees."""
    return unit_ids_under(unit_id_column, paths)


def group_ids(paths: list[str], day: date, applicant_level: str, levels=GROUP_LEVELS):
    """Select of the group units (communes) of `day` a report shows: those in scope that
    exist on the day, and the day's parents of the applicants in scope (a role at an
    abolished district reads its villages under the communes they belong to now)."""
    link = db.aliased(UnitLink)
    applicant = db.aliased(Unit)
    parents = (db.select(link.parent_id).join(applicant, applicant.id == link.unit_id)
               .where(link.relation == "parent", live_on(link, day), applicant.level == applicant_level,
                      in_scope(link.unit_id, paths)))
    return db.select(Unit.id).where(Unit.level.in_(levels), live_on(Unit, day),
                                    or_(in_scope(Unit.id, paths), Unit.id.in_(parents)))


def units_on(paths: list[str], day: date, level: str):
    """Select of the units of `level` in scope that exist on `day` (towns, villages)."""
    return db.select(Unit.id).where(Unit.level == level, live_on(Unit, day), in_scope(Unit.id, paths))


def meets_on(unit: Unit, paths: list[str], day: date) -> bool:
    """Whether `unit`'s subtree on `day` holds something in scope, or the scope holds the
    unit (a district's published figure is shown to the officials of its communes)."""
    here = unit.path_on(day)
    if here is None:
        return False
    if any(here.startswith(p) or p.startswith(here) for p in paths):
        return True
    stmt = (db.select(UnitLink.id).where(UnitLink.relation == "parent", live_on(UnitLink, day),
                                         UnitLink.path.startswith(here, autoescape=True),
                                         in_scope(UnitLink.unit_id, paths)).limit(1))
    return db.session.execute(stmt).first() is not None


def years_with_data(paths: list[str], kinds: list[str] | None, this_year: int) -> list[int]:
    """Campaign years with a dossier (of `kinds`, or of any kind) in scope, and this
    year, newest first."""
    stmt = db.select(Dossier.year).where(in_scope(Dossier.unit_id, paths)).distinct()
    if kinds is not None:
        stmt = stmt.where(Dossier.kind.in_(kinds))
    years = set(db.session.execute(stmt).scalars())
    years.add(this_year)
    return sorted(years, reverse=True)
