"""Step clocks: how long a dossier has waited in a state that carries a time limit
(states/*.yaml `time_limit: {days, unit}`).

The clock of a state S starts on the day the dossier entered S after last being in
a state other than S or a pausing one (`pauses_clock: true` in the definition, where
the dossier waits on the applicant; dates in +07:00). While the dossier sits in a
pausing state the clock pauses: the pause is [returned day, resubmitted day), the
convention of workdays.py. The start day never counts. An apology slip (phiếu xin lỗi
và hẹn lại ngày trả kết quả) issued in the run sets a new date that replaces the due
date; a later pause pushes that date on by the paused days.

`clock_from_transitions` is the pure core (dates in, dates out); `step_clock` reads a
dossier's audit records, where an apology slip (documents/apology.py) left its new date.
"""
from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import Select

from ...clock import local_date, local_today
from ...extensions import db
from ...models import AuditRecord, Dossier
from ...workdays import CalendarGap, WorkCalendar, load_calendar, merge_pauses
from ...workflow.definitions import TimeLimit
from .common import definition_of, engine

log = logging.getLogger(__name__)

DUE_SOON_DAYS = 2
APOLOGY = "apology"  # the audit action of an apology slip: its `data` holds the state and new date
_ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class StepClock:
    state: str
    started_on: date
    unit: str                  # "working" | "calendar"
    limit: int                 # days of the time limit
    due_on: date | None        # the apology's new date when there is one; None on a calendar gap
    days_left: int | None      # in `unit` days; negative when late (at least -1 once overdue)
    overdue: bool
    due_soon: bool
    paused_days: int           # in `unit` days, spent in pausing states during this run
    apology: date | None = None          # the latest apology's new date (replaces due_on)
    due_by_limit: date | None = None     # what the time limit alone gives
    calendar_gap: int | None = None      # a year without a holiday file: nothing computed

    @property
    def days_late(self) -> int:
        return -self.days_left if self.overdue and self.days_left is not None else 0


# ----------------------------------------------------------------------------- pure core

def current_run(transitions: Iterable[tuple[str, date]], state: str,
                paused: Collection[str] = ()) -> tuple[date, list] | None:
    """(started_on, pauses) of the dossier's present stay in `state`, or None when the
    last transition did not lead into `state` (or there is none). A stay in one of
    the `paused` states between two stays in `state` is a pause, not a new run."""
    start: date | None = None
    pauses: list[tuple[date, date]] = []
    pause_from: date | None = None
    prev: str | None = None
    for to_state, day in transitions:
        if to_state == state:
            if prev in paused and pause_from is not None and start is not None:
                pauses.append((pause_from, day))  # back from the village: the clock runs on
            elif prev != state:
                start, pauses = day, []           # entered afresh: a new run
            pause_from = None
        elif to_state in paused:
            pause_from = day if prev == state else None
        else:
            pause_from = None
        prev = to_state
    if prev != state or start is None:
        return None
    return start, pauses


def clock_from_transitions(transitions: Sequence[tuple[str, date]], state: str, limit: TimeLimit,
                           today: date, *, apologies: Sequence[tuple[date, date]] = (),
                           due_soon_days: int = DUE_SOON_DAYS,
                           calendar: WorkCalendar | None = None,
                           paused: Collection[str] = ()) -> StepClock | None:
    """The clock of `state` on `today`, from ordered (to_state, local date) pairs.

    `apologies` are (issued on, new date) pairs for this state; the latest one issued
    in the present run replaces the due date; `paused` are the states that stop the
    clock (the definition's `paused_states`). None when the dossier is not in `state`.
    Raises CalendarGap when a date falls in a year without a holiday file."""
    run = current_run(transitions, state, paused)
    if run is None:
        return None
    cal = calendar or load_calendar()
    started_on, pauses = run
    by_limit = cal.due_date(started_on, limit.days, limit.unit, pauses)
    due_on, apology = by_limit, None
    mine = [a for a in apologies if a[0] >= started_on]
    if mine:
        issued_on, apology = max(mine)
        later = [p for p in pauses if p[0] >= issued_on]
        due_on = _push(cal, apology, _paused(cal, later, limit.unit, started_on), limit.unit)
    days_left = _days_left(cal, today, due_on, limit.unit)
    overdue = today > due_on
    return StepClock(
        state=state, started_on=started_on, unit=limit.unit, limit=limit.days, due_on=due_on,
        days_left=days_left, overdue=overdue, due_soon=not overdue and days_left <= due_soon_days,
        paused_days=_paused(cal, pauses, limit.unit, started_on), apology=apology, due_by_limit=by_limit)


def _days_left(cal: WorkCalendar, today: date, due_on: date, unit: str) -> int:
    if unit == "calendar":
        return (due_on - today).days
    if today <= due_on:
        return cal.working_days_between(today, due_on)
    # Late: working days since the due date; a weekend right after it is still late.
    return -max(1, cal.working_days_between(due_on, today))


def _paused(cal: WorkCalendar, pauses: Iterable[tuple[date, date]], unit: str, after: date) -> int:
    """Days the pauses took from the clock: days d with from <= d < to that would have
    counted, so only days after `after` (the run's start day never counts: a dossier
    returned on the day it arrived loses nothing that day)."""
    total = 0
    for start, end in merge_pauses(pauses):
        start = max(start, after + _ONE_DAY)
        if end <= start:
            continue
        if unit == "calendar":
            total += (end - start).days
        else:  # working days d with start <= d < end
            total += cal.working_days_between(start - _ONE_DAY, end - _ONE_DAY)
    return total


