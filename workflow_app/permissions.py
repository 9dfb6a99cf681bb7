"""Permissions as predicates on the domain, user first. Views, templates, the
API and the services all ask these same questions."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, any_, false, func, or_, select
from sqlalchemy.orm import aliased

from .clock import local_today
from .extensions import db, on_postgresql
from .models import AuditRecord, Dossier, RoleAssignment, Unit, UnitLink, User
from .workflow.definitions import Actor


@dataclass(frozen=True)
class Capacity:
    """A role held at a unit that qualifies the user for one act."""

    role: str
    unit: Unit
    assignment: RoleAssignment


def capacities(user: User, applicant: Unit, actors: tuple[Actor, ...], day: date | None = None) -> list[Capacity]:
    """Role assignments of `user` that match one of `actors` (role@level) at a unit
    alive on `day` (today) whose subtree holds the applicant on that day."""
    if not user.active:
        return []
    day = day or local_today()
    found = []
    for ra in user.roles:
        for actor in actors:
            if ra.role == actor.role and ra.unit.level == actor.level and ra.unit.live_on(day) \
                    and ra.unit.contains_on(applicant, day):
                found.append(Capacity(ra.role, ra.unit, ra))
    return found


def ended_roles(user: User, applicant: Unit, day: date | None = None) -> list[RoleAssignment]:
    """The user's roles over the applicant at units that no longer exist on `day`:
    why someone who acted yesterday may not act today."""
    day = day or local_today()
    return [ra for ra in user.roles if not ra.unit.live_on(day) and in_scope(Scope.of_unit(ra.unit), applicant)]


# ----------------------------------------------------------------------------- the scope rule
# The one reading rule: a role at a unit reads every unit, and every dossier, whose
# applicant lay in that unit's subtree in some period, for every year (a village moved
# by a reform is read by its old district and old commune, and by its new commune, for
# its whole history: reading never filters by era or campaign year). Acting is another
# rule (`capacities`: on a day, at a live unit). `in_scope` is the rule in Python and
# `scope_clause` the same rule in SQL; both read the `unit_links` rows only.

@dataclass(frozen=True)
class Scope:
    """Path prefixes of the subtrees read, in every period (unit_links rows, parent and successor)."""

    paths: tuple[str, ...]

    @classmethod
    def of_unit(cls, unit: Unit) -> Scope:
        """This unit's subtree, in every period."""
        return cls(tuple(sorted({link.path for link in unit.links})))

    @classmethod
    def of_units(cls, units) -> Scope:
        return cls(tuple(sorted({link.path for unit in units for link in unit.links})))


def scope_of(user: User, *, progress: bool = False) -> Scope:
    """The user's reading scope; progress=True keeps the roles above village level
    (the dashboard and the monthly report: village heads follow their own dossiers)."""
    if not user.active:
        return Scope(())
    return Scope.of_units({ra.unit for ra in user.roles if not (progress and ra.unit.level == "village")})


def _scope(who: User | Scope) -> Scope:
    return who if isinstance(who, Scope) else scope_of(who)


def in_scope(who: User | Scope, unit: Unit) -> bool:
    """THE predicate: some place the unit has held lies under some subtree of the scope."""
    paths = _scope(who).paths
    return any(link.path.startswith(p) for link in unit.links for p in paths)


def scope_clause(unit_id_column, who: User | Scope, *, probe: bool = False) -> ColumnElement[bool]:
    """THE rule in SQL: "this unit id is in scope" (lists, counts, exports). A subquery
    on the scope's paths, never a bound list of ids. `probe=True`, for a statement that
    should look up an index on `unit_id_column` once per unit in scope rather than hash
    the units against a scan (the few waiting dossiers of a province's ~3k units, the
    links of its units): on PostgreSQL the same subquery as `= ANY(ARRAY(...))`, an
    array the planner cannot size, so it probes; elsewhere the plain clause."""
    paths = _scope(who).paths
    if not paths:
        return false()
    units = select(UnitLink.unit_id).where(under(UnitLink.path, *paths))
    if probe and on_postgresql():
        return unit_id_column == any_(func.array(units.scalar_subquery()))
    return unit_id_column.in_(units)


