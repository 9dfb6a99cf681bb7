"""Everything a dossier page shows, gathered for one user in one place, so
templates stay free of rules (what the user may do is decided here)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from ...clock import local_today
from ...extensions import db
from ...formats import field_value, input_number, lower_first, vn_date
from ...models import Attachment, AuditRecord, Decision, Dossier, DossierLine, User
from ...permissions import capacities, ended_roles, has_acted
from ...workflow.definitions import Definition
from ...workflow.errors import NotFound
from ..core.common import definition_of, engine, facts_of
from ..core.events import EventOption, event_options
from ..core.line_workbook import cell_text
from ..core.lines import ordered, totals, unit_names, unit_options
from ..core.wording import who
from ..documents.decisions import decision_of

ACTION_LABELS = {
    "create": ("Tạo hồ sơ", "Created"), "self_assess": ("Tự đánh giá", "Self-assessed"),
    "attach": ("Tải minh chứng", "Uploaded evidence"),
    "remove_evidence": ("Gỡ minh chứng", "Removed evidence"),
    "appraise_criterion": ("Thẩm định tiêu chí", "Appraised a criterion"),
    "set_fields": ("Cập nhật thông tin", "Updated fields"),
    "apology": ("Lập phiếu xin lỗi và hẹn lại ngày trả kết quả", "Issued an apology slip with a new date"),
    "takeover": ("Chuyển giao thẩm quyền theo sắp xếp đơn vị hành chính", "Handed over by an administrative reform"),
    "add_line": ("Thêm dòng", "Added a line"), "update_line": ("Sửa dòng", "Edited a line"),
    "remove_line": ("Xoá dòng", "Removed a line"),
    "import_lines": ("Nhập các dòng từ tệp Excel", "Imported the lines from an Excel file"),
}
VALUE_WORDS = {"met": ("đạt", "met"), "not_met": ("chưa đạt", "not met"),
               "pass": ("đạt", "pass"), "fail": ("không đạt", "fail")}
ROLE_NAMES = {"preparer": ("Người lập hồ sơ", "Preparer"), "submitter": ("Cán bộ nộp hồ sơ", "Submitting officer"),
              "appraiser": ("Cán bộ thẩm định", "Appraiser"), "approver": ("Lãnh đạo phê duyệt", "Approver"),
              "viewer": ("Người xem", "Viewer"), "admin": ("Quản trị", "Administrator"),
              "system": ("Hệ thống", "System")}


@dataclass
class CriterionRow:
    code: str
    name: str
    requirement: str
    owner: str
    self_assessment: str | None
    note: str | None
    verdict: str | None
    verdict_note: str | None
    appraiser: str | None
    evidence: list[Attachment]
    removed: list[Attachment] = field(default_factory=list)  # removed files, kept for the history
    # The verdict of the round before a return, when this round has none yet.
    previous_verdict: str | None = None
    previous_note: str | None = None
    previous_appraiser: str | None = None
    reappraise: bool = False  # a new round: this criterion is appraised again
    status: str = ""  # checklist state, see CHECK_STATES
    status_label: str = ""
    needs: str = ""   # what this criterion still needs, in words


# The checklist's states, in the order a user deals with them.
CHECK_STATES = {
    "failed": ("Không đạt", "Failed"),
    "not_assessed": ("Chưa tự đánh giá", "Not assessed"),
    "not_met": ("Tự đánh giá chưa đạt", "Self-assessed not met"),
    "no_evidence": ("Chưa có minh chứng", "No evidence"),
    "waiting": ("Chờ thẩm định", "Awaiting appraisal"),
    "passed": ("Đạt", "Passed"),
}


@dataclass
class ReturnLetter:
    """The last return of the dossier, as the applicant reads it."""
    at: datetime
    actor: str
    role: str
    unit: str
    comment: str
    round: int  # the round that was returned
    failed: list[CriterionRow]
    with_applicant: bool  # still to be completed (not yet handed in again)


@dataclass
class Checklist:
    step: str | None          # the next step that moves the dossier on
    who: str | None           # who takes it
    conditions: list[str]     # what it needs beyond the criteria (fields, posting...)
    counts: list[tuple[str, int]]  # (state label, criteria in that state)


@dataclass
class FieldRow:
    name: str
    label: str
    type: str
    value: object
    display_raw: str
    editable: bool
    min: float | None
    max: float | None


@dataclass
class HistoryRow:
    at: datetime
    actor: str
    role: str
    unit: str
    action: str
    from_state: str | None
    to_state: str | None
    comment: str | None
    is_transition: bool
    detail: str | None


@dataclass
class DossierPage:
    dossier: Dossier
    definition: Definition
    kind_label: str
    state_label: str
    next_actors: list[str]
    criteria: list[CriterionRow]
    fields: list[FieldRow]
    events: list[EventOption]
    history: list[HistoryRow]
    decision: Decision | None
    revocation: Decision | None
    can_self_assess: bool = False
    can_upload: bool = False
    can_appraise: bool = False
    appraisable: set[str] = field(default_factory=set)
    checklist: Checklist | None = None
    last_return: ReturnLetter | None = None
    ended_role: str | None = None  # why someone who acted before the reform only reads now
    lines: LinesView | None = None  # a definition with `lines`: its table instead of criteria


def _ended_role(actor: User, dossier: Dossier, lang: str) -> str | None:
    ended = ended_roles(actor, dossier.unit)
    if not ended or dossier.open_key is None:
        return None
    unit = ended[0].unit
    basis = f" ({unit.ended_by.legal_basis})" if unit.ended_by else ""
    if lang == "en":
        return (f"Your role at {unit.name} ended after {vn_date(unit.valid_to)}{basis}. "
                "You can still read this dossier; the present authority acts on it (see the next step).")
    return (f"Vai trò của bạn tại {unit.name} đã chấm dứt sau ngày {vn_date(unit.valid_to)}{basis}. "
            "Bạn vẫn xem được hồ sơ; cơ quan có thẩm quyền hiện nay xử lý hồ sơ (xem bước tiếp theo).")


def _can(actor: User, dossier: Dossier, d: Definition, action: str) -> bool:
    a = d.actions.get(action)  # a definition with `lines` has no criteria actions
    return a is not None and (not a.states or dossier.state in a.states) \
        and bool(capacities(actor, dossier.unit, a.by)) and not has_acted(dossier, actor, a.not_by_actor_of)


def dossier_page(actor: User, dossier: Dossier, lang: str, shown_round: int | None = None) -> DossierPage:
    """`shown_round`: for a definition with `lines`, an earlier version of the table to read."""
    d = definition_of(dossier)
    entries = {e.code: e for e in dossier.current_criteria()}
    before = {e.code: e for e in dossier.criteria if e.round == dossier.round - 1}
    uploads_open = d.actions["attach"].states
    with_applicant = not uploads_open or dossier.state in uploads_open
    rows = []
    for c in d.criteria:
        e, b = entries.get(c.code), before.get(c.code)
        row = CriterionRow(
            code=c.code, name=c.name.get(lang, c.name["vi"]), requirement=(c.requirement or {}).get(lang, ""),
            owner=(c.owner or {}).get(lang, ""), self_assessment=e.self_assessment if e else None,
            note=e.note if e else None, verdict=e.verdict if e else None, verdict_note=e.verdict_note if e else None,
            appraiser=e.appraiser.name if e and e.appraiser else None, evidence=dossier.evidence_for(c.code),
            removed=dossier.removed_evidence_for(c.code))
        if b is not None and row.verdict is None:
            row.reappraise = True
            row.previous_verdict, row.previous_note = b.verdict, b.verdict_note
            row.previous_appraiser = b.appraiser.name if b.appraiser else None
        row.status, row.needs = _check(row, lang, with_applicant)
        row.status_label = CHECK_STATES[row.status][0 if lang == "vi" else 1]
        rows.append(row)
    fields = []
    for fd in d.fields.values():
        value = (dossier.fields or {}).get(fd.name)
        editable = dossier.state in fd.states and bool(capacities(actor, dossier.unit, fd.by))
        raw = input_number(value, lang)  # what a user types, and what the form reads back as the same number
        fields.append(FieldRow(fd.name, fd.labels[lang], fd.type, value, raw, editable, fd.min, fd.max))
    # The next step: events that move the dossier on (not a return, rejection or revocation).
    next_actors = [f"{who(e.by, lang)}: {e.labels[lang]}" for e in d.offered_from(dossier.state)
                   if not e.negative and not d.states[e.dest].closed]
    records = _records(dossier)
    page = DossierPage(
        dossier=dossier, definition=d, kind_label=engine().kind_label(dossier.kind, lang),
        state_label=d.states[dossier.state].labels[lang],
        next_actors=next_actors, criteria=rows, fields=fields, events=event_options(actor, dossier),
        history=history_rows(records, d, lang), decision=decision_of(dossier),
        revocation=decision_of(dossier, "revocation"),
        can_self_assess=_can(actor, dossier, d, "self_assess"), can_upload=_can(actor, dossier, d, "attach"),
        can_appraise=_can(actor, dossier, d, "appraise_criterion"),
        ended_role=_ended_role(actor, dossier, lang))
    if d.lines is not None:
        page.lines = lines_view(actor, dossier, d, lang, shown_round, records)
    page.checklist = _checklist(dossier, d, rows, lang)
    if page.lines is not None and page.lines.current:
        page.lines.next_step = page.checklist.conditions
    page.last_return = _last_return(dossier, d, rows, lang, with_applicant, records)
    if page.can_appraise:
        caps = capacities(actor, dossier.unit, d.actions["appraise_criterion"].by)
        limits = [c.assignment.criteria for c in caps]
        page.appraisable = {c.code for c in d.criteria} if any(not x for x in limits) else set().union(*limits)
    return page


def _check(row: CriterionRow, lang: str, with_applicant: bool) -> tuple[str, str]:
    """A criterion's checklist state and what it still needs, in words. While the
    dossier is back with its applicant, a criterion failed in the returned round
    shows as failed, with the appraiser's note."""
    en = lang == "en"
    if row.verdict == "fail" or (with_applicant and row.verdict is None and row.previous_verdict == "fail"):
        note = row.verdict_note if row.verdict == "fail" else row.previous_note
        if note:
            return "failed", (f"Complete it as the appraiser asks: {note}" if en
                              else f"Bổ sung theo ý kiến thẩm định: {note}")
        return "failed", ("Complete it and submit again." if en else "Bổ sung rồi nộp lại.")
    if row.verdict == "pass":
        return "passed", ""
    if row.self_assessment is None:
        return "not_assessed", ("Self-assess it (met or not met)." if en
                                else "Tự đánh giá tiêu chí (đạt hoặc chưa đạt).")
    if row.self_assessment != "met":
        return "not_met", ("Submitting needs it self-assessed as met." if en
                           else "Để nộp hồ sơ, tiêu chí cần được tự đánh giá đạt.")
    if not row.evidence:
        return "no_evidence", ("Upload at least one evidence file." if en else "Tải lên ít nhất một tệp minh chứng.")
    if row.reappraise:
        return "waiting", ("To be appraised again in this round." if en else "Được thẩm định lại ở vòng này.")
    return "waiting", ("The appraiser gives a verdict after submission." if en
                       else "Cán bộ thẩm định cho ý kiến sau khi hồ sơ được nộp.")


