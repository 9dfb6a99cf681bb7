"""Step clocks: how long a dossier has waited in a state that carries a time limit
(states/*.yaml `time_limit: {days, unit}`), and the apology slip when it runs late.

The clock of a state S starts on the day the dossier entered S after last being in
a state other than S or a pausing one (`pauses_clock: true` in the definition, where
the dossier waits on the applicant; dates in +07:00). While the dossier sits in a
pausing state the clock pauses: the pause is [returned day, resubmitted day), the
convention of workdays.py. The start day never counts. An apology slip (phiếu xin lỗi
và hẹn lại ngày trả kết quả) issued in the run sets a new date that replaces the due
date; a later pause pushes that date on by the paused days.

`clock_from_transitions` is the pure core (dates in, dates out); `step_clock` reads a
dossier's audit records; `issue_apology` makes the slip (one per state and round,
numbered per issuing unit and year, recorded in the dossier's audit chain).
"""
from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app

from ..clock import local_date, local_now, local_today
from ..extensions import db
from ..models import AuditRecord, Dossier
from ..workdays import CalendarGap, WorkCalendar, load_calendar, merge_pauses
from ..pdf.numbers import document_number
from ..workflow.definitions import Actor, TimeLimit
from .wording import actor_name

log = logging.getLogger(__name__)

DUE_SOON_DAYS = 2
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


def step_clocks(dossiers: Sequence[Dossier], today: date | None = None) -> dict[int, StepClock | None]:
    """`step_clock` of several dossiers with one query (lists, queue, reminders)."""
    from .common import definition_of, engine

    today = today or local_today()
    limits: dict[int, TimeLimit] = {}
    paused: dict[str, frozenset[str]] = {}  # kind -> pausing states of all its roads (history spans roads)
    for dossier in dossiers:
        st = definition_of(dossier).states.get(dossier.state)
        if dossier.id is not None and st is not None and not st.closed and st.time_limit is not None:
            limits[dossier.id] = st.time_limit
            if dossier.kind not in paused:
                paused[dossier.kind] = frozenset().union(*(d.paused_states for d in engine().roads(dossier.kind)))
    out: dict[int, StepClock | None] = {d.id: None for d in dossiers}
    if not limits:
        return out
    rows = db.session.execute(
        db.select(AuditRecord.dossier_id, AuditRecord.action, AuditRecord.is_transition,
                  AuditRecord.to_state, AuditRecord.at, AuditRecord.data)
        .where(AuditRecord.dossier_id.in_(list(limits)),
               db.or_(AuditRecord.is_transition, AuditRecord.action == "apology"))
        .order_by(AuditRecord.dossier_id, AuditRecord.seq)).all()
    transitions: dict[int, list] = {i: [] for i in limits}
    apologies: dict[int, list] = {i: [] for i in limits}
    for r in rows:
        if r.is_transition and r.to_state:
            transitions[r.dossier_id].append((r.to_state, local_date(r.at)))
        elif r.action == "apology" and (r.data or {}).get("new_due"):
            apologies[r.dossier_id].append((local_date(r.at), r.data["state"], date.fromisoformat(r.data["new_due"])))
    soon = _due_soon_days()
    for dossier in dossiers:
        limit = limits.get(dossier.id)
        if limit is None:
            continue
        mine = [(on, new) for on, state, new in apologies[dossier.id] if state == dossier.state]
        try:
            out[dossier.id] = clock_from_transitions(transitions[dossier.id], dossier.state, limit, today,
                                                     apologies=mine, due_soon_days=soon,
                                                     paused=paused[dossier.kind])
        except CalendarGap as gap:
            log.warning("dossier %s: no deadline for %s: %s", dossier.code, dossier.state, gap)
            run = current_run(transitions[dossier.id], dossier.state, paused[dossier.kind])
            if run is not None:
                out[dossier.id] = StepClock(
                    state=dossier.state, started_on=run[0], unit=limit.unit, limit=limit.days, due_on=None,
                    days_left=None, overdue=False, due_soon=False, paused_days=0, calendar_gap=gap.year)
    return out


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

APOLOGY_PREFIX = "apology:"
APOLOGY_SYMBOL = "{number}/PXL-UBND"


def apology_kind(state: str) -> str:
    return f"{APOLOGY_PREFIX}{state}"


def apology_capacities(actor, dossier: Dossier):
    """Who may apologise for a step: whoever may fire an event leaving the state."""
    from ..permissions import capacities
    from .common import definition_of

    d = definition_of(dossier)
    actors = tuple(dict.fromkeys(a for e in d.events_from(dossier.state) for a in e.by))
    return capacities(actor, dossier.unit, actors) if actors else []


def apology_capacity(actor, dossier: Dossier):
    """The capacity the actor apologises in (the most specific unit), or 403."""
    from ..workflow.errors import NotPermitted

    caps = apology_capacities(actor, dossier)
    if not caps:
        raise NotPermitted(
            "Chỉ người có quyền xử lý bước hiện tại của hồ sơ mới được lập phiếu xin lỗi và hẹn lại ngày trả kết quả.",
            "Only someone who may act on the dossier's current step may issue an apology slip with a new date.")
    return max(caps, key=lambda c: len(c.unit.path))


