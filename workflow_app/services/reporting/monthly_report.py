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

Month boundaries are Vietnam time (00:00 +07:00 on the 1st), while audit times
are naive UTC: the end of September is 2024-09-30 17:00 UTC.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, func

from ...clock import local_date, local_month_bounds
from ...extensions import db
from ...formats import vn_date
from ...models import AuditRecord, Dossier, Unit, UnitLink, User
from ...months import check_in_range, first_day, last_day, month_label, month_or_current, month_parts, shift_month
from ...permissions import Scope, in_scope, scope_clause, scope_of
from ...workflow.errors import BadRequest
from ..committee.visits import report_status
from ..core.campaigns import campaign_for
from ..core.clocks import step_clocks
from ..core.common import definition_of, engine
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
class KindCounts:
    kind: str
    label: str
    rows: list[StateChange]

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
    moves: list[MoveRow]
    move_counts: dict[str, int]
    move_labels: dict[str, str]
    overdue: list[OverdueRow]
    reports: list[MemberReportRow]
    criteria_year: int = 0  # the campaign year of the criteria figures (latest with dossiers)
    criteria: list[CriterionProgress] = field(default_factory=list)

    @property
    def label(self) -> str:
        return month_label(self.month)

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

def monthly_report(user: User, month: str | None, today: date, lang: str = "vi") -> MonthlyReportData:
    month = report_month(month, today)
    year, month_no = month_parts(month)
    reading = scope_of(user, progress=True)
    start, end = local_month_bounds(year, month_no)
    eng = engine()
    village_kind = eng.kinds_by_level()[0]  # the most local applicants: the per-commune table's kind
    vd = eng.definition(village_kind)

    month_end = last_day(month)
    day = month_day(month_end, today)  # communes of the month's end (or of today)
    at_end = states_at(end, reading, day)
    at_prev = states_at(start, reading, day)
    # Villages, communes, then towns (vocabulary.APPLICANT_ORDER): the order of the district's notice.
    ordered = eng.kinds_by_level()
    kinds = []
    for kind in ordered:
        d = eng.definition(kind)
        rows = []
        for s, st in d.states.items():
            e = sum(n for (k, _p, state), n in at_end.items() if k == kind and state == s)
            p = sum(n for (k, _p, state), n in at_prev.items() if k == kind and state == s)
            rows.append(StateChange(s, st.labels[lang], e, p))
        kinds.append(KindCounts(kind, eng.kind_label(kind, lang), rows))

    moves = moves_between(start, end, reading, lang, day)
    criteria_year = default_year(user, village_kind, year)
    def of_commune(counts: dict, commune_id: int) -> dict[str, int]:
        return {s: n for (k, p, s), n in counts.items() if k == village_kind and p == commune_id}

    communes = []
    groups = group_ids(reading, day, vd.applicant_level)
    for c in db.session.execute(db.select(Unit).where(Unit.id.in_(groups)).order_by(Unit.name)).scalars():
        mine = {}
        for m in moves:
            if m.commune_code == c.code and m.event in vd.events:
                mine[m.event] = mine.get(m.event, 0) + 1
        communes.append(CommuneMonth(c.code, c.name, of_commune(at_end, c.id), of_commune(at_prev, c.id), mine))
    # `reported: true` events (filing, returning, deciding) are counted even at zero.
    move_counts: dict[str, int] = {e: 0 for k in ordered for e, ev in eng.definition(k).events.items() if ev.reported}
    for m in moves:
        move_counts[m.event] = move_counts.get(m.event, 0) + 1
    move_labels = {}
    for kind in ordered:
        for name, e in eng.definition(kind).events.items():
            move_labels.setdefault(name, e.labels[lang])

    overdue = overdue_now(reading, today, lang)
    reports = member_reports(reading, month, today)
    scope = _scope_unit(user)
    return MonthlyReportData(
        month=month, year=year, month_no=month_no, previous_month=shift_month(month, -1),
        first_day=first_day(month), last_day=month_end, today=today,
        scope_name=scope.name if scope else "", scope_level=scope.level if scope else "",
        village_kind=village_kind, states=list(vd.states),
        state_labels={s: st.labels[lang] for s, st in vd.states.items()},
        kinds=kinds, communes=communes, moves=moves, move_counts=move_counts, move_labels=move_labels,
        overdue=overdue, reports=reports,
        criteria_year=criteria_year,
        criteria=criteria_progress(village_kind, latest_ids(village_kind, criteria_year, reading, vd.applicant_level),
                                   lang))