def _checklist(dossier: Dossier, d: Definition, rows: list[CriterionRow], lang: str) -> Checklist:
    step = next((e for e in d.events_from(dossier.state)
                 if not d.states[e.dest].closed and not e.starts_round), None)
    counts = {k: 0 for k in CHECK_STATES}
    for r in rows:
        counts[r.status] += 1
    conditions: list[str] = []
    if step is not None:
        # What the step's guards still refuse once every criterion is taken as done:
        # the conditions beyond the criteria (fields, posting days...), for everyone.
        facts = facts_of(dossier, d)
        done = tuple(replace(c, self_assessment="met", verdict="pass", evidence_count=max(c.evidence_count, 1))
                     for c in facts.criteria)
        refusals = engine().refusals(d, dossier.state, step.name, replace(facts, criteria=done))
        conditions = [t.get(lang) for t in refusals]
    return Checklist(step=step.labels[lang] if step else None, who=who(step.by, lang) if step else None,
                     conditions=conditions,
                     counts=[(CHECK_STATES[k][0 if lang == "vi" else 1], n) for k, n in counts.items() if n])


def _records(dossier: Dossier) -> list[AuditRecord]:
    """The dossier's audit trail, oldest first: read once for the history, the last
    return and the rounds' outcomes."""
    return list(db.session.execute(db.select(AuditRecord).where(AuditRecord.dossier_id == dossier.id)
                                   .order_by(AuditRecord.seq)).scalars())


