"""Everything a dossier page shows, gathered for one user in one place, so
templates stay free of rules (what the user may do is decided here)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from ..extensions import db
from ..i18n import vn_date
from ..models import Attachment, AuditRecord, Decision, Dossier, User
from ..permissions import capacities, ended_roles, has_acted
from ..workflow.definitions import Definition
from .common import definition_of
from .decisions import decision_of
from .events import EventOption, event_options
from .wording import who

ACTION_LABELS = {
    "create": ("Tạo hồ sơ", "Created"), "self_assess": ("Tự đánh giá", "Self-assessed"),
    "attach": ("Tải minh chứng", "Uploaded evidence"), "appraise_criterion": ("Thẩm định tiêu chí", "Appraised a criterion"),
    "set_fields": ("Cập nhật thông tin", "Updated fields"),
    "apology": ("Lập phiếu xin lỗi và hẹn lại ngày trả kết quả", "Issued an apology slip with a new date"),
    "takeover": ("Chuyển giao thẩm quyền theo sắp xếp đơn vị hành chính", "Handed over by an administrative reform"),
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
    ended_role: str | None = None  # why someone who acted before the reform only reads now


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
    a = d.actions[action]
    return (not a.states or dossier.state in a.states) and bool(capacities(actor, dossier.unit, a.by)) \
        and not has_acted(dossier, actor, a.not_by_actor_of)


def dossier_page(actor: User, dossier: Dossier, lang: str) -> DossierPage:
    d = definition_of(dossier)
    entries = {e.code: e for e in dossier.current_criteria()}
    rows = []
    for c in d.criteria:
        e = entries.get(c.code)
        rows.append(CriterionRow(
            code=c.code, name=c.name.get(lang, c.name["vi"]), requirement=(c.requirement or {}).get(lang, ""),
            owner=(c.owner or {}).get(lang, ""), self_assessment=e.self_assessment if e else None,
            note=e.note if e else None, verdict=e.verdict if e else None, verdict_note=e.verdict_note if e else None,
            appraiser=e.appraiser.name if e and e.appraiser else None, evidence=dossier.evidence_for(c.code)))
    fields = []
    for fd in d.fields.values():
        value = (dossier.fields or {}).get(fd.name)
        editable = dossier.state in fd.states and bool(capacities(actor, dossier.unit, fd.by))
        raw = "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
        if lang == "vi" and isinstance(value, float):
            raw = raw.replace(".", ",")  # what a Vietnamese user types, and what the form accepts
        fields.append(FieldRow(fd.name, fd.labels[lang], fd.type, value, raw, editable, fd.min, fd.max))
    # The next step: events that move the dossier on (not rejection or revocation).
    next_actors = [f"{who(e.by, lang)}: {e.labels[lang]}" for e in d.events_from(dossier.state)
                   if not d.states[e.dest].closed]
    page = DossierPage(
        dossier=dossier, definition=d, kind_label=d.labels[lang], state_label=d.states[dossier.state].labels[lang],
        next_actors=next_actors, criteria=rows, fields=fields, events=event_options(actor, dossier),
        history=history_rows(dossier, d, lang), decision=decision_of(dossier),
        revocation=decision_of(dossier, "revocation"),
        can_self_assess=_can(actor, dossier, d, "self_assess"), can_upload=_can(actor, dossier, d, "attach"),
        can_appraise=_can(actor, dossier, d, "appraise_criterion"),
        ended_role=_ended_role(actor, dossier, lang))
    if page.can_appraise:
        caps = capacities(actor, dossier.unit, d.actions["appraise_criterion"].by)
        limits = [c.assignment.criteria for c in caps]
        page.appraisable = {c.code for c in d.criteria} if any(not x for x in limits) else set().union(*limits)
    return page


def _shown(value, lang: str) -> str:
    if isinstance(value, float):
        text = f"{value:g}"
        return text.replace(".", ",") if lang == "vi" else text
    return str(value)


def history_rows(dossier: Dossier, d: Definition, lang: str) -> list[HistoryRow]:
    i = 0 if lang == "vi" else 1
    records = db.session.execute(db.select(AuditRecord).where(AuditRecord.dossier_id == dossier.id)
                                 .order_by(AuditRecord.seq)).scalars()
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
            old, new = (date.fromisoformat(data[k]).strftime("%d/%m/%Y") for k in ("old_due", "new_due"))
            detail = (f"{data.get('symbol', '')} · {step}: hạn {old} → hẹn lại {new}" if lang == "vi"
                      else f"{data.get('symbol', '')} · {step}: due {old} → new date {new}")
        elif data.get("fields"):
            detail = ", ".join(f"{d.fields[k].labels[lang] if k in d.fields else k}: {_shown(v, lang)}"
                               for k, v in data["fields"].items())
        label = (lambda s: d.states[s].labels[lang] if s in d.states else s)
        rows.append(HistoryRow(
            at=r.at, actor=r.actor.name, role=ROLE_NAMES.get(r.role, (r.role, r.role))[i], unit=r.unit.name,
            action=action, from_state=label(r.from_state) if r.from_state else None,
            to_state=label(r.to_state) if r.to_state else None, comment=r.comment,
            is_transition=r.is_transition, detail=detail))
    return rows