def _push(cal: WorkCalendar, day: date, n: int, unit: str) -> date:
    if not n:
        return day
    return day + timedelta(days=n) if unit == "calendar" else cal.add_working_days(day, n)


# ----------------------------------------------------------------------------- reading a dossier

def _due_soon_days() -> int:
    return int(current_app.config.get("STEP_DUE_SOON_DAYS", DUE_SOON_DAYS))


def step_clock(dossier: Dossier, today: date | None = None) -> StepClock | None:
    """The clock of the dossier's present state on `today` (default: today in +07:00);
    None for a state without a time limit, a closed state, or no recorded entry.
    A year without a holiday file gives a clock with `calendar_gap` set (logged),
    never an exception."""
    return step_clocks([dossier], today).get(dossier.id)


def _limit_of(dossier: Dossier) -> TimeLimit | None:
    st = definition_of(dossier).states.get(dossier.state)
    if dossier.id is None or st is None or st.closed:
        return None
    return st.time_limit


def _paused_states(kind: str) -> frozenset[str]:
    """The pausing states of all the kind's roads (a history spans roads)."""
    return frozenset().union(*(d.paused_states for d in engine().roads(kind)))


def _clock_records(dossier_ids):
    """The audit records a step clock reads, in chain order: transitions and apology slips.
    `dossier_ids`: ids, or a select of them (bound as a subquery, not as a list)."""
    ids = dossier_ids if isinstance(dossier_ids, Select) else list(dossier_ids)
    return (db.select(AuditRecord.dossier_id, AuditRecord.action, AuditRecord.is_transition,
                      AuditRecord.to_state, AuditRecord.at, AuditRecord.data)
            .where(AuditRecord.dossier_id.in_(ids),
                   db.or_(AuditRecord.is_transition, AuditRecord.action == APOLOGY))
            .order_by(AuditRecord.dossier_id, AuditRecord.seq))


def step_clocks(dossiers: Sequence[Dossier], today: date | None = None,
                among: Select | None = None) -> dict[int, StepClock | None]:
    """`step_clock` of several dossiers with one query (lists, queue, reminders).
    `among`: a select of ids that includes the dossiers', to read their records by
    instead of binding every id (a province's thousands of waiting dossiers); records
    of other dossiers it selects are skipped."""
    today = today or local_today()
    limits: dict[int, TimeLimit] = {}
    paused: dict[str, frozenset[str]] = {}
    for dossier in dossiers:
        limit = _limit_of(dossier)
        if limit is not None:
            limits[dossier.id] = limit
            if dossier.kind not in paused:
                paused[dossier.kind] = _paused_states(dossier.kind)
    out: dict[int, StepClock | None] = {d.id: None for d in dossiers}
    if not limits:
        return out
    rows = db.session.execute(_clock_records(limits if among is None else among)).all()
    mine: dict[int, list] = {i: [] for i in limits}
    for r in rows:
        if r.dossier_id in mine:
            mine[r.dossier_id].append(r)
    soon, cal = _due_soon_days(), load_calendar()  # the calendar looked up once, not per clock
    for dossier in dossiers:
        if dossier.id in limits:
            out[dossier.id] = _clock(dossier, limits[dossier.id], paused[dossier.kind], mine[dossier.id], today, soon,
                                     cal)
    return out


def clock_from_records(dossier: Dossier, records: Iterable, today: date | None = None) -> StepClock | None:
    """`step_clock` from the dossier's audit records already read, in chain order (records
    other than transitions and apology slips are skipped): no statement."""
    limit = _limit_of(dossier)
    if limit is None:
        return None
    return _clock(dossier, limit, _paused_states(dossier.kind), records, today or local_today(), _due_soon_days(),
                  load_calendar())


def _clock(dossier: Dossier, limit: TimeLimit, paused: frozenset[str], records: Iterable, today: date,
           soon: int, cal: WorkCalendar) -> StepClock | None:
    transitions: list[tuple[str, date]] = []
    apologies: list[tuple[date, date]] = []
    for r in records:
        if r.is_transition and r.to_state:
            transitions.append((r.to_state, local_date(r.at)))
        elif r.action == APOLOGY and (r.data or {}).get("new_due") and r.data.get("state") == dossier.state:
            apologies.append((local_date(r.at), date.fromisoformat(r.data["new_due"])))
    try:
        return clock_from_transitions(transitions, dossier.state, limit, today, apologies=apologies,
                                      due_soon_days=soon, calendar=cal, paused=paused)
    except CalendarGap as gap:
        log.warning("dossier %s: no deadline for %s: %s", dossier.code, dossier.state, gap)
        run = current_run(transitions, dossier.state, paused)
        if run is None:
            return None
        return StepClock(state=dossier.state, started_on=run[0], unit=limit.unit, limit=limit.days, due_on=None,
                         days_left=None, overdue=False, due_soon=False, paused_days=0, calendar_gap=gap.year)


def clock_dict(clock: StepClock | None) -> dict | None:
    """The API's `clock` of a dossier."""
    if clock is None:
        return None
    return {"state": clock.state, "started_on": clock.started_on.isoformat(),
            "due_on": clock.due_on.isoformat() if clock.due_on else None, "unit": clock.unit,
            "limit": clock.limit, "days_left": clock.days_left, "overdue": clock.overdue,
            "due_soon": clock.due_soon, "paused_days": clock.paused_days,
            "apology": clock.apology.isoformat() if clock.apology else None,
            "calendar_gap": clock.calendar_gap}


# ----------------------------------------------------------------------------- apology slip

















