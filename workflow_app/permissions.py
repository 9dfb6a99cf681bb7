"""Permissions as predicates on the domain, user first. Views, templates, the
API and the services all ask these same questions."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .clock import local_today
from .models import Dossier, RoleAssignment, Unit, User
from .workflow.definitions import Actor


@dataclass(frozen=True)
class Capacity:
    """A role held at a unit that qualifies the user for one act."""

    role: str
    unit: Unit
    assignment: RoleAssignment


def _live(unit: Unit, today: date | None = None) -> bool:
    today = today or local_today()  # Vietnam's day, not the server's
    return (unit.valid_from is None or unit.valid_from <= today) and (
        unit.valid_to is None or unit.valid_to >= today
    )


def capacities(user: User, applicant: Unit, actors: tuple[Actor, ...]) -> list[Capacity]:
    """Role assignments of `user` that match one of `actors` (role@level) at a
    live unit whose subtree contains the applicant."""
    if not user.active:
        return []
    found = []
    for ra in user.roles:
        for actor in actors:
            if ra.role == actor.role and ra.unit.level == actor.level and _live(ra.unit) \
                    and ra.unit.contains(applicant):
                found.append(Capacity(ra.role, ra.unit, ra))
    return found


def can_view(user: User, dossier: Dossier) -> bool:
    return user.active and any(ra.unit.contains(dossier.unit) for ra in user.roles)


def visible_unit_paths(user: User) -> list[str]:
    """Path prefixes of every subtree the user may read (for list queries)."""
    return [ra.unit.path for ra in user.roles] if user.active else []


def has_acted(dossier: Dossier, user: User, events: tuple[str, ...]) -> bool:
    # Separation of duties: records of this dossier's own history.
    from .models import AuditRecord
    from .extensions import db

    if not events:
        return False
    stmt = db.select(AuditRecord.id).where(
        AuditRecord.dossier_id == dossier.id, AuditRecord.actor_id == user.id,
        AuditRecord.action.in_(events)).limit(1)
    return db.session.execute(stmt).first() is not None


def is_admin(user: User) -> bool:
    return user.active and any(ra.role == "admin" for ra in user.roles)
