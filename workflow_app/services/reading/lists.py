"""Read-side queries shared by the API and the pages: the dossier list with
filters and search, and the work queue of what needs a user's action now."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ...extensions import db
from ...models import Dossier, Unit, UnitLink, User
from ...permissions import Scope, capacities, scope_clause
from ..core.campaigns import FilingStatus, filing_status
from ..core.clocks import step_clocks
from ..core.common import definition_of, engine
from ..core.events import allowed_events

PER_PAGE = 20


@dataclass
class Page:
    items: list
    page: int
    pages: int
    total: int


def visible_dossiers(user: User):
    """A select of the dossiers in the user's subtrees (nothing for no roles)."""
    stmt = db.select(Dossier).join(Unit, Dossier.unit_id == Unit.id)
    return stmt.where(scope_clause(Dossier.unit_id, user))


def search_dossiers(user: User, *, kind: str | None = None, state: str | None = None,
                    unit: Unit | None = None, year: int | None = None, q: str | None = None,
                    page: int = 1, per_page: int = PER_PAGE) -> Page:
    stmt = visible_dossiers(user)
    if kind:
        stmt = stmt.where(Dossier.kind == kind)
    if state:
        stmt = stmt.where(Dossier.state == state)
    if year:
        stmt = stmt.where(Dossier.year == year)
    if unit is not None:
        stmt = stmt.where(scope_clause(Dossier.unit_id, Scope.of_unit(unit)))
    if q:
        # By dossier code or unit name, case-insensitive; commune names match their
        # villages, in every period (an old commune's name finds its 2024 villages).
        like = f"%{q.strip().lower()}%"
        parent = db.aliased(Unit)
        under_named = (db.select(UnitLink.unit_id).join(parent, UnitLink.parent_id == parent.id)
                       .where(UnitLink.relation == "parent", db.func.lower(parent.name).like(like)))
        stmt = stmt.where(db.or_(
            db.func.lower(Dossier.code).like(like), db.func.lower(Unit.name).like(like),
            Dossier.unit_id.in_(under_named)))
    total = db.session.execute(db.select(db.func.count()).select_from(stmt.subquery())).scalar_one()
    pages = max(1, math.ceil(total / per_page))
    rows = db.session.execute(stmt.order_by(Dossier.id.desc()).limit(per_page).offset((page - 1) * per_page)).scalars()
    return Page(list(rows), page, pages, total)


@dataclass
class QueueItem:
    dossier: Dossier
    actions: list[str]  # the positive steps (event and action names) the user can take now
    waiting_since: object
    clock: object = None  # services.core.clocks.StepClock of the dossier's state, or None
    secondary: list[str] = field(default_factory=list)  # negative events the user may also fire
    filing: FilingStatus | None = None  # the filing deadline, while the dossier is not yet handed in


# Actions (not events) that are work in a state: the required ones of every definition.
QUEUE_ACTIONS = ("self_assess", "appraise_criterion")


def work_queue(user: User) -> list[QueueItem]:
    """Open dossiers on which the user has a positive next step now, oldest
    waiting first. A negative event (return, reject, revoke) is offered with the
    item but never makes one: a recognised dossier is not a task."""
    eng = engine()
    roles = {ra.role for ra in user.roles}
    # States where one of the user's roles has a positive step at all, per kind (cheap SQL pre-filter).
    wanted = []
    for kind in eng.kinds():
        states = set()
        for d in eng.roads(kind):
            for e in d.events.values():
                if not e.negative and roles & {a.role for a in e.by}:
                    states.update(e.sources)
            for name in QUEUE_ACTIONS:
                a = d.actions[name]
                if a.states and roles & {x.role for x in a.by}:
                    states.update(a.states)
        if states:
            wanted.append(db.and_(Dossier.kind == kind, Dossier.state.in_(states)))
    if not wanted:
        return []
    stmt = visible_dossiers(user).where(db.or_(*wanted)).order_by(Dossier.updated_at, Dossier.id)
    items = []
    for dossier in db.session.execute(stmt).scalars():
        d = definition_of(dossier)
        allowed = allowed_events(user, dossier)
        actions = [name for name in allowed if not d.events[name].negative]
        for name in QUEUE_ACTIONS:
            a = d.actions[name]
            if a.states and dossier.state in a.states and capacities(user, dossier.unit, a.by):
                actions.append(name)
        if actions:
            negatives = [name for name in allowed if d.events[name].negative]
            items.append(QueueItem(dossier, actions, dossier.updated_at, secondary=negatives))
    clocks = step_clocks([item.dossier for item in items])  # one query for the whole queue
    for item in items:
        # The step clock is of the state the user acts in, so it is theirs. The
        # filing deadline is news only until the dossier is handed in: "filed
        # late" is history, not something anyone can act on now.
        item.clock = clocks.get(item.dossier.id)
        filing = filing_status(item.dossier)
        item.filing = filing if filing is not None and filing.filed_on is None else None
    return items


def batch_candidates(user: User, event: str | None = None) -> dict[str, list[Dossier]]:
    """Dossiers the user may `event` now (default: the kind's decision-issuing
    event), by kind: what a batch decision can list. Guards are not run here; a
    dossier that fails one is named when fired."""
    eng = engine()
    out: dict[str, list[Dossier]] = {}
    for kind in eng.kinds():
        d = eng.definition(kind)
        name = event or next(iter(d.decision_events), None)
        if name not in d.events:
            continue
        sources = d.events[name].sources
        stmt = (visible_dossiers(user).where(Dossier.kind == kind, Dossier.state.in_(sources))
                .order_by(Unit.path, Dossier.id))
        found = [x for x in db.session.execute(stmt).scalars() if name in allowed_events(user, x)]
        if found:
            out[kind] = found
    return out