def apology_of(dossier: Dossier, state: str | None = None):
    """The apology slip (Document) of the dossier's state in its present round, or None."""
    from ..models import Document

    return db.session.execute(
        db.select(Document).where(Document.dossier_id == dossier.id,
                                  Document.kind == apology_kind(state or dossier.state),
                                  Document.round == dossier.round)).scalar_one_or_none()


def can_apologize(actor, dossier: Dossier, clock: StepClock | None) -> bool:
    """Whether the dossier page offers the apology form to `actor`."""
    return bool(clock and clock.overdue and apology_capacities(actor, dossier) and apology_of(dossier) is None)


def _vn(d: date) -> str:
    return d.strftime("%d/%m/%Y")


def issue_apology(actor, dossier: Dossier, new_date: date, reason: str, *, today: date | None = None):
    """Issue the apology slip of the dossier's overdue step with a new date: a numbered
    Document (rendered to PDF now and kept) and an `apology` record in the audit chain.
    403 unless the actor may act on the step, 409 when the step already has one in
    this round, 422 when the step is not overdue or the date or reason is not valid."""
    from ..models import Document, utcnow
    from ..pdf.render import render_pdf
    from ..workflow.errors import Conflict, RuleRefused
    from .common import definition_of, last_filing, next_number, record, touch
    from .decisions import committee_of, in_sentence, place_name
    from .persist import flush_or_conflict
    from .storage import put_bytes

    d = definition_of(dossier)
    st = d.states[dossier.state]
    cap = apology_capacity(actor, dossier)
    existing = apology_of(dossier)
    if existing is not None:
        new_due = existing.data["facts"]["new_due"]
        raise Conflict(
            f"Bước '{st.labels['vi']}' của hồ sơ đã có phiếu xin lỗi số {existing.symbol} (vòng {dossier.round}), "
            f"hẹn lại ngày {_vn(date.fromisoformat(new_due))}. Mỗi bước chỉ lập một phiếu trong một vòng.",
            f"The step '{st.labels['en']}' already has apology slip {existing.symbol} (round {dossier.round}), "
            f"with the new date {new_due}. One slip per step and round.")
    today = today or local_today()
    clock = step_clock(dossier, today)
    if clock is None:
        raise RuleRefused(f"Bước '{st.labels['vi']}' không có thời hạn xử lý, nên không lập phiếu xin lỗi.",
                          f"The step '{st.labels['en']}' has no time limit, so it takes no apology slip.")
    if clock.calendar_gap:
        raise RuleRefused(
            f"Không tính được hạn (thiếu lịch nghỉ năm {clock.calendar_gap}). Hãy báo quản trị viên bổ sung lịch.",
            f"The deadline cannot be computed (no holiday calendar for {clock.calendar_gap}). Ask the administrator.")
    if not clock.overdue:
        raise RuleRefused(
            f"Hồ sơ chưa quá hạn: hạn xử lý bước '{st.labels['vi']}' là ngày {_vn(clock.due_on)}. "
            "Chỉ lập phiếu xin lỗi khi đã quá hạn.",
            f"The dossier is not late: the step '{st.labels['en']}' is due on {clock.due_on.isoformat()}. "
            "An apology slip is for a late step only.")
    reason = (reason or "").strip()
    if not reason:
        raise RuleRefused("Hãy ghi lý do chậm trễ.", "Give the reason for the delay.", field="reason")
    if new_date <= today:
        raise RuleRefused(f"Ngày hẹn mới phải sau hôm nay ({_vn(today)}).",
                          f"The new date must be after today ({today.isoformat()}).", field="new_date")
    if new_date > today + timedelta(days=366):
        raise RuleRefused("Ngày hẹn mới không được quá một năm kể từ hôm nay.",
                          "The new date must be within a year from today.", field="new_date")
    if clock.unit == "working":
        try:
            working = load_calendar().is_working_day(new_date)
        except CalendarGap as gap:
            raise RuleRefused(f"Không tính được ngày làm việc (thiếu lịch nghỉ năm {gap.year}).",
                              f"Working days cannot be computed (no holiday calendar for {gap.year}).") from None
        if not working:
            raise RuleRefused(f"Ngày {_vn(new_date)} không phải ngày làm việc. Hãy chọn một ngày làm việc.",
                              f"{new_date.isoformat()} is not a working day. Pick a working day.", field="new_date")

    issuer = cap.unit
    now = local_now()
    number = next_number(f"apology:{issuer.code}:{now.year}")
    symbol = APOLOGY_SYMBOL.format(number=document_number(number))
    submit = last_filing(dossier)
    parent = dossier.unit.parent_on(now.date())
    facts = {
        "dossier_code": dossier.code, "dossier_kind": dossier.kind, "dossier_label": d.labels["vi"],
        "year": dossier.year, "round": dossier.round, "state": dossier.state,
        "state_label": st.labels["vi"], "applicant": in_sentence(dossier.unit.name),
        "applicant_parent": in_sentence(parent.name) if parent else None,
        "recipient": committee_of(submit.unit) if submit else committee_of(dossier.unit),
        "received_on": local_date(submit.at).isoformat() if submit else None,
        "started_on": clock.started_on.isoformat(), "limit": clock.limit, "unit": clock.unit,
        "old_due": clock.due_on.isoformat(), "new_due": new_date.isoformat(), "reason": reason,
        "number": number, "symbol": symbol, "issued_at": now.isoformat(timespec="seconds"),
        "issuer": {"code": issuer.code, "name": issuer.name, "place": place_name(issuer),
                   "committee": committee_of(issuer)},
        "signer_name": actor.name, "signer_role": cap.role,
        # The capacity line above the signature, in the words of the role held at issue.
        "signer_title": actor_name(Actor(cap.role, issuer.level), "vi"),
    }
    record(dossier, actor, cap, "apology", comment=reason,
           data={"state": dossier.state, "old_due": facts["old_due"], "new_due": facts["new_due"],
                 "symbol": symbol})
    doc = Document(dossier_id=dossier.id, dossier=dossier, kind=apology_kind(dossier.state), round=dossier.round,
                   number=number, symbol=symbol, issued_at=utcnow(), issued_by_id=actor.id, issuer_id=issuer.id,
                   data={"facts": facts})
    db.session.add(doc)
    touch(dossier)  # the step's due date changed: a new version, like every change
    flush_or_conflict()  # two slips at once: one wins (version, and the (dossier, kind, round) key)
    # Rendered now and kept: the download serves these bytes (documents.ensure_pdf sees the key).
    doc.pdf_key, doc.pdf_sha256 = put_bytes(render_pdf("pdf/apology.html", apology_context(facts)), ".pdf")
    log.info("dossier %s: apology %s for %s, due %s -> %s", dossier.code, symbol, dossier.state,
             facts["old_due"], facts["new_due"])
    return doc


