"""Guards by name. YAML names a guard; this registry maps the name to a check
that returns the reasons it refuses (an empty list means the guard passes)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from ..formats import percent, vn_date, vn_decimal
from .errors import Text


@dataclass(frozen=True)
class CriterionFacts:
    code: str
    name_vi: str
    name_en: str
    self_assessment: str | None = None
    verdict: str | None = None
    evidence_count: int = 0


@dataclass(frozen=True)
class DossierFacts:
    """What guards may look at: plain values, so the engine needs no database."""

    state: str
    criteria: tuple[CriterionFacts, ...] = ()
    fields: dict = field(default_factory=dict, hash=False)
    # {field name: {"vi": ..., "en": ...}} from the definition, so refusals name what the
    # user sees on the form; the engine fills it in when the caller leaves it empty.
    field_labels: dict = field(default_factory=dict, hash=False)
    line_count: int = 0  # the current round's lines, for definitions with `lines`


Guard = Callable[[DossierFacts, dict], list[Text]]
GUARDS: dict[str, Guard] = {}


# Parameters each guard reads, so a loader can refuse a definition that leaves one out
# (naming file and key) instead of failing when the event fires.
GUARD_PARAMS: dict[str, tuple[str, ...]] = {}


def guard(name: str, params: tuple[str, ...] = ()) -> Callable[[Guard], Guard]:
    def register(fn: Guard) -> Guard:
        GUARDS[name] = fn
        GUARD_PARAMS[name] = params
        return fn
    return register


def missing_params(name: str, params: dict) -> list[str]:
    """The parameters guard `name` needs that `params` lacks (empty when complete)."""
    return [p for p in GUARD_PARAMS.get(name, ()) if params.get(p) is None]


def _label(c: CriterionFacts) -> tuple[str, str]:
    return f"tiêu chí {c.code} ({c.name_vi})", f"criterion {c.code} ({c.name_en})"


@guard("criteria_met_with_evidence")
def criteria_met_with_evidence(facts: DossierFacts, params: dict) -> list[Text]:
    reasons = []
    for c in facts.criteria:
        vi, en = _label(c)
        if c.self_assessment != "met":
            reasons.append(Text(f"Chưa tự đánh giá đạt {vi}.", f"{en.capitalize()} is not self-assessed as met."))
        if c.evidence_count == 0:
            reasons.append(Text(f"Chưa đủ minh chứng cho {vi}: hãy tải lên ít nhất một tệp.",
                                f"{en.capitalize()} has no evidence file: upload at least one."))
    return reasons


@guard("criteria_all_passed")
def criteria_all_passed(facts: DossierFacts, params: dict) -> list[Text]:
    reasons = []
    for c in facts.criteria:
        if c.verdict != "pass":
            vi, en = _label(c)
            state_vi = "chưa được thẩm định" if c.verdict is None else "được thẩm định không đạt"
            state_en = "has no verdict yet" if c.verdict is None else "was appraised as failing"
            reasons.append(Text(f"{vi.capitalize()} {state_vi}: hãy thẩm định đạt hoặc trả lại hồ sơ.",
                                f"{en.capitalize()} {state_en}: pass it or return the dossier."))
    return reasons


@guard("has_lines")
def has_lines(facts: DossierFacts, params: dict) -> list[Text]:
    if facts.line_count == 0:
        return [Text("Chưa có dòng nào: hãy thêm ít nhất một dòng (hoặc nhập từ tệp Excel) trước khi nộp.",
                     "There are no lines yet: add at least one (or import them from a workbook) before submitting.")]
    return []


def _field_name(facts: DossierFacts, name: str) -> tuple[str, str]:
    """"'Label' (name)": the label the user sees, the name an API caller sends."""
    labels = facts.field_labels.get(name)
    if not labels:
        return f"'{name}'", f"'{name}'"
    return f"'{labels['vi']}' ({name})", f"'{labels['en']}' ({name})"


@guard("field_at_least", ("field", "min"))
def field_at_least(facts: DossierFacts, params: dict) -> list[Text]:
    name, minimum = params["field"], params["min"]
    vi, en = _field_name(facts, name)
    value = facts.fields.get(name)
    if value is None:
        return [Text(f"Chưa nhập {vi}: cần tối thiểu {vn_decimal(minimum, 'vi', 10)}.",
                     f"{en} is not set: at least {vn_decimal(minimum, 'en', 10)} is needed.")]
    if value < minimum:
        return [Text(f"{vi} là {vn_decimal(value, 'vi', 10)}, cần tối thiểu {vn_decimal(minimum, 'vi', 10)}.",
                     f"{en} is {vn_decimal(value, 'en', 10)}; at least {vn_decimal(minimum, 'en', 10)} is needed.")]
    return []


@guard("field_at_most", ("field", "max"))
def field_at_most(facts: DossierFacts, params: dict) -> list[Text]:
    """`{name: field_at_most, field: construction_debt_vnd, max: 0}`: an unset field fails,
    so "no debt" is a figure someone entered, not a blank."""
    name, maximum = params["field"], params["max"]
    vi, en = _field_name(facts, name)
    value = facts.fields.get(name)
    if value is None:
        return [Text(f"Chưa nhập {vi}: cần tối đa {vn_decimal(maximum, 'vi', 10)}.",
                     f"{en} is not set: at most {vn_decimal(maximum, 'en', 10)} is allowed.")]
    if value > maximum:
        return [Text(f"{vi} là {vn_decimal(value, 'vi', 10)}, chỉ được tối đa {vn_decimal(maximum, 'vi', 10)}.",
                     f"{en} is {vn_decimal(value, 'en', 10)}; at most {vn_decimal(maximum, 'en', 10)} is allowed.")]
    return []


def _as_date(value) -> date | None:
    """Date fields are stored as ISO text ("2026-03-01"); None when unset or unreadable."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@guard("date_span_at_least", ("from", "to", "days"))