def under(path_column, *paths: str) -> ColumnElement[bool]:
    """SQL: the path lies in one of the subtrees (`path LIKE '<prefix>%'`, an index range
    on PostgreSQL with ix_unit_links_path_prefix)."""
    return or_(*[path_column.startswith(p, autoescape=True) for p in paths])


def can_view(user: User, dossier: Dossier) -> bool:
    return in_scope(user, dossier.unit)


def live_on(unit, day: date) -> ColumnElement[bool]:
    """SQL: `unit` (the Unit entity, a UnitLink, or an alias of either) exists on `day`."""
    return and_(or_(unit.valid_from.is_(None), unit.valid_from <= day),
                or_(unit.valid_to.is_(None), unit.valid_to >= day))


def meets_clause(unit_id_column, who: User | Scope, day: date | None = None) -> ColumnElement[bool]:
    """SQL for "meets": the unit's subtree holds a unit in scope (the unit is in scope, or
    it lies above something in scope). Not a second reading rule: it decides only what
    is published above a reader (an issuer's register, a district's own figure) and
    which communes a list offers. Without `day`, in any period (a reform's moved village
    makes its old district meet its new commune); with `day`, in the tree of that day."""
    paths = _scope(who).paths
    if not paths:
        return false()

    def places(link) -> list:
        """The links that are places on `day` (every link without a day)."""
        return [link.relation == "parent", live_on(link, day)] if day is not None else []

    # A unit meets the scope when one of its places begins a place of a unit in scope.
    # Places inside the scope's subtrees: their units are in scope and meet it (a place
    # begins itself). Above them: the units up the chain from where it leaves the
    # subtrees -- the scope's own places, and the places that units in scope hold
    # outside them (a moved village's other period). Those few links are read first, so
    # the walk up starts from rows the planner can count (estimated from the subtree's
    # size, it reads every link at each step).
    inside = select(UnitLink.unit_id).where(under(UnitLink.path, *paths), *places(UnitLink))
    edge = aliased(UnitLink)
    edges = list(db.session.execute(
        select(edge.id).where(scope_clause(edge.unit_id, Scope(paths), probe=True),
                              or_(edge.path.in_(paths), ~under(edge.path, *paths)), *places(edge))).scalars())
    start = aliased(UnitLink)
    chain = (select(start.unit_id, start.parent_id, start.path).where(start.id.in_(edges))
             .cte("meets_chain", recursive=True))
    up = aliased(UnitLink)
    step = (select(up.unit_id, up.parent_id, up.path).join(chain, up.unit_id == chain.c.parent_id)
            .where(func.substr(chain.c.path, 1, func.length(up.path)) == up.path, *places(up)))
    chain = chain.union(step)
    return unit_id_column.in_(inside.union(select(chain.c.unit_id)))


def meets(who: User | Scope, unit: Unit, day: date | None = None) -> bool:
    """`meets_clause` for one unit (the register's readers, a district's figure)."""
    stmt = select(Unit.id).where(Unit.id == unit.id, meets_clause(Unit.id, who, day))
    return db.session.execute(stmt).first() is not None


def has_acted(dossier: Dossier, user: User, events: Iterable[str]) -> frozenset[str]:
    """Separation of duties: which of `events` the user has fired on this dossier (its
    own history), in one statement however many events are asked; empty, so false,
    when none."""
    names = sorted(set(events))
    if not names:
        return frozenset()
    stmt = db.select(AuditRecord.action).distinct().where(
        AuditRecord.dossier_id == dossier.id, AuditRecord.actor_id == user.id, AuditRecord.action.in_(names))
    return frozenset(db.session.execute(stmt).scalars())


def is_admin(user: User) -> bool:
    return user.active and any(ra.role == "admin" for ra in user.roles)