def _last_return(dossier: Dossier, d: Definition, rows: list[CriterionRow], lang: str,
                 with_applicant: bool, records: list[AuditRecord]) -> ReturnLetter | None:
    """The return that opened the present round, while the dossier is still open
    and undecided (its applicant completes it, then the appraisers read it again)."""
    if dossier.round < 2 or d.states[dossier.state].closed or decision_of(dossier) is not None:
        return None
    returns = {name for name, e in d.events.items() if e.starts_round}
    r = next((r for r in reversed(records) if r.action in returns), None)
    if r is None:
        return None
    i = 0 if lang == "vi" else 1
    failed = [row for row in rows if row.previous_verdict == "fail" or row.verdict == "fail"]
    return ReturnLetter(at=r.at, actor=r.actor.name, role=ROLE_NAMES.get(r.role, (r.role, r.role))[i],
                        unit=r.unit.name, comment=r.comment or "", round=dossier.round - 1, failed=failed,
                        with_applicant=with_applicant)


def history_rows(records: list[AuditRecord], d: Definition, lang: str) -> list[HistoryRow]:
    i = 0 if lang == "vi" else 1
    rows = []
    for r in records:
        if r.action in d.events:
            action = d.events[r.action].labels[lang]
        else:
            action = ACTION_LABELS.get(r.action, (r.action, r.action))[i]
        data = r.data or {}
        detail = None
        if data.get("criterion"):
            detail = ("Tiêu chí " if lang == "vi" else "Criterion ") + str(data["criterion"])
            for key in ("self_assessment", "verdict", "filename"):
                if data.get(key):
                    detail += ": " + VALUE_WORDS.get(data[key], (data[key], data[key]))[i]
        elif r.action == "apology" and data.get("new_due"):
            step = d.states[data["state"]].labels[lang] if data.get("state") in d.states else data.get("state")
            old, new = (vn_date(data[k]) for k in ("old_due", "new_due"))
            detail = (f"{data.get('symbol', '')} · {step}: hạn {old} → hẹn lại {new}" if lang == "vi"
                      else f"{data.get('symbol', '')} · {step}: due {old} → new date {new}")
        elif r.action == "import_lines" and data.get("lines") is not None:
            detail = f"{data['lines']} dòng" if lang == "vi" else f"{data['lines']} lines"
        elif data.get("fields"):
            detail = ", ".join(f"{d.fields[k].labels[lang] if k in d.fields else k}: "
                               f"{vn_date(v) if k in d.fields and d.fields[k].type == 'date' else field_value(v, lang)}"
                               for k, v in data["fields"].items())
        label = (lambda s: d.states[s].labels[lang] if s in d.states else s)
        rows.append(HistoryRow(
            at=r.at, actor=r.actor.name, role=ROLE_NAMES.get(r.role, (r.role, r.role))[i], unit=r.unit.name,
            action=action, from_state=label(r.from_state) if r.from_state else None,
            to_state=label(r.to_state) if r.to_state else None, comment=r.comment,
            is_transition=r.is_transition, detail=detail))
    return rows


