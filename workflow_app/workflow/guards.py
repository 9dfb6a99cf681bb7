"""Guards by name. YAML names a guard; this registry maps the name to a check
that returns the reasons it refuses (an empty list means the guard passes)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

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


Guard = Callable[[DossierFacts, dict], list[Text]]
GUARDS: dict[str, Guard] = {}


def guard(name: str) -> Callable[[Guard], Guard]:
    def register(fn: Guard) -> Guard:
        GUARDS[name] = fn
        return fn
    return register


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


@guard("field_at_least")
def field_at_least(facts: DossierFacts, params: dict) -> list[Text]:
    name, minimum = params["field"], params["min"]
    value = facts.fields.get(name)
    if value is None:
        return [Text(f"Chưa nhập '{name}': cần tối thiểu {minimum}.", f"'{name}' is not set: at least {minimum} is needed.")]
    if value < minimum:
        return [Text(f"'{name}' là {value}, cần tối thiểu {minimum}.", f"'{name}' is {value}; at least {minimum} is needed.")]
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
        reasons.append(Text("Số liệu biểu quyết không hợp lệ: có mặt không vượt quá số thành viên, tán thành không vượt quá số có mặt.",
                            "Vote figures are inconsistent: present cannot exceed members, in favour cannot exceed present."))
    elif present < quorum * members:
        reasons.append(Text(f"Hội đồng không đủ số thành viên dự họp: {present}/{members}, cần ít nhất {quorum:.0%}.",
                            f"The council lacks a quorum: {present}/{members} present, at least {quorum:.0%} needed."))
    elif in_favour * 2 <= present:
        reasons.append(Text(f"Chưa quá nửa số thành viên có mặt tán thành ({in_favour}/{present}).",
                            f"No majority of those present in favour ({in_favour}/{present})."))
    return reasons
