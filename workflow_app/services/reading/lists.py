"""Read-side queries shared by the API and the pages: the dossier list with
filters and search, and the work queue of what needs a user's action now."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

from ...clock import local_today
from ...extensions import db, on_postgresql
from ...models import AuditRecord, Dossier, Unit, UnitLink, User
from ...permissions import Scope, capacities, scope_clause
from ...workflow.definitions import EventDef
from ..core.campaigns import FilingStatus, filing_statuses
from ..core.clocks import step_clocks
from ..core.common import definition_of, engine
from ..core.events import allowed_events

PER_PAGE = 20
QUEUE_PER_PAGE = 50
# The work queue reads its candidates in batches of two pages; a page stops after
# this many batches (short, with a "next" link) so its statement count is fixed.
QUEUE_BATCHES = 3


@dataclass
class Page:
    items: list
    page: int
    pages: int
    total: int
    after: int | None = None   # keyset cursor of the next page: its items have smaller ids
    before: int | None = None  # keyset cursor of the previous page: its items have larger ids


def visible_dossiers(user: User):
    """A select of the dossiers in the user's subtrees (nothing for no roles)."""
    return db.select(Dossier).where(scope_clause(Dossier.unit_id, user))


def _contains(column, text: str):
    """Case-insensitive "contains": on PostgreSQL `column ILIKE '%text%'`, which the pg_trgm
    GIN indexes of dossiers.code and units.name serve; on SQLite lower(column) LIKE (a scan)."""
    if on_postgresql():
        return column.ilike(f"%{text}%")
    return db.func.lower(column).like(f"%{text}%")


def matching(q: str):
    """Ids of dossiers found by a search: by dossier code or applicant name, case-insensitive;
    commune names match their villages in every period (an old commune's name finds its 2024
    villages). A union of index-served parts, so no OR spans the join."""
    text = q.strip().lower()
    parent = db.aliased(Unit)
    named = db.select(Unit.id).where(_contains(Unit.name, text))
    under_named = (db.select(UnitLink.unit_id).join(parent, UnitLink.parent_id == parent.id)
                   .where(UnitLink.relation == "parent", _contains(parent.name, text)))
    return db.union(
        db.select(Dossier.id).where(_contains(Dossier.code, text)),
        db.select(Dossier.id).where(Dossier.unit_id.in_(named.union(under_named))))


def search_dossiers(user: User, *, kind: str | None = None, state: str | None = None,
                    unit: Unit | None = None, year: int | None = None, q: str | None = None,
                    page: int = 1, per_page: int = PER_PAGE, after: int | None = None,
                    before: int | None = None) -> Page:
    """Newest first (by id, the primary key's order). `page` alone reads by offset (the
    API's documented pages); `after`/`before` (an id from a previous page) read by keyset,
    so a deep page costs what the first one does; `page` then only names the page."""
    stmt = visible_dossiers(user)
    if kind:
        stmt = stmt.where(Dossier.kind == kind)
    if state:
        stmt = stmt.where(Dossier.state == state)
    if year:
        stmt = stmt.where(Dossier.year == year)
    if unit is not None:
        stmt = stmt.where(scope_clause(Dossier.unit_id, Scope.of_unit(unit)))
    if q and q.strip():
        stmt = stmt.where(Dossier.id.in_(matching(q)))
    # Counted on the dossiers' own indexes (no row of the dossier is read).
    total = db.session.execute(stmt.with_only_columns(db.func.count())).scalar_one()
    pages = max(1, math.ceil(total / per_page))
    if after is not None:
        rows = list(db.session.execute(stmt.where(Dossier.id < after).order_by(Dossier.id.desc())
                                       .limit(per_page + 1)).scalars())
        more_before, more_after = True, len(rows) > per_page
        rows = rows[:per_page]
    elif before is not None:
        rows = list(db.session.execute(stmt.where(Dossier.id > before).order_by(Dossier.id)
                                       .limit(per_page + 1)).scalars())
        more_before, more_after = len(rows) > per_page, True
        rows = rows[:per_page][::-1]
    elif 2 * (page - 1) * per_page > total:
        # Past the middle, the page is read from the oldest end: the offset skipped is
        # what lies after the page, so the last page costs what the first does.
        start = max(0, total - page * per_page)
        size = total - (page - 1) * per_page - start  # none beyond the last page
        rows = list(db.session.execute(stmt.order_by(Dossier.id).limit(size).offset(start)).scalars())[::-1] \
            if size > 0 else []
        more_before, more_after = page > 1, page < pages
    else:
        rows = list(db.session.execute(stmt.order_by(Dossier.id.desc()).limit(per_page)
                                       .offset((page - 1) * per_page)).scalars())
        more_before, more_after = page > 1, page < pages
    if not rows:
        return Page([], page, pages, total)
    return Page(rows, page, pages, total, after=rows[-1].id if more_after else None,
                before=rows[0].id if more_before else None)