# --- a dossier made of lines --------------------------------------------------------

@dataclass
class LineColumnView:
    name: str
    label: str
    type: str
    required: bool
    money: bool
    sequence: bool
    options: list[tuple[str, str]]  # (value, label) of a choice or unit column's <select>


@dataclass
class LineRow:
    id: int
    title: str                 # the line in words (its text and unit cells), e.g. for a grant's input
    cells: list[str]           # each column's value as read, in the columns' order
    inputs: dict[str, str]     # each column's value as an edit box holds it
    asked: str                 # the granted column's amount asked, as an edit box holds it
    granted: str | None        # the amount granted, as read; None until granted
    short: bool = False        # granted less than asked


@dataclass
class TotalLine:
    label: str
    amount: str
    granted: str | None


@dataclass
class RoundLink:
    round: int
    label: str
    current: bool


@dataclass
class LinesView:
    """The table of one round: the current one (editable while `edit_lines` allows)
    or an earlier version, read only, with what became of it (`banner`)."""
    round: int
    current: bool
    columns: list[LineColumnView]
    rows: list[LineRow]
    totals: list[TotalLine]
    total: TotalLine
    breakdown_label: str
    measure_label: str
    rounds: list[RoundLink]
    banner: str | None
    can_edit: bool
    grant_event: str | None        # the event that grants per line, when the road has one
    grant_label: str | None        # the granted column's label
    show_granted: bool
    partly: str | None             # said when some line got less than it asked
    next_step: list[str]           # what the next step still needs (guards), in words


def _round_outcomes(records: list[AuditRecord], d: Definition, lang: str) -> dict[int, str]:
    """What became of each closed round, in words: the n-th event that started a round
    closed round n (a return: returned; an amendment: accepted, then amended)."""
    starts = {name for name, e in d.events.items() if e.starts_round}
    out = {}
    for n, r in enumerate((r for r in records if r.action in starts), start=1):
        event = d.events.get(r.action)
        state = (r.to_state if event is not None and event.negative else r.from_state) or ""
        label = d.states[state].labels[lang] if state in d.states else state
        label = lower_first(label)
        step = event.labels[lang] if event is not None else r.action
        out[n] = f"{label}; {step}: {vn_date(r.at)}"
    return out