def _scope_unit(user: User) -> Unit | None:
    units = [ra.unit for ra in user.roles if ra.unit.level != "village"]
    return min(units, key=lambda u: len(u.path)) if units else None


def states_at(moment: datetime, scope: Scope, day: date | None = None) -> dict[tuple[str, int | None, str], int]:
    """(kind, parent unit id on `day`, state) -> dossiers in scope, as they stood at
    `moment` (naive UTC): the last transition record before it, per dossier. The
    parent is None for an applicant with no place on `day`."""
    last = (db.select(AuditRecord.dossier_id.label("dossier_id"), func.max(AuditRecord.seq).label("seq"))
            .join(Dossier, Dossier.id == AuditRecord.dossier_id)
            .join(Unit, Dossier.unit_id == Unit.id)
            .where(AuditRecord.is_transition.is_(True), AuditRecord.at < moment,
                   scope_clause(Unit.id, scope))
            .group_by(AuditRecord.dossier_id)).subquery()
    link = db.aliased(UnitLink)
    stmt = (db.select(Dossier.kind, link.parent_id, AuditRecord.to_state, func.count(Dossier.id))
            .join(last, last.c.dossier_id == Dossier.id)
            .join(AuditRecord, and_(AuditRecord.dossier_id == last.c.dossier_id, AuditRecord.seq == last.c.seq))
            .outerjoin(link, place_on(link, Dossier.unit_id, day or local_date(moment - timedelta(seconds=1))))
            .group_by(Dossier.kind, link.parent_id, AuditRecord.to_state))
    return {(kind, parent, state): n for kind, parent, state, n in db.session.execute(stmt)}


def moves_between(start: datetime, end: datetime, scope: Scope, lang: str = "vi",
                  day: date | None = None) -> list[MoveRow]:
    """State changes (not creations) of dossiers in scope during [start, end), each
    under its applicant's commune on `day` (the month's reference day)."""
    parent, link = db.aliased(Unit), db.aliased(UnitLink)
    stmt = (db.select(AuditRecord, Dossier, Unit.name, parent.name, parent.code)
            .join(Dossier, Dossier.id == AuditRecord.dossier_id)
            .join(Unit, Dossier.unit_id == Unit.id)
            .outerjoin(link, place_on(link, Dossier.unit_id, day or local_date(end - timedelta(seconds=1))))
            .outerjoin(parent, link.parent_id == parent.id)
            .where(AuditRecord.is_transition.is_(True), AuditRecord.action != "create",
                   AuditRecord.at >= start, AuditRecord.at < end, scope_clause(Unit.id, scope))
            .order_by(AuditRecord.at, AuditRecord.id))
    rows = []
    for rec, dossier, unit_name, parent_name, parent_code in db.session.execute(stmt):
        d = definition_of(dossier)
        label = d.events[rec.action].labels[lang] if rec.action in d.events else rec.action
        rows.append(MoveRow(rec.at, rec.action, label, dossier.id, dossier.code, unit_name, parent_name or "",
                            parent_code or "", rec.actor.name, rec.comment))
    return rows