@dataclass
class QueueItem:
    dossier: Dossier
    actions: list[str]  # the positive steps (event and action names) the user can take now
    waiting_since: object
    clock: object = None  # services.core.clocks.StepClock of the dossier's state, or None
    secondary: list[str] = field(default_factory=list)  # negative events the user may also fire
    filing: FilingStatus | None = None  # the filing deadline, while the dossier is not yet handed in


@dataclass
class QueuePage:
    items: list[QueueItem]
    total: int  # dossiers in the states where the user's roles take a positive step
    counts: dict = field(default_factory=dict)  # {(kind, definition_version, step): dossiers}
    after: str | None = None  # cursor of the next page


# Actions (not events) that are work in a state, where a definition declares them: the
# criteria of a recognition road, the lines of a dossier made of lines.
QUEUE_ACTIONS = ("self_assess", "appraise_criterion", "edit_lines")


def _queue_actions(d) -> list:
    """The queue actions road `d` declares, each bound to its states."""
    return [d.actions[n] for n in QUEUE_ACTIONS if n in d.actions and d.actions[n].states]


def _positive_steps(d, state: str, held: set) -> list:
    """The positive events and queue actions of `state` on road `d` that one of the
    user's (role, level) pairs may take."""
    steps = [e for e in d.events.values()
             if not e.negative and state in e.sources and held & {(a.role, a.level) for a in e.by}]
    steps += [x for x in _queue_actions(d) if state in x.states and held & {(a.role, a.level) for a in x.by}]
    return steps


def _queue_filter(user: User) -> list:
    """SQL conditions, one per (kind, state) where the user's roles have a positive step;
    where every such step is barred to whoever did certain events (separation of duties),
    dossiers the user did one of those on are left out here, in the same statement."""
    eng = engine()
    held = {(ra.role, ra.unit.level) for ra in user.roles}
    out = []
    for kind in eng.kinds():
        roads = eng.roads(kind)
        states = sorted({s for d in roads for e in d.events.values() for s in e.sources}
                        | {s for d in roads for x in _queue_actions(d) for s in x.states})
        for state in states:
            steps = [x for d in roads for x in _positive_steps(d, state, held)]
            if not steps:
                continue
            cond = db.and_(Dossier.kind == kind, Dossier.state == state)
            barred = set.intersection(*(set(x.not_by_actor_of if isinstance(x, EventDef) else ()) for x in steps))
            if barred:
                acted = db.select(AuditRecord.id).where(
                    AuditRecord.dossier_id == Dossier.id, AuditRecord.actor_id == user.id,
                    AuditRecord.action.in_(sorted(barred)))
                cond = db.and_(cond, ~acted.exists())
            out.append(cond)
    return out


def _acted(user: User, dossiers: list[Dossier]) -> dict[int, set[str]]:
    """The separation-of-duties events the user did on each dossier: one query for a batch
    (what permissions.has_acted asks of one dossier)."""
    names = sorted({n for kind in {x.kind for x in dossiers} for d in engine().roads(kind)
                    for e in d.events.values() for n in e.not_by_actor_of})
    out: dict[int, set[str]] = {x.id: set() for x in dossiers}
    if not names or not dossiers:
        return out
    rows = db.session.execute(
        db.select(AuditRecord.dossier_id, AuditRecord.action).distinct()
        .where(AuditRecord.dossier_id.in_(list(out)), AuditRecord.actor_id == user.id,
               AuditRecord.action.in_(names))).all()
    for r in rows:
        out[r.dossier_id].add(r.action)
    return out