def lines_view(actor: User, dossier: Dossier, d: Definition, lang: str, shown_round: int | None,
               records: list[AuditRecord]) -> LinesView:
    spec = d.lines
    shown = dossier.round if shown_round is None else shown_round
    by_round: dict[int, list[DossierLine]] = {}
    for line in dossier.lines:
        by_round.setdefault(line.round, []).append(line)
    if shown != dossier.round and shown not in by_round:
        raise NotFound(f"Hồ sơ không có phiên bản {shown} của bảng các dòng.",
                       f"The dossier has no version {shown} of its table of lines.")
    current = shown == dossier.round
    lines = ordered(spec, by_round.get(shown, []))
    names = unit_names(ln.values.get(c.name) for ln in lines for c in spec.columns.values() if c.type == "unit")
    can_edit = current and _can(actor, dossier, d, "edit_lines")
    today = local_today()
    columns = []
    for c in spec.columns.values():
        options: list[tuple[str, str]] = []
        if can_edit and c.type == "choice":
            options = [(key, labels[lang]) for key, labels in c.choices.items()]
        elif can_edit and c.type == "unit":
            options = unit_options(dossier.unit, c.level, today)
            known = {code for code, _ in options}
            options += [(code, names.get(code, code)) for code in
                        sorted({ln.values.get(c.name) for ln in lines} - known - {None})]
        columns.append(LineColumnView(c.name, c.labels[lang], c.type, c.required, c.money, c.sequence, options))
    grant = d.grant_event
    grant_column = spec.columns[grant.grants] if grant else None
    rows = []
    for ln in lines:
        cells = [cell_text(c, ln.values.get(c.name), lang, names) for c in spec.columns.values()]
        title = " — ".join(text for c, text in zip(spec.columns.values(), cells, strict=True)
                           if c.type in ("string", "unit") and ln.values.get(c.name) is not None)
        asked = ln.values.get(grant_column.name) if grant_column else None
        rows.append(LineRow(
            id=ln.id, title=title, cells=cells,
            inputs={c.name: input_number(ln.values.get(c.name), lang) for c in spec.columns.values()},
            asked=input_number(asked, lang),
            granted=cell_text(grant_column, ln.granted, lang) if grant_column and ln.granted is not None else None,
            short=bool(grant_column and ln.granted is not None and ln.granted < (asked or 0))))
    measure, breakdown = spec.columns[spec.summary.measure], spec.columns[spec.summary.breakdown]
    sums = totals(d, lines, names, lang)
    granted_any = any(ln.granted is not None for ln in lines)
    total_rows = [TotalLine(t.label, cell_text(measure, t.amount, lang),
                            cell_text(measure, t.granted, lang) if t.granted is not None else None) for t in sums]
    total = TotalLine("Cộng" if lang != "en" else "Total", cell_text(measure, sum(t.amount for t in sums), lang),
                      cell_text(measure, sum(t.granted or 0 for t in sums), lang) if granted_any else None)
    outcomes = _round_outcomes(records, d, lang)
    word = "Version" if lang == "en" else "Phiên bản"
    rounds = [RoundLink(n, f"{word} {n} ({outcomes[n]})" if n in outcomes else f"{word} {n}", n == dossier.round)
              for n in sorted(set(by_round) | {dossier.round})]
    banner = None
    if not current:
        banner = (f"{word} {shown} ({outcomes.get(shown, '')}) — read only; the current version is {dossier.round}."
                  if lang == "en" else
                  f"{word} {shown} ({outcomes.get(shown, '')}) — chỉ xem; phiên bản hiện tại là {dossier.round}.")
    partly = None
    if any(r.short for r in rows):
        partly = ("Accepted in part: some lines were granted less than they asked (the column "
                  f"'{grant_column.labels['en']}' granted)." if lang == "en" else
                  "Chấp nhận một phần: có dòng được cấp ít hơn số đã đăng ký "
                  f"(xem cột được cấp của '{grant_column.labels['vi']}').")
    return LinesView(
        round=shown, current=current, columns=columns, rows=rows, totals=total_rows, total=total,
        breakdown_label=breakdown.labels[lang], measure_label=measure.labels[lang], rounds=rounds, banner=banner,
        can_edit=can_edit, grant_event=grant.name if grant else None,
        grant_label=grant_column.labels[lang] if grant_column else None,
        show_granted=bool(grant) and granted_any, partly=partly, next_step=[])
