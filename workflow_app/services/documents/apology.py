"""The apology slip (phiếu xin lỗi và hẹn lại ngày trả kết quả): when a step's
clock (core/clocks.py) has run out, whoever may act on the step issues one slip per
state and round with a new date. It is numbered per issuing unit and year, recorded
in the dossier's audit chain, rendered to PDF once its transaction commits
(after_commit.py) and kept."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from ...clock import local_date, local_now, local_today
from ...extensions import db
from ...formats import date_line, lower_first, paper_date, vn_date
from ...models import Document, Dossier, utcnow
from ...pdf.numbers import document_number
from ...permissions import capacities
from ...workdays import CalendarGap, load_calendar
from ...workflow.definitions import Actor
from ...workflow.errors import Conflict, NotPermitted, RuleRefused
from ..core.clocks import StepClock, step_clock
from ..core.common import definition_of, engine, last_filing, next_number, record, touch
from ..core.persist import flush_or_conflict
from ..core.wording import actor_name, committee_of, in_sentence, place_name
from .after_commit import render_after_commit

log = logging.getLogger(__name__)


APOLOGY_PREFIX = "apology:"


APOLOGY_SYMBOL = "{number}/PXL-UBND"


def apology_kind(state: str) -> str:
    return f"{APOLOGY_PREFIX}{state}"


def apology_capacities(actor, dossier: Dossier):
    """Who may apologise for a step: whoever may fire an event leaving the state."""

    d = definition_of(dossier)
    actors = tuple(dict.fromkeys(a for e in d.events_from(dossier.state) for a in e.by))
    return capacities(actor, dossier.unit, actors) if actors else []


def apology_capacity(actor, dossier: Dossier):
    """The capacity the actor apologises in (the most specific unit), or 403."""

    caps = apology_capacities(actor, dossier)
    if not caps:
        raise NotPermitted(
            "Chỉ người có quyền xử lý bước hiện tại của hồ sơ mới được lập phiếu xin lỗi và hẹn lại ngày trả kết quả.",
            "Only someone who may act on the dossier's current step may issue an apology slip with a new date.")
    return max(caps, key=lambda c: len(c.unit.path))


def apology_of(dossier: Dossier, state: str | None = None):
    """The apology slip (Document) of the dossier's state in its present round, or None."""

    return db.session.execute(
        db.select(Document).where(Document.dossier_id == dossier.id,
                                  Document.kind == apology_kind(state or dossier.state),
                                  Document.round == dossier.round)).scalar_one_or_none()


def can_apologize(actor, dossier: Dossier, clock: StepClock | None) -> bool:
    """Whether the dossier page offers the apology form to `actor`."""
    return bool(clock and clock.overdue and apology_capacities(actor, dossier) and apology_of(dossier) is None)


def issue_apology(actor, dossier: Dossier, new_date: date, reason: str, *, today: date | None = None):
    """Issue the apology slip of the dossier's overdue step with a new date: a numbered
    Document (rendered to PDF after the commit and kept) and an `apology` record in the audit chain.
    403 unless the actor may act on the step, 409 when the step already has one in
    this round, 422 when the step is not overdue or the date or reason is not valid."""

    d = definition_of(dossier)
    st = d.states[dossier.state]
    cap = apology_capacity(actor, dossier)
    existing = apology_of(dossier)
    if existing is not None:
        new_due = existing.data["facts"]["new_due"]
        raise Conflict(
            f"Bước '{st.labels['vi']}' của hồ sơ đã có phiếu xin lỗi số {existing.symbol} (vòng {dossier.round}), "
            f"hẹn lại ngày {vn_date(new_due)}. Mỗi bước chỉ lập một phiếu trong một vòng.",
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
            f"Hồ sơ chưa quá hạn: hạn xử lý bước '{st.labels['vi']}' là ngày {vn_date(clock.due_on)}. "
            "Chỉ lập phiếu xin lỗi khi đã quá hạn.",
            f"The dossier is not late: the step '{st.labels['en']}' is due on {clock.due_on.isoformat()}. "
            "An apology slip is for a late step only.")
    reason = (reason or "").strip()
    if not reason:
        raise RuleRefused("Hãy ghi lý do chậm trễ.", "Give the reason for the delay.", field="reason")
    if new_date <= today:
        raise RuleRefused(f"Ngày hẹn mới phải sau hôm nay ({vn_date(today)}).",
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
            raise RuleRefused(f"Ngày {vn_date(new_date)} không phải ngày làm việc. Hãy chọn một ngày làm việc.",
                              f"{new_date.isoformat()} is not a working day. Pick a working day.", field="new_date")

    issuer = cap.unit
    now = local_now()
    number = next_number(f"apology:{issuer.code}:{now.year}")
    symbol = APOLOGY_SYMBOL.format(number=document_number(number))
    submit = last_filing(dossier)
    parent = dossier.unit.parent_on(now.date())
    facts = {
        "dossier_code": dossier.code, "dossier_kind": dossier.kind,
        "dossier_label": engine().kind_label(dossier.kind, "vi"),
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
    # Rendered once the transaction commits, outside its locks; the download serves those bytes.
    render_after_commit(doc, "pdf/apology.html", apology_context(facts))
    log.info("dossier %s: apology %s for %s, due %s -> %s", dossier.code, symbol, dossier.state,
             facts["old_due"], facts["new_due"])
    return doc


def apology_context(facts: dict) -> dict:
    """Plain values for templates/pdf/apology.html (Decree 30 layout, like the receipt)."""

    issued = datetime.fromisoformat(facts["issued_at"])
    issuer = facts["issuer"]
    unit_word = "ngày làm việc" if facts["unit"] == "working" else "ngày"
    applicant = facts["applicant"] + (f", {facts['applicant_parent']}" if facts.get("applicant_parent") else "")
    received = (f"Ngày {paper_date(date.fromisoformat(facts['received_on']))}, " if facts.get("received_on") else "")
    old_due = paper_date(date.fromisoformat(facts["old_due"]))
    new_due = paper_date(date.fromisoformat(facts["new_due"]))
    return {
        "title": f"Phiếu xin lỗi và hẹn lại ngày trả kết quả {facts['symbol']}",
        "issuer_lines": ["ỦY BAN NHÂN DÂN", issuer["name"].upper()],
        "number_line": f"Số: {facts['symbol']}",
        "date_line": date_line(issuer["place"], issued.date()),
        "doc_type": "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        "recipient": facts["recipient"],
        "paragraphs": [
            (f"{received}{issuer['committee']} tiếp nhận hồ sơ mã {facts['dossier_code']} "
             f"({lower_first(facts['dossier_label'])}) của {applicant}."),
            (f"Bước xử lý \u201c{facts['state_label']}\u201d có thời hạn {facts['limit']} {unit_word}, "
             f"tính từ ngày {paper_date(date.fromisoformat(facts['started_on']))}, hạn xử lý là ngày {old_due}. "
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