def apology_context(facts: dict) -> dict:
    """Plain values for templates/pdf/apology.html (Decree 30 layout, like the receipt)."""
    from ..pdf.documents import short_date
    from ..pdf.render import vn_date_line

    issued = datetime.fromisoformat(facts["issued_at"])
    issuer = facts["issuer"]
    unit_word = "ngày làm việc" if facts["unit"] == "working" else "ngày"
    applicant = facts["applicant"] + (f", {facts['applicant_parent']}" if facts.get("applicant_parent") else "")
    received = (f"Ngày {short_date(date.fromisoformat(facts['received_on']))}, " if facts.get("received_on") else "")
    old_due = short_date(date.fromisoformat(facts["old_due"]))
    new_due = short_date(date.fromisoformat(facts["new_due"]))
    return {
        "title": f"Phiếu xin lỗi và hẹn lại ngày trả kết quả {facts['symbol']}",
        "issuer_lines": ["ỦY BAN NHÂN DÂN", issuer["name"].upper()],
        "number_line": f"Số: {facts['symbol']}",
        "date_line": vn_date_line(issuer["place"], issued.date()),
        "doc_type": "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        "recipient": facts["recipient"],
        "paragraphs": [
            (f"{received}{issuer['committee']} tiếp nhận hồ sơ mã {facts['dossier_code']} "
             f"({facts['dossier_label'].lower()}) của {applicant}."),
            (f"Bước xử lý \u201c{facts['state_label']}\u201d có thời hạn {facts['limit']} {unit_word}, "
             f"tính từ ngày {short_date(date.fromisoformat(facts['started_on']))}, hạn xử lý là ngày {old_due}. "
             "Đến hạn, hồ sơ chưa được xử lý xong."),
            f"Lý do chậm trễ: {facts['reason']}",
            (f"Sự chậm trễ này đã gây phiền hà cho quý cơ quan. {issuer['committee']} xin lỗi "
             f"và xin hẹn lại ngày trả kết quả của bước này là ngày {new_due}."),
            "Rất mong nhận được sự thông cảm của quý cơ quan.",
        ],
        "facts": [
            {"label": "Mã hồ sơ", "value": facts["dossier_code"]},
            {"label": "Đơn vị đề nghị công nhận", "value": applicant},
            {"label": "Hạn xử lý cũ", "value": old_due},
            {"label": "Ngày hẹn trả kết quả mới", "value": new_due},
        ],
        # Slips issued before signer_title was stored print the heading alone.
        "signature_lines": ["ĐẠI DIỆN CƠ QUAN GIẢI QUYẾT"]
        + ([facts["signer_title"].upper()] if facts.get("signer_title") else []),
        "signer_name": facts["signer_name"],
        "sign_note": f"({issuer['committee']})",
        "dossier_code": facts["dossier_code"],
    }