def date_span_at_least(facts: DossierFacts, params: dict) -> list[Text]:
    """`{name: date_span_at_least, from: posted_from, to: posted_to, days: 15}`: the period
    between two date fields lasts at least `days` days, first and last day both counted."""
    start_name, end_name, days = params["from"], params["to"], int(params["days"])
    start, end = _as_date(facts.fields.get(start_name)), _as_date(facts.fields.get(end_name))
    start_vi, start_en = _field_name(facts, start_name)
    end_vi, end_en = _field_name(facts, end_name)
    missing = [(vi, en) for d, (vi, en) in ((start, (start_vi, start_en)), (end, (end_vi, end_en))) if d is None]
    if missing:
        return [Text(f"Chưa nhập {vi} (ngày dạng YYYY-MM-DD): cần khoảng thời gian ít nhất {days} ngày.",
                     f"{en} is not set (a date, YYYY-MM-DD): a period of at least {days} days is needed.")
                for vi, en in missing]
    if end < start:
        return [Text(f"{end_vi} ({vn_date(end)}) trước {start_vi} ({vn_date(start)}): hãy sửa lại ngày.",
                     f"{end_en} ({end.isoformat()}) is before {start_en} ({start.isoformat()}): correct the dates.")]
    span = (end - start).days + 1
    if span < days:
        short = days - span
        return [Text(f"Từ ngày {vn_date(start)} đến ngày {vn_date(end)} mới có {span} ngày, còn thiếu {short} ngày: "
                     f"cần ít nhất {days} ngày, tính cả ngày đầu và ngày cuối ({start_vi} – {end_vi}).",
                     f"From {start.isoformat()} to {end.isoformat()} is only {span} days, {short} short: "
                     f"at least {days} days are needed, first and last day counted ({start_en} – {end_en}).")]
    return []


@guard("council_vote_passed")
def council_vote_passed(facts: DossierFacts, params: dict) -> list[Text]:
    quorum = float(params.get("quorum", 0.7))
    members = facts.fields.get("council_members")
    present = facts.fields.get("council_present")
    in_favour = facts.fields.get("council_in_favour")
    if members is None or present is None or in_favour is None:
        return [Text("Chưa nhập kết quả biểu quyết của Hội đồng thẩm định (số thành viên, có mặt, tán thành).",
                     "The appraisal council vote is not recorded (members, present, in favour).")]
    reasons = []
    if present > members or in_favour > present:
        reasons.append(Text("Số liệu biểu quyết không hợp lệ: có mặt không vượt quá số thành viên, "
                            "tán thành không vượt quá số có mặt.",
                            "Vote figures are inconsistent: present cannot exceed members, "
                            "in favour cannot exceed present."))
    elif present < quorum * members:
        need = percent(quorum)
        reasons.append(Text(f"Hội đồng không đủ số thành viên dự họp: {present}/{members}, cần ít nhất {need}.",
                            f"The council lacks a quorum: {present}/{members} present, at least {need} needed."))
    elif in_favour * 2 <= present:
        reasons.append(Text(f"Chưa quá nửa số thành viên có mặt tán thành ({in_favour}/{present}).",
                            f"No majority of those present in favour ({in_favour}/{present})."))
    return reasons
