"""Permissions as predicates on the domain, user first. Views, templates, the
API and the services all ask these same questions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import false, or_, select

from .clock import local_today
from .extensions import db
from .models import AuditRecord, Dossier, RoleAssignment, Unit, UnitLink, User
from .workflow.definitions import Actor


@dataclass(frozen=True)
class Capacity:
    """A role held at a unit that qualifies the user for one act."""

    role: str
    unit: Unit
    assignment: RoleAssignment


def _live(unit: Unit, today: date | None = None) -> bool:
    return unit.live_on(today or local_today())  # Vietnam's day, not the server's


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
    return [ra for ra in user.roles if not ra.unit.live_on(day) and ra.unit.contains(applicant)]


# The one scope rule: a role at a unit reads every dossier whose applicant lay in
# that unit's subtree in some period (a village moved by a reform is read by its
# old district for the old years and by its new commune for its whole history).

def can_view(user: User, dossier: Dossier) -> bool:
    return in_scope(user, dossier.unit)


def in_scope(user: User, unit: Unit) -> bool:
    return user.active and any(ra.unit.contains(unit) for ra in user.roles)


def visible_unit_paths(user: User) -> list[str]:
    """Path prefixes of every subtree the user may read, in every period."""
    return sorted({p for ra in user.roles for p in ra.unit.all_paths()}) if user.active else []


def scope_clause(unit_id_column, user: User):
    """SQL for "this unit id is in the user's scope" (lists, counts, exports)."""
    return unit_ids_under(unit_id_column, visible_unit_paths(user))


def unit_ids_under(unit_id_column, paths: list[str]):
    if not paths:
        return false()
    return unit_id_column.in_(
        select(UnitLink.unit_id).where(or_(*[UnitLink.path.startswith(p, autoescape=True) for p in paths])))


def has_acted(dossier: Dossier, user: User, events: tuple[str, ...]) -> bool:
    # Separation of duties: records of this dossier's own history.
    if not events:
        return False
    stmt = db.select(AuditRecord.id).where(
        AuditRecord.dossier_id == dossier.id, AuditRecord.actor_id == user.id,
        AuditRecord.action.in_(events)).limit(1)
    return db.session.execute(stmt).first() is not None


def is_admin(user: User) -> bool:
    return user.active and any(ra.role == "admin" for ra in user.roles)
