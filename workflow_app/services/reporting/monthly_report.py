"""The monthly progress report (báo cáo tiến độ hằng tháng) of the standing office.

For a month "YYYY-MM" and the units a user may see:
- dossiers by state at the end of the month and at the end of the month before,
  and the change. History is exact: a dossier's state at a moment is the
  `to_state` of its last transition record (creation included) before that
  moment, read from the audit trail, not from today's state. Every dossier
  counts, whatever its campaign year (cumulative, "lũy kế": a 2024 dossier
  resubmitted in January 2025 is still in the January report); one created
  after a moment does not exist at that moment;
- the moves during the month (submitted, returned, recognised, ...);
- dossiers overdue now (step clocks), with who must act and why;
- the steering-committee members' reports for the month: received, late, missing.

The states at a moment are counted from today's states, less the transitions
recorded since that moment (each one undone: +1 on its `from_state`, -1 on its
`to_state`; a creation has no `from_state`, so the dossier did not exist yet):
only records after the moment are read, never every record in scope. The moves
and the overdue dossiers are counted in full; the page lists the first
`ROWS_SHOWN` of each, the rest one click away (paged lists), the downloads all.

Month boundaries are Vietnam time (00:00 +07:00 on the 1st), while audit times
are naive UTC: the end of September is 2024-09-30 17:00 UTC.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func

from ...clock import local_date, local_month_bounds
from ...extensions import db
from ...formats import vn_date
from ...models import AuditRecord, Dossier, Unit, UnitLink, User
from ...months import check_in_range, first_day, last_day, month_label, month_or_current, month_parts, shift_month
from ...permissions import Scope, in_scope, scope_clause, scope_of
from ...workflow.errors import BadRequest
from ..committee.visits import report_status
from ..core.campaigns import campaign_for, campaigns
from ..core.clocks import step_clocks
from ..core.common import definition_of, engine, is_filing
from ..core.eras import group_ids, month_day, place_on
from ..core.wording import who
from .dashboard import CriterionProgress, criteria_progress, default_year, latest_ids

log = logging.getLogger(__name__)


@dataclass
class StateChange:
    state: str
    label: str
    end: int
    previous: int

    @property
    def change(self) -> int:
        return self.end - self.previous


@dataclass
class MoveCount:
    event: str
    label: str  # the kind's own wording: "accept" is a plan's or a request's acceptance
    n: int


@dataclass
class KindCounts:
    kind: str
    label: str
    rows: list[StateChange]
    moves: list[MoveCount] = field(default_factory=list)  # state changes during the month

    @property
    def total_end(self) -> int:
        return sum(r.end for r in self.rows)

    @property
    def total_previous(self) -> int:
        return sum(r.previous for r in self.rows)


@dataclass
class CommuneMonth:
    code: str
    name: str
    end: dict[str, int]
    previous: dict[str, int]
    moves: dict[str, int]  # event -> count during the month

    def change(self, state: str) -> int:
        return self.end.get(state, 0) - self.previous.get(state, 0)


@dataclass
class MoveRow:
    at: datetime  # naive UTC
    event: str
    event_label: str
    dossier_id: int
    code: str
    unit: str
    commune: str
    commune_code: str
    actor: str
    comment: str | None


@dataclass
class OverdueRow:
    dossier_id: int
    code: str
    kind_label: str
    unit: str
    commune: str
    state: str
    state_label: str
    due_on: date
    days_late: int
    who: str
    why: str
    day_unit: str = "calendar"  # what days_late counts: "working" or "calendar" days


@dataclass
class MemberReportRow:
    member: str
    title: str
    commune: str
    due_on: date
    submitted_at: datetime | None  # first filing, naive UTC
    status: str                    # on_time | late | missing | pending (not filed, not yet due)


@dataclass
class MonthlyReportData:
    month: str              # "2024-09"
    year: int
    month_no: int
    previous_month: str
    first_day: date
    last_day: date
    today: date
    scope_name: str
    scope_level: str
    village_kind: str
    states: list[str]
    state_labels: dict[str, str]
    kinds: list[KindCounts]
    communes: list[CommuneMonth]
    moves: list[MoveRow]          # the first `rows` moves of the month (all of them when rows is None)
    overdue: list[OverdueRow]     # the most late first, as many as `moves`
    reports: list[MemberReportRow]
    moves_total: int = 0
    overdue_total: int = 0
    overdue_counts: dict[str, int] = field(default_factory=dict)  # state -> overdue dossiers
    criteria_year: int = 0  # the campaign year of the criteria figures (latest with dossiers)
    criteria: list[CriterionProgress] = field(default_factory=list)

    @property
    def label(self) -> str:
        return month_label(self.month)

    @property
    def village_moves(self) -> list[MoveCount]:
        """The village kind's moves: the per-commune columns."""
        return next((k.moves for k in self.kinds if k.kind == self.village_kind), [])

    def reports_with(self, *statuses: str) -> int:
        return sum(1 for r in self.reports if r.status in statuses)

    @property
    def reports_received(self) -> int:
        return self.reports_with("on_time", "late")

    @property
    def reports_late(self) -> int:
        return self.reports_with("late")

    @property
    def reports_missing(self) -> int:
        return self.reports_with("missing")

    @property
    def reports_pending(self) -> int:
        return self.reports_with("pending")

    def total(self, which: str) -> int:
        return sum(getattr(k, f"total_{which}") for k in self.kinds)


