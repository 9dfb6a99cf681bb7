"""Figures of a past year in the tree of that year: the reference day of a year or
a month, the parent link that covers it, and the progress pages' groups, over a
reading scope (permissions.Scope; `scope_of(user, progress=True)`).

Reports group applicants by where they sat on the reference day (unit_links), not
by `units.parent_id`, which holds only the latest place: a 2024 report shows the
communes of 2024 even after a reform moved the villages. Every clause here is a
subquery, never a bound list of ids (a province may have tens of thousands of
villages). Every scope clause here probes (`scope_clause(..., probe=True)`): each
statement reads the few rows of each unit in scope by an index on the unit id (a
province's ~3k units, one probe each) rather than hash the units against a scan of
every link or unit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func

from ...extensions import db
from ...models import Dossier, Unit, UnitLink
from ...permissions import Scope, live_on, scope_clause

GROUP_LEVELS = ("commune",)  # rows of the per-commune tables: the parents of the applicant villages
# Aliases built once: an alias made per call costs SQLAlchemy a fresh adaptation of
# every column it touches (a few ms a statement).
_LINK, _APPLICANT = db.aliased(UnitLink, name="place"), db.aliased(Unit, name="applicant")


def year_day(year: int, today: date) -> date:
    """The day whose tree a year's figures use: 31/12, or today while the year runs."""
    return min(date(year, 12, 31), today)


def month_day(last_day: date, today: date) -> date:
    """The day whose tree a month's figures use: its last day, or today while it runs."""
    return min(last_day, today)


def place_on(link, unit_id_column, day: date):
    """Join condition: `link` (a UnitLink alias) is the parent link of `unit_id_column` on `day`."""
    return and_(link.unit_id == unit_id_column, link.relation == "parent", live_on(link, day))


def group_ids(scope: Scope, day: date, applicant_level: str, levels=GROUP_LEVELS):
    """Select of the group units (communes) of `day` a report shows: those in scope that
    exist on the day, and the day's parents of the applicants in scope (a role at an
    abolished district reads its villages under the communes they belong to now). A
    UNION of the two, each with its own index path (an OR of the two made the planner
    scan every unit and test both subqueries on each)."""
    link, applicant = _LINK, _APPLICANT
    parents = (db.select(link.parent_id).join(applicant, applicant.id == link.unit_id)
               .where(link.relation == "parent", live_on(link, day), applicant.level == applicant_level,
                      scope_clause(link.unit_id, scope, probe=True)))
    own = db.select(Unit.id).where(Unit.level.in_(levels), live_on(Unit, day),
                                   scope_clause(Unit.id, scope, probe=True))
    above = db.select(Unit.id).where(Unit.level.in_(levels), live_on(Unit, day), Unit.id.in_(parents))
    return db.union(own, above)


@dataclass(frozen=True)
class Group:
    """A row of a per-group table: a commune (or whatever stands above the applicants
    on the day) with the number of applicant units in scope under it on that day."""

    id: int
    code: str
    name: str
    members: int


def groups_on(scope: Scope, day: date, applicant_level: str) -> list[Group]:
    """The rows of a report's per-group table, by name: the day's parents of the
    applicants (units of `applicant_level`) in scope, each with its number of those
    applicants, and the units in scope that exist on the day at a level those parents
    have (an old commune read through its successor, with no applicant left in scope:
    0). Two statements: the parents with their counts, then the rows' names, which
    bind the parents' ids: one per row shown (a province's communes), a bounded list
    unlike the applicants or their dossiers."""
    link, applicant = _LINK, _APPLICANT
    members = dict(db.session.execute(
        db.select(link.parent_id, func.count(link.unit_id)).join(applicant, applicant.id == link.unit_id)
        .where(scope_clause(link.unit_id, scope, probe=True), link.relation == "parent", live_on(link, day),
               applicant.level == applicant_level, link.parent_id.is_not(None))
        .group_by(link.parent_id)).all())
    if not members:
        return []
    shown = db.select(Unit.id, Unit.level).where(Unit.id.in_(list(members))).cte("shown")  # the ids bound once
    parents = db.select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(db.select(shown.c.id)), live_on(Unit, day))
    others = (db.select(Unit.id, Unit.code, Unit.name)
              .where(scope_clause(Unit.id, scope, probe=True), Unit.level.in_(db.select(shown.c.level)),
                     live_on(Unit, day), Unit.id.not_in(db.select(shown.c.id))))
    rows = db.union(parents, others).subquery()
    return [Group(i, code, name, members.get(i, 0))
            for i, code, name in db.session.execute(db.select(rows).order_by(rows.c.name, rows.c.id))]


def units_on(scope: Scope, day: date, level: str):
    """Select of the units of `level` in scope that exist on `day` (towns, villages)."""
    return db.select(Unit.id).where(Unit.level == level, live_on(Unit, day), scope_clause(Unit.id, scope, probe=True))


def years_with_data(scope: Scope, kinds: list[str] | None, this_year: int) -> list[int]:
    """Campaign years with a dossier (of `kinds`, or of any kind) in scope, and this
    year, newest first."""
    stmt = db.select(Dossier.year).where(scope_clause(Dossier.unit_id, scope, probe=True)).distinct()
    if kinds is not None:
        stmt = stmt.where(Dossier.kind.in_(kinds))
    years = set(db.session.execute(stmt).scalars())
    years.add(this_year)
    return sorted(years, reverse=True)