def _item(user: User, dossier: Dossier, acted: set[str]) -> QueueItem | None:
    """The dossier as a queue item, or None without a positive step for the user. The
    events are those of events.allowed_events, with the user's past acts read in advance."""
    d = definition_of(dossier)
    allowed = [e for e in d.offered_from(dossier.state)
               if capacities(user, dossier.unit, e.by) and not acted & set(e.not_by_actor_of)]
    actions = [e.name for e in allowed if not e.negative]
    for a in _queue_actions(d):
        if dossier.state in a.states and capacities(user, dossier.unit, a.by):
            actions.append(a.name)
    if not actions:
        return None
    return QueueItem(dossier, actions, dossier.updated_at, secondary=[e.name for e in allowed if e.negative])


def _cursor(dossier: Dossier) -> str:
    return f"{dossier.updated_at.isoformat()}_{dossier.id}"


def _after(cursor: str | None):
    """The keyset condition "after this (updated_at, id)"; None for a missing or broken cursor."""
    if not cursor:
        return None
    stamp, _, ident = cursor.rpartition("_")
    try:
        at, ident = datetime.fromisoformat(stamp), int(ident)
    except ValueError:
        return None
    return db.or_(Dossier.updated_at > at, db.and_(Dossier.updated_at == at, Dossier.id > ident))


def queue_page(user: User, after: str | None = None, per_page: int = QUEUE_PER_PAGE) -> QueuePage:
    """One page of the open dossiers on which the user has a positive next step now,
    oldest waiting first, from the keyset cursor `after`. A negative event (return,
    reject, revoke) is offered with the item but never makes one: a recognised dossier
    is not a task. A fixed number of statements whatever the queue's length: the
    counts (one grouped query), up to QUEUE_BATCHES batches of candidates, each with
    its units' links and the user's past acts, then the page's clocks and filings."""
    wanted = _queue_filter(user)
    if not wanted:
        return QueuePage([], 0)
    base = visible_dossiers(user).where(db.or_(*wanted))
    grouped = base.with_only_columns(Dossier.kind, Dossier.definition_version, Dossier.year, Dossier.state,
                                     db.func.count()).group_by(
        Dossier.kind, Dossier.definition_version, Dossier.year, Dossier.state)
    counts: dict = {}
    total = 0
    held = {(ra.role, ra.unit.level) for ra in user.roles}
    for kind, version, year, state, n in db.session.execute(grouped).all():
        total += n
        d = engine().definition_for(kind, year, local_today())
        for step in (_positive_steps(d, state, held) if d else []):
            counts[(kind, version, step.name)] = counts.get((kind, version, step.name), 0) + n
    ordered = base.order_by(Dossier.updated_at, Dossier.id)
    items: list[QueueItem] = []
    more, cond = False, _after(after)
    for _ in range(QUEUE_BATCHES):
        batch = list(db.session.execute((ordered.where(cond) if cond is not None else ordered)
                                        .limit(2 * per_page)).scalars())
        acted = _acted(user, batch)
        found = [x for x in (_item(user, dossier, acted[dossier.id]) for dossier in batch) if x is not None]
        items.extend(found)
        if len(items) > per_page:
            items, more = items[:per_page], True
            break
        if len(batch) < 2 * per_page:
            break
        more, cond = True, _after(_cursor(batch[-1]))
        if len(items) == per_page:
            break
    if more and len(items) == per_page:
        nxt = _cursor(items[-1].dossier)
    elif more:  # the batches ran out before the page filled: go on after the last candidate read
        nxt = _cursor(batch[-1])
    else:
        nxt = None
    clocks = step_clocks([item.dossier for item in items])  # one query for the page
    filings = filing_statuses([item.dossier for item in items])  # one grouped query for the page
    for item in items:
        # The step clock is of the state the user acts in, so it is theirs. The
        # filing deadline is news only until the dossier is handed in: "filed
        # late" is history, not something anyone can act on now.
        item.clock = clocks.get(item.dossier.id)
        filing = filings.get(item.dossier.id)
        item.filing = filing if filing is not None and filing.filed_on is None else None
    return QueuePage(items, total, counts, nxt)


def work_queue(user: User, after: str | None = None) -> list[QueueItem]:
    """The items of one page of the user's work queue (the first by default)."""
    return queue_page(user, after).items


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
        stmt = (visible_dossiers(user).join(Unit, Dossier.unit_id == Unit.id)
                .where(Dossier.kind == kind, Dossier.state.in_(sources)).order_by(Unit.path, Dossier.id))
        found = [x for x in db.session.execute(stmt).scalars() if name in allowed_events(user, x)]
        if found:
            out[kind] = found
    return out
