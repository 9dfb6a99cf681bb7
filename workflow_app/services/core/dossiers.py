"""Services that change a dossier without moving it: create, self-assess,
set kind fields, appraise a criterion. Each flushes; the caller commits."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError

from ...clock import local_now, local_today
from ...extensions import db
from ...formats import vn_date
from ...models import CriterionEntry, Dossier, Unit, User, utcnow
from ...months import FIRST_YEAR
from ...workflow.definitions import ActionDef, Definition
from ...workflow.errors import BadRequest, Conflict, EventNotAvailable, NotPermitted, RuleRefused
from .common import acting_capacity, check_version, definition_of, engine, next_number, record, touch
from .persist import flush_or_conflict


def _open_key(kind: str, unit_id: int, year: int) -> str:
    return f"{kind}:{unit_id}:{year}"


def agency_code(unit: Unit, day: date) -> str:
    """The code of the nearest unit, the applicant or its ancestor on `day`, that has one."""
    for u in [unit, *unit.ancestors_on(day)]:
        if u.agency_code:
            return u.agency_code
    return "HS"


def create_dossier(actor: User, kind: str, unit_code: str, year: int) -> Dossier:
    known = engine().definition(kind)
    if known is None:
        raise RuleRefused(f"Không có loại hồ sơ '{kind}' (có: {engine().kind_labels(lang='vi')}).",
                          f"Unknown dossier kind '{kind}' (known: {engine().kind_labels(lang='en')}).")
    unit = db.session.execute(db.select(Unit).where(Unit.code == unit_code)).scalar_one_or_none()
    if unit is None:
        raise RuleRefused(f"Không có đơn vị mã '{unit_code}'. Hãy chọn đơn vị trong danh sách.",
                          f"No unit with code '{unit_code}'. Pick one from the list.")
    if unit.level != known.applicant_level:
        raise RuleRefused(
            f"Hồ sơ loại này do đơn vị cấp '{known.applicant_level}' đề nghị, '{unit.name}' là cấp '{unit.level}'.",
            f"This kind is filed for a unit of level '{known.applicant_level}'; '{unit.name}' is a '{unit.level}'.")
    this_year = local_today().year
    if not isinstance(year, int) or not FIRST_YEAR <= year <= this_year + 1:
        raise RuleRefused(f"Năm phải từ {FIRST_YEAR} đến {this_year + 1}.",
                          f"The year must be from {FIRST_YEAR} to {this_year + 1}.")
    today = local_now()
    d = engine().definition_for(kind, year, today.date())
    if d is None:
        raise RuleRefused(f"Loại hồ sơ này không áp dụng cho năm {year}.",
                          f"This dossier kind does not apply to {year}.")
    if not unit.live_on(today.date()):
        raise RuleRefused(
            f"{unit.name} không còn tồn tại từ ngày {vn_date(unit.valid_to + timedelta(days=1))}: "
            "hãy tạo hồ sơ cho đơn vị hiện nay.",
            f"{unit.name} no longer exists since {vn_date(unit.valid_to + timedelta(days=1))}: "
            "create the dossier for the present unit.")
    cap = acting_capacity(actor, Dossier(unit=unit, kind=kind), d.actions["create"])
    agency = agency_code(unit, today.date())
    seq = next_number(f"dossier:{agency}:{today:%y%m%d}")
    dossier = Dossier(
        code=f"{agency}-{today:%y%m%d}-{seq:04d}", kind=kind, definition_version=d.version,
        unit_id=unit.id, unit=unit, year=year, state=d.initial, round=1, fields={},
        open_key=_open_key(kind, unit.id, year), created_by_id=actor.id,
    )
    for position, c in enumerate(d.criteria):
        dossier.criteria.append(CriterionEntry(round=1, code=c.code, position=position))
    unit_name = unit.name  # read before a failed flush expires it
    try:
        # Only the new rows go inside the savepoint: a duplicate open_key rolls
        # back to here and the caller's transaction stays usable.
        with db.session.begin_nested():
            db.session.add(dossier)
    except IntegrityError as exc:
        raise Conflict(
            f"Đã có một hồ sơ đang mở cho {unit_name} năm {year}. Hãy mở hồ sơ đó thay vì tạo mới.",
            f"An open dossier already exists for {unit_name} in {year}. "
            "Open it instead of creating a new one.") from exc
    record(dossier, actor, cap, "create", to_state=dossier.state, is_transition=True,
           data={"kind": kind, "year": year})
    db.session.flush()
    return dossier


def _require_state(d: Definition, dossier: Dossier, action: ActionDef) -> None:
    if action.states and dossier.state not in action.states:
        label = d.states[dossier.state].labels
        raise EventNotAvailable(
            f"Không thể '{action.labels['vi']}' khi hồ sơ đang ở trạng thái '{label['vi']}'.",
            f"'{action.labels['en']}' is not possible while the dossier is '{label['en']}'.")


def _criteria_action(d: Definition, name: str) -> ActionDef:
    action = d.actions.get(name)
    if action is None:  # a dossier of lines
        raise RuleRefused("Loại hồ sơ này không có tiêu chí (hồ sơ gồm các dòng).",
                          "This dossier kind has no criteria (it is made of lines).")
    return action


def _entry(d: Definition, dossier: Dossier, code: str) -> CriterionEntry:
    entry = dossier.criterion(code)
    if d.criterion(code) is None or entry is None:
        codes = ", ".join(c.code for c in d.criteria)
        raise RuleRefused(f"Không có tiêu chí '{code}' trong bộ tiêu chí của hồ sơ (có: {codes}).",
                          f"No criterion '{code}' in this dossier's set (known: {codes}).")
    return entry


def self_assess(actor: User, dossier: Dossier, code: str, assessment: str, note: str | None,
                expected_version: int | None = None) -> Dossier:
    d = definition_of(dossier)
    if assessment not in ("met", "not_met"):
        raise BadRequest("Tự đánh giá phải là 'met' (đạt) hoặc 'not_met' (chưa đạt).",
                         "self_assessment must be 'met' or 'not_met'.")
    action = _criteria_action(d, "self_assess")
    cap = acting_capacity(actor, dossier, action)
    check_version(dossier, expected_version)
    _require_state(d, dossier, action)
    entry = _entry(d, dossier, code)
    if entry.self_assessment != assessment:
        # A changed claim must be appraised again.
        entry.verdict = entry.verdict_note = entry.appraiser_id = entry.appraised_at = None
    entry.self_assessment, entry.note = assessment, note
    touch(dossier)
    record(dossier, actor, cap, "self_assess", data={"criterion": code, "self_assessment": assessment, "note": note})
    flush_or_conflict()
    return dossier


def appraise_criterion(actor: User, dossier: Dossier, code: str, verdict: str, note: str | None,
                       expected_version: int | None = None) -> Dossier:
    d = definition_of(dossier)
    if verdict not in ("pass", "fail"):
        raise BadRequest("Kết quả thẩm định phải là 'pass' (đạt) hoặc 'fail' (không đạt).",
                         "verdict must be 'pass' or 'fail'.")
    action = _criteria_action(d, "appraise_criterion")
    cap = acting_capacity(actor, dossier, action)
    limited = cap.assignment.criteria
    if limited and code not in limited:
        raise NotPermitted(f"Bạn chỉ được thẩm định các tiêu chí {', '.join(limited)}.",
                           f"You may appraise only criteria {', '.join(limited)}.")
    check_version(dossier, expected_version)
    _require_state(d, dossier, action)
    entry = _entry(d, dossier, code)
    if verdict == "fail" and not (note or "").strip():
        raise RuleRefused("Tiêu chí không đạt cần ghi rõ lý do để đơn vị đề nghị bổ sung.",
                          "A failing verdict needs a note saying what is missing.")
    entry.verdict, entry.verdict_note = verdict, note
    entry.appraiser_id, entry.appraised_at = actor.id, utcnow()
    touch(dossier)
    record(dossier, actor, cap, "appraise_criterion", data={"criterion": code, "verdict": verdict, "note": note})
    flush_or_conflict()
    return dossier


def set_fields(actor: User, dossier: Dossier, values: dict, expected_version: int | None = None) -> Dossier:
    d = definition_of(dossier)
    if not isinstance(values, dict) or not values:
        raise BadRequest("Hãy gửi ít nhất một trường dưới dạng {tên: giá trị}.",
                         "Send at least one field as {name: value}.")
    new_fields = dict(dossier.fields or {})
    cap = None
    for name, value in values.items():
        fd = d.fields.get(name)
        if fd is None:
            known = ", ".join(d.fields) or "—"
            raise RuleRefused(f"Loại hồ sơ này không có trường '{name}' (có: {known}).",
                              f"This dossier kind has no field '{name}' (known: {known}).")
        field_cap = acting_capacity(actor, dossier, fd)
        if dossier.state not in fd.states:
            raise EventNotAvailable(f"Không thể nhập '{fd.labels['vi']}' ở trạng thái hiện tại của hồ sơ.",
                                    f"'{fd.labels['en']}' cannot be set in the dossier's current state.")
        new_fields[name] = _coerce(fd, value)
        cap = cap or field_cap
    check_version(dossier, expected_version)
    dossier.fields = new_fields
    touch(dossier)
    record(dossier, actor, cap, "set_fields", data={"fields": values})
    flush_or_conflict()
    return dossier


def _iso_date(value, label_vi: str, label_en: str) -> str:
    """A date field holds ISO text ("2026-03-01"): JSON has no date type, and text
    sorts and compares like the date it names."""
    text = value.strip() if isinstance(value, str) else None
    try:
        # fromisoformat alone would also take "20260301" and week dates: insist on YYYY-MM-DD.
        if text is None or len(text) != 10 or text[4] != "-" or text[7] != "-":
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise RuleRefused(f"'{label_vi}' phải là một ngày có thật, dạng YYYY-MM-DD (ví dụ 2026-03-01); "
                          f"đã nhận {str(value)[:40]!r}.",
                          f"'{label_en}' must be a real date written YYYY-MM-DD (e.g. 2026-03-01); "
                          f"got {str(value)[:40]!r}.") from None
    return day.isoformat()


def _coerce(fd, value):
    label_vi, label_en = fd.labels["vi"], fd.labels["en"]
    if value is None:
        return None
    if fd.type == "string":
        if not isinstance(value, str):
            raise BadRequest(f"'{label_vi}' phải là chuỗi ký tự.", f"'{label_en}' must be text.")
        if fd.max_length and len(value) > fd.max_length:
            raise RuleRefused(f"'{label_vi}' dài tối đa {fd.max_length} ký tự.",
                              f"'{label_en}' takes at most {fd.max_length} characters.")
        return value
    if fd.type == "date":
        return _iso_date(value, label_vi, label_en)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadRequest(f"'{label_vi}' phải là số.", f"'{label_en}' must be a number.")
    if fd.type == "integer" and int(value) != value:
        raise BadRequest(f"'{label_vi}' phải là số nguyên.", f"'{label_en}' must be a whole number.")
    value = int(value) if fd.type == "integer" else float(value)
    if (fd.min is not None and value < fd.min) or (fd.max is not None and value > fd.max):
        raise RuleRefused(f"'{label_vi}' phải trong khoảng {fd.min}–{fd.max}.",
                          f"'{label_en}' must be within {fd.min}–{fd.max}.")
    return value