# ----------------------------------------------------------------------------- parameters

def report_month(raw: str | None, today: date) -> str:
    """?month=YYYY-MM: the current month when absent; 400 when malformed, not begun or
    before the first month (the page's month box never sends those)."""
    return check_in_range(month_or_current(raw, today), today, error=BadRequest)


# ----------------------------------------------------------------------------- the report

ROWS_SHOWN = 100  # the page's first part of the moves and of the overdue dossiers


def monthly_report(user: User, month: str | None, today: date, lang: str = "vi",
                   rows: int | None = ROWS_SHOWN) -> MonthlyReportData:
    """The report of `month` for `user`; `rows` bounds the lists of moves and overdue
    dossiers (None: all of them, for the downloads). Counts are always complete."""
    month = report_month(month, today)
    year, month_no = month_parts(month)
    reading = scope_of(user, progress=True)
    start, end = local_month_bounds(year, month_no)
    eng = engine()
    village_kind = eng.kinds_by_level()[0]  # the most local applicants: the per-commune table's kind
    vd = eng.definition(village_kind)

    month_end = last_day(month)
    day = month_day(month_end, today)  # communes of the month's end (or of today)
    since = transitions_since((end, start), reading, day)
    at_end, at_prev = states_at((end, start), reading, day, since)
    # The month's moves, from the same records: state changes (not creations) in [start, end).
    counted: dict[tuple[str, str, int | None], int] = {}
    for kind, parent, action, _from, _to, after_end, after_start, n in since:
        if after_start and not after_end and action != "create":
            counted[(kind, action, parent)] = counted.get((kind, action, parent), 0) + n
    # Villages, communes, then towns (vocabulary.APPLICANT_ORDER): the order of the district's notice.
    kinds = []
    for kind in eng.kinds_by_level():
        d = eng.definition(kind)
        rows_ = []
        for s, st in d.states.items():
            e = sum(n for (k, _p, state), n in at_end.items() if k == kind and state == s)
            p = sum(n for (k, _p, state), n in at_prev.items() if k == kind and state == s)
            rows_.append(StateChange(s, st.labels[lang], e, p))
        kinds.append(KindCounts(kind, eng.kind_label(kind, lang), rows_, _kind_moves(kind, counted, day, lang)))

    moves = moves_between(start, end, reading, lang, day, limit=rows)
    criteria_year = default_year(user, village_kind, year)
    def by_commune(counts: dict) -> dict[int | None, dict[str, int]]:
        """The village kind's counts per commune id, each read once (not once per commune)."""
        out: dict[int | None, dict[str, int]] = {}
        for (k, p, s), n in counts.items():
            if k == village_kind:
                out.setdefault(p, {})[s] = n
        return out

    ends, prevs, moved = by_commune(at_end), by_commune(at_prev), {}
    for (k, event, p), n in counted.items():
        if k == village_kind and event in vd.events:
            mine = moved.setdefault(p, {})
            mine[event] = mine.get(event, 0) + n
    communes = []
    groups = group_ids(reading, day, vd.applicant_level)
    for c in db.session.execute(db.select(Unit).where(Unit.id.in_(groups)).order_by(Unit.name)).scalars():
        communes.append(CommuneMonth(c.code, c.name, ends.get(c.id, {}), prevs.get(c.id, {}), moved.get(c.id, {})))
    late = overdue_summary(reading, today, lang, limit=rows)
    reports = member_reports(reading, month, today)
    scope = _scope_unit(user)
    return MonthlyReportData(
        month=month, year=year, month_no=month_no, previous_month=shift_month(month, -1),
        first_day=first_day(month), last_day=month_end, today=today,
        scope_name=scope.name if scope else "", scope_level=scope.level if scope else "",
        village_kind=village_kind, states=list(vd.states),
        state_labels={s: st.labels[lang] for s, st in vd.states.items()},
        kinds=kinds, communes=communes, moves=moves,
        overdue=late.rows, reports=reports,
        moves_total=sum(counted.values()), overdue_total=late.total, overdue_counts=late.by_state,
        criteria_year=criteria_year,
        criteria=criteria_progress(village_kind, latest_ids(village_kind, criteria_year, reading, vd.applicant_level),
                                   lang))