def overdue_now(scope: Scope, today: date, lang: str = "vi") -> list[OverdueRow]:
    """Open dossiers in scope whose step clock has run out on `today`, most late first.
    One query for the dossiers, one for their clocks (services.core.clocks.step_clocks)."""

    eng = engine()
    timed = [(k, s) for k in eng.kinds() for s, st in eng.definition(k).states.items()
             if not st.closed and st.time_limit is not None]
    parent, link = db.aliased(Unit), db.aliased(UnitLink)
    rows = [] if not timed else db.session.execute(
        db.select(Dossier, parent.name)
        .outerjoin(link, place_on(link, Dossier.unit_id, today)).outerjoin(parent, link.parent_id == parent.id)
        .where(scope_clause(Dossier.unit_id, scope),
               db.or_(*[and_(Dossier.kind == k, Dossier.state == s) for k, s in timed]))
        .order_by(Dossier.id)).all()
    clocks = step_clocks([x for x, _ in rows], today)
    late = [(x, p, clocks.get(x.id)) for x, p in rows]
    late = [(x, p, c) for x, p, c in late if c is not None and c.overdue and c.due_on is not None]
    reasons = _last_comments([x.id for x, _, _ in late])
    found = []
    for dossier, parent_name, clock in late:
        d = definition_of(dossier)
        step = d.states[dossier.state].labels[lang]
        why = f"{step}: {reasons[dossier.id]}" if reasons.get(dossier.id) else step
        found.append(OverdueRow(
            dossier.id, dossier.code, engine().kind_label(dossier.kind, lang), dossier.unit.name, parent_name or "",
            dossier.state,
            step, clock.due_on, clock.days_late, _who_acts(d, dossier.state, lang), why, clock.unit))
    found += unfiled_after_deadline(scope, today, lang)
    found.sort(key=lambda r: (-r.days_late, r.code))
    return found


def unfiled_after_deadline(scope: Scope, today: date, lang: str = "vi") -> list[OverdueRow]:
    """Dossiers still in their first state (never submitted) after their campaign's
    filing deadline (services.core.campaigns): late in calendar days since the deadline."""

    eng = engine()
    parent, link = db.aliased(Unit), db.aliased(UnitLink)
    initial = [(k, eng.definition(k).initial) for k in eng.kinds()]
    rows = db.session.execute(
        db.select(Dossier, parent.name)
        .outerjoin(link, place_on(link, Dossier.unit_id, today)).outerjoin(parent, link.parent_id == parent.id)
        .where(scope_clause(Dossier.unit_id, scope),
               db.or_(*[and_(Dossier.kind == k, Dossier.state == s) for k, s in initial]))
        .order_by(Dossier.id)).all()
    out = []
    for dossier, parent_name in rows:
        campaign = campaign_for(dossier.kind, dossier.year)
        if campaign is None or today <= campaign.deadline:
            continue
        d = definition_of(dossier)
        step = d.states[dossier.state].labels[lang]
        deadline = vn_date(campaign.deadline)
        why = (f"{step}: chưa nộp, hạn nộp hồ sơ của đợt là {deadline}" if lang == "vi"
               else f"{step}: not filed; the campaign's filing deadline was {deadline}")
        out.append(OverdueRow(dossier.id, dossier.code, engine().kind_label(dossier.kind, lang), dossier.unit.name,
                              parent_name or "",
                              dossier.state, step, campaign.deadline, (today - campaign.deadline).days,
                              _who_acts(d, dossier.state, lang), why))
    return out


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
            .where(AuditRecord.dossier_id.in_(ids), AuditRecord.is_transition.is_(True))
            .group_by(AuditRecord.dossier_id)).subquery()
    stmt = (db.select(AuditRecord.dossier_id, AuditRecord.comment)
            .join(last, and_(AuditRecord.dossier_id == last.c.dossier_id, AuditRecord.seq == last.c.seq)))
    return {i: c for i, c in db.session.execute(stmt) if c}


def member_reports(scope: Scope, month: str, today: date) -> list[MemberReportRow]:
    """The steering committee's reports for the month (services.committee.visits), for
    communes in scope: a commune officer sees the reports on their commune."""

    rows = []
    for r in report_status(month, today):
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