def _kind_moves(kind: str, counted: dict[tuple[str, str, int | None], int], day: date,
                lang: str) -> list[MoveCount]:
    """A kind's state changes in the month by event, in the words of its road on `day`
    (a 2024 filing went to the district): its `reported: true` events (filing,
    returning, deciding) even at zero, then any other."""
    roads = engine().roads(kind)
    road = next((d for d in reversed(roads) if d.in_force.holds(day)), roads[-1])
    labels: dict[str, str] = {}
    for d in [road, *reversed(roads)]:
        for name, e in d.events.items():
            labels.setdefault(name, e.labels[lang])
    by_event = {name: 0 for name, e in road.events.items() if e.reported}
    for (k, event, _p), n in counted.items():
        if k == kind:
            by_event[event] = by_event.get(event, 0) + n
    return [MoveCount(event, labels.get(event, event), n) for event, n in by_event.items()]


@dataclass
class Listing:
    """One page of a list the report shows only the first part of (moves, overdue)."""
    month: str
    label: str
    page: int
    pages: int
    total: int
    rows: list


def _pages(total: int) -> int:
    return max(1, -(-total // ROWS_SHOWN))


def moves_page(user: User, month: str | None, today: date, page: int, lang: str = "vi") -> Listing:
    """Page `page` (ROWS_SHOWN a page) of the month's moves in the user's scope."""
    month = report_month(month, today)
    year, month_no = month_parts(month)
    reading = scope_of(user, progress=True)
    start, end = local_month_bounds(year, month_no)
    day = month_day(last_day(month), today)
    total = sum(move_counts(start, end, reading, day).values())
    rows = moves_between(start, end, reading, lang, day, limit=ROWS_SHOWN, offset=(page - 1) * ROWS_SHOWN)
    return Listing(month, month_label(month), page, _pages(total), total, rows)


def overdue_page(user: User, month: str | None, today: date, page: int, lang: str = "vi") -> Listing:
    """Page `page` (ROWS_SHOWN a page) of the dossiers overdue today in the user's scope,
    most late first; `month` is the report it is opened from."""
    month = report_month(month, today)
    late = overdue_summary(scope_of(user, progress=True), today, lang, limit=ROWS_SHOWN,
                           offset=(page - 1) * ROWS_SHOWN)
    return Listing(month, month_label(month), page, _pages(late.total), late.total, late.rows)


def _scope_unit(user: User) -> Unit | None:
    units = [ra.unit for ra in user.roles if ra.unit.level != "village"]
    return min(units, key=lambda u: len(u.path)) if units else None


def placed(scope: Scope, day: date):
    """CTE (unit_id, parent_id): the units in scope, each with its parent on `day` (None
    without a place that day). Read once per statement (MATERIALIZED on PostgreSQL): the
    parent is found per unit in scope (ix_unit_links_unit_id), not per dossier or record,
    and no statement hashes every link of the country."""
    link = db.aliased(UnitLink)
    parent = (db.select(link.parent_id).where(place_on(link, Unit.id, day)).order_by(link.id).limit(1)
              .scalar_subquery())
    return (db.select(Unit.id.label("unit_id"), parent.label("parent_id")).where(scope_clause(Unit.id, scope))
            .cte("placed").prefix_with("MATERIALIZED", dialect="postgresql"))


def transitions_since(moments: Sequence[datetime], scope: Scope, day: date) -> list[tuple]:
    """Transition records (creations included: the app records a creation as a transition
    into the first state) of dossiers in scope at or after the earliest moment, grouped:
    (kind, parent unit id on `day`, action, from_state, to_state, one 0/1 per moment:
    recorded at or after it, count). One statement; the planner starts from the records
    (ix_audit_records_transitions_at) when the moment is recent, from the dossiers in
    scope when it is long ago."""
    where = placed(scope, day)
    after = [case((AuditRecord.at >= m, 1), else_=0) for m in moments]
    stmt = (db.select(Dossier.kind, where.c.parent_id, AuditRecord.action, AuditRecord.from_state,
                      AuditRecord.to_state, *after, func.count(AuditRecord.id))
            .select_from(AuditRecord).join(Dossier, Dossier.id == AuditRecord.dossier_id)
            .join(where, where.c.unit_id == Dossier.unit_id)
            .where(AuditRecord.is_transition, AuditRecord.at >= min(moments))
            .group_by(Dossier.kind, where.c.parent_id, AuditRecord.action, AuditRecord.from_state,
                      AuditRecord.to_state, *after))
    return [tuple(r) for r in db.session.execute(stmt)]


def states_at(moments: Sequence[datetime], scope: Scope, day: date,
              since: list[tuple] | None = None) -> list[dict[tuple[str, int | None, str], int]]:
    """For each moment (naive UTC): (kind, parent unit id on `day`, state) -> dossiers
    in scope as they stood then (the parent is None for an applicant with no place on
    `day`). Today's states, each transition recorded at or after the moment undone
    (+1 on its from_state, -1 on its to_state; a creation has no from_state): two
    grouped statements however many moments, reading only the records after the
    earliest one. `since`: the transitions_since of these moments, when the caller
    has them already."""
    where = placed(scope, day)
    now: dict[tuple[str, int | None, str], int] = {}
    for kind, parent, state, n in db.session.execute(
            db.select(Dossier.kind, where.c.parent_id, Dossier.state, func.count(Dossier.id))
            .join(where, where.c.unit_id == Dossier.unit_id)
            .group_by(Dossier.kind, where.c.parent_id, Dossier.state)):
        now[(kind, parent, state)] = n
    out = [dict(now) for _ in moments]
    if not moments:
        return out
    for kind, parent, _action, from_state, to_state, *flags, n in (
            transitions_since(moments, scope, day) if since is None else since):
        for counts, undo in zip(out, flags, strict=True):
            if not undo:
                continue
            if from_state is not None:
                counts[(kind, parent, from_state)] = counts.get((kind, parent, from_state), 0) + n
            counts[(kind, parent, to_state)] = counts.get((kind, parent, to_state), 0) - n
    return [{key: n for key, n in counts.items() if n} for counts in out]


def _moves(start: datetime, end: datetime):
    """Where clause of the state changes (not creations) during [start, end)."""
    return (AuditRecord.is_transition, AuditRecord.action != "create",
            AuditRecord.at >= start, AuditRecord.at < end)


def move_counts(start: datetime, end: datetime, scope: Scope, day: date) -> dict[tuple[str, str, int | None], int]:
    """(kind, event, commune id on `day`) -> state changes during [start, end): one grouped statement."""
    where = placed(scope, day)
    stmt = (db.select(Dossier.kind, AuditRecord.action, where.c.parent_id, func.count(AuditRecord.id))
            .select_from(AuditRecord).join(Dossier, Dossier.id == AuditRecord.dossier_id)
            .join(where, where.c.unit_id == Dossier.unit_id)
            .where(*_moves(start, end)).group_by(Dossier.kind, AuditRecord.action, where.c.parent_id))
    return {(kind, event, parent): n for kind, event, parent, n in db.session.execute(stmt)}


def moves_between(start: datetime, end: datetime, scope: Scope, lang: str = "vi",
                  day: date | None = None, *, limit: int | None = None, offset: int = 0) -> list[MoveRow]:
    """State changes (not creations) of dossiers in scope during [start, end), in time
    order, each under its applicant's commune on `day` (the month's reference day);
    `limit` of them from `offset` (None: all)."""
    day = day or local_date(end - timedelta(seconds=1))
    # The page's records first, narrow: the month's records in scope (the time index
    # alone, ix_audit_records_transitions_at, matched with the dossiers in scope), then
    # `limit` of them in time order. Apart (MATERIALIZED on PostgreSQL), so the LIMIT does
    # not lead the planner to walk the month in time order looking up each record's
    # dossier until it has `limit` (a province: ~10 µs a record, every record of the country).
    in_scope_ = db.select(Dossier.id).where(scope_clause(Dossier.unit_id, scope))
    month = (db.select(AuditRecord.id, AuditRecord.at).where(*_moves(start, end), AuditRecord.dossier_id.in_(in_scope_))
             .cte("month_moves").prefix_with("MATERIALIZED", dialect="postgresql"))
    chosen = db.select(month.c.id).order_by(month.c.at, month.c.id).offset(offset).limit(limit)
    parent, link = db.aliased(Unit), db.aliased(UnitLink)
    stmt = (db.select(AuditRecord, Dossier, Unit.name, parent.name, parent.code)
            .join(Dossier, Dossier.id == AuditRecord.dossier_id)
            .join(Unit, Dossier.unit_id == Unit.id)
            .outerjoin(link, place_on(link, Dossier.unit_id, day)).outerjoin(parent, link.parent_id == parent.id)
            .where(AuditRecord.id.in_(chosen)).order_by(AuditRecord.at, AuditRecord.id))
    rows = []
    for rec, dossier, unit_name, parent_name, parent_code in db.session.execute(stmt):
        d = definition_of(dossier)
        label = d.events[rec.action].labels[lang] if rec.action in d.events else rec.action
        rows.append(MoveRow(rec.at, rec.action, label, dossier.id, dossier.code, unit_name, parent_name or "",
                            parent_code or "", rec.actor.name, rec.comment))
    return rows


@dataclass
class Overdue:
    total: int
    by_state: dict[str, int]   # state -> overdue dossiers
    rows: list[OverdueRow]     # most late first, `limit` of them from `offset`


def overdue_summary(scope: Scope, today: date, lang: str = "vi", limit: int | None = None,
                    offset: int = 0) -> Overdue:
    """Dossiers in scope overdue on `today`: their number per state and, most late
    first, `limit` of them from `offset` (None: all). Two kinds of lateness:
    - a step clock run out (services.core.clocks.step_clocks): the open dossiers in a
      timed state, read as plain columns, their clocks from one statement over their
      records and the calendar's arithmetic (workdays.py);
    - a dossier never filed after its campaign's deadline: counted and listed in SQL.
    Who must act and why (the last comment) are read for the listed rows only."""
    eng = engine()
    timed = [(k, s) for k in eng.kinds() for s, st in eng.definition(k).states.items()
             if not st.closed and st.time_limit is not None]
    parent, link = db.aliased(Unit), db.aliased(UnitLink)
    late = []
    if timed:
        # The units in scope probed on (unit_id, state): a province's few hundred waiting
        # dossiers read, not its ~30k (the states again, alone, for the index).
        where = (scope_clause(Dossier.unit_id, scope, probe=True), Dossier.state.in_(sorted({s for _k, s in timed})),
                 db.or_(*[and_(Dossier.kind == k, Dossier.state == s) for k, s in timed]))
        rows = db.session.execute(
            db.select(Dossier.id, Dossier.code, Dossier.kind, Dossier.year, Dossier.state,
                      Unit.name.label("unit_name"), parent.name.label("commune"))
            .join(Unit, Unit.id == Dossier.unit_id)
            .outerjoin(link, place_on(link, Dossier.unit_id, today)).outerjoin(parent, link.parent_id == parent.id)
            .where(*where)).all()
        clocks = step_clocks(rows, today, among=db.select(Dossier.id).where(*where))
        late = [(x, c) for x in rows if (c := clocks.get(x.id)) is not None and c.overdue and c.due_on is not None]
    by_state: dict[str, int] = {}
    for x, _c in late:
        by_state[x.state] = by_state.get(x.state, 0) + 1
    unfiled_counts, unfiled = unfiled_after_deadline(scope, today, lang,
                                                     limit=None if limit is None else offset + limit)
    for state, n in unfiled_counts.items():
        by_state[state] = by_state.get(state, 0) + n
    late.sort(key=lambda xc: (-xc[1].days_late, xc[0].code))
    end = None if limit is None else offset + limit
    shown = late[:end]
    reasons = _last_comments([x.id for x, _c in shown])
    found = []
    for x, clock in shown:
        d = definition_of(x)
        step = d.states[x.state].labels[lang]
        why = f"{step}: {reasons[x.id]}" if reasons.get(x.id) else step
        found.append(OverdueRow(x.id, x.code, eng.kind_label(x.kind, lang), x.unit_name, x.commune or "", x.state,
                                step, clock.due_on, clock.days_late, _who_acts(d, x.state, lang), why, clock.unit))
    found += unfiled
    found.sort(key=lambda r: (-r.days_late, r.code))
    return Overdue(len(late) + sum(unfiled_counts.values()), by_state, found[offset:end])


def _deadline_passed(today: date) -> list[tuple[str, int, date]]:
    """(kind, year, filing deadline) of the campaigns whose deadline is before `today`."""
    return [(kind, year, c.deadline) for year, cy in campaigns().items() for kind, c in cy.kinds.items()
            if today > c.deadline]


def unfiled_after_deadline(scope: Scope, today: date, lang: str = "vi",
                           limit: int | None = None) -> tuple[dict[str, int], list[OverdueRow]]:
    """Dossiers still in their first state and never submitted after their campaign's
    filing deadline (services.core.campaigns): late in calendar days since the deadline.
    A dossier filed once and back in its first state (a plan amended after acceptance)
    is not among them. Their number per state, and the `limit` most late (None: all),
    in two statements."""
    eng = engine()
    passed = _deadline_passed(today)
    if not passed:
        return {}, []
    initial = {k: eng.definition(k).initial for k in eng.kinds()}
    # Only a kind with an event back into its first state needs its filings looked up.
    back = {k for k in initial for d in eng.roads(k) for e in d.events.values() if e.dest == initial[k]}

    def never_filed(kind: str):
        return ~db.select(AuditRecord.id).where(AuditRecord.dossier_id == Dossier.id, is_filing(kind)).exists()
    late = db.or_(*[and_(Dossier.kind == k, Dossier.year == y, Dossier.state == initial[k],
                         *((never_filed(k),) if k in back else ()))
                    for k, y, _d in passed if k in initial])
    # Probed per unit in scope on (unit_id, state): the first states' dossiers only.
    where = (scope_clause(Dossier.unit_id, scope, probe=True),
             Dossier.state.in_(sorted({initial[k] for k, _y, _d in passed if k in initial})), late)
    counts = {state: n for state, n in db.session.execute(
        db.select(Dossier.state, func.count(Dossier.id)).where(*where).group_by(Dossier.state))}
    if not counts or limit == 0:
        return counts, []
    deadline = case(*[(and_(Dossier.kind == k, Dossier.year == y), d) for k, y, d in passed])
    parent, link = db.aliased(Unit), db.aliased(UnitLink)
    rows = db.session.execute(
        db.select(Dossier.id, Dossier.code, Dossier.kind, Dossier.year, Dossier.state, Unit.name, parent.name)
        .join(Unit, Unit.id == Dossier.unit_id)
        .outerjoin(link, place_on(link, Dossier.unit_id, today)).outerjoin(parent, link.parent_id == parent.id)
        .where(*where).order_by(deadline, Dossier.code).limit(limit)).all()
    out = []
    for dossier in rows:
        campaign = campaign_for(dossier.kind, dossier.year)
        d = definition_of(dossier)
        step = d.states[dossier.state].labels[lang]
        when = vn_date(campaign.deadline)
        why = (f"{step}: chưa nộp, hạn nộp hồ sơ của đợt là {when}" if lang == "vi"
               else f"{step}: not filed; the campaign's filing deadline was {when}")
        out.append(OverdueRow(dossier.id, dossier.code, eng.kind_label(dossier.kind, lang), dossier[5],
                              dossier[6] or "", dossier.state, step, campaign.deadline,
                              (today - campaign.deadline).days, _who_acts(d, dossier.state, lang), why))
    return counts, out


def _who_acts(d, state: str, lang: str) -> str:
    """Who moves the dossier forward from `state`: the actors of its events, less
    those that close it (reject, revoke) or send it back (`starts_round`, a return)."""
    actors = []
    for e in d.events_from(state):
        if d.states[e.dest].closed or e.starts_round:
            continue
        actors += [a for a in e.by if a not in actors]
    return who(tuple(actors), lang)


def _last_comments(ids: list[int]) -> dict[int, str]:
    """The comment of each dossier's last transition (a return says what is missing)."""
    if not ids:
        return {}
    last = (db.select(func.max(AuditRecord.seq).label("seq"), AuditRecord.dossier_id.label("dossier_id"))
            .where(AuditRecord.dossier_id.in_(ids), AuditRecord.is_transition)
            .group_by(AuditRecord.dossier_id)).subquery()
    stmt = (db.select(AuditRecord.dossier_id, AuditRecord.comment)
            .join(last, and_(AuditRecord.dossier_id == last.c.dossier_id, AuditRecord.seq == last.c.seq)))
    return {i: c for i, c in db.session.execute(stmt) if c}


def member_reports(scope: Scope, month: str, today: date) -> list[MemberReportRow]:
    """The steering committee's reports for the month (services.committee.visits), for
    communes in scope: a commune officer sees the reports on their commune."""

    rows = []
    for r in report_status(month, today, scope):
        commune = r.commune
        if not in_scope(scope, commune):
            continue
        title = r.member.title if r.member is not None else ""
        rows.append(MemberReportRow(
            member=r.user.name, title=title or "", commune=commune.name, due_on=r.due,
            submitted_at=r.report.submitted_at if r.report is not None else None,
            status=r.status))
    order = {"missing": 0, "late": 1, "pending": 2, "on_time": 3}
    rows.sort(key=lambda x: (order.get(x.status, 9), x.commune, x.member))
    return rows
