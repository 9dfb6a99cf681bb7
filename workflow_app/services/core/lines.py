"""A dossier's table of lines, for definitions with `lines` (no criteria): add, edit,
remove and replace lines while the `edit_lines` action allows, each checked column by
column; keep a `sequence` column (a priority order) at 1..n without gaps; copy the
lines into a new round; apply what an event with `grants` grants; add the lines up.
Each change flushes; the caller commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ...clock import local_today
from ...extensions import db
from ...formats import vn_decimal
from ...models import Dossier, DossierLine, Unit, UnitLink, User
from ...permissions import live_on, under
from ...validation import is_digits
from ...workflow.definitions import Definition, EventDef, LineColumn, LinesDef
from ...workflow.errors import BadRequest, EventNotAvailable, LineRefused, NotFound, RuleRefused, Text
from .common import acting_capacity, check_version, definition_of, record, touch
from .persist import flush_or_conflict

# Far more lines than any commune's table (its villages' works): a bound on one request.
MAX_LINES = 500


def lines_of(dossier: Dossier) -> LinesDef:
    d = definition_of(dossier)
    if d.lines is None:
        raise RuleRefused("Loại hồ sơ này không có bảng các dòng (hồ sơ gồm các tiêu chí).",
                          "This dossier kind has no table of lines (it is made of criteria).")
    return d.lines


def _editable(actor: User, dossier: Dossier, d: Definition, expected_version: int | None):
    action = d.actions["edit_lines"]
    cap = acting_capacity(actor, dossier, action)
    check_version(dossier, expected_version)
    if action.states and dossier.state not in action.states:
        label = d.states[dossier.state].labels
        raise EventNotAvailable(
            f"Chỉ sửa được các dòng khi hồ sơ đang soạn hoặc bị trả lại; hồ sơ đang ở trạng thái '{label['vi']}'.",
            f"Lines can be changed only while the dossier is a draft or returned; it is '{label['en']}'.")
    return cap


def ordered(spec: LinesDef, lines: list[DossierLine]) -> list[DossierLine]:
    """Lines in the order people read them: by the sequence column (a priority list),
    else in the order they were added."""
    sequence = spec.sequence
    if sequence:
        return sorted(lines, key=lambda ln: (ln.values.get(sequence.name) or 0, ln.position))
    return sorted(lines, key=lambda ln: ln.position)


def _line(dossier: Dossier, line_id: int) -> DossierLine:
    line = next((ln for ln in dossier.current_lines() if ln.id == line_id), None)
    if line is None:
        raise NotFound(f"Hồ sơ không có dòng số {line_id} (trong phiên bản hiện tại).",
                       f"The dossier has no line {line_id} (in its current version).")
    return line


# --- checking one line ------------------------------------------------------------

def _quote(column: LineColumn, lang: str) -> str:
    return f"'{column.labels[lang]}'"


def _number_text(value, lang: str) -> str:
    return vn_decimal(value, lang, 3)


def _check_value(column: LineColumn, value, applicant: Unit, offered: dict[str, str]) -> tuple[object, Text | None]:
    """(the stored value, None) or (None, why it is refused)."""
    vi, en = _quote(column, "vi"), _quote(column, "en")
    if value is None or (isinstance(value, str) and not value.strip()):
        if column.required:
            return None, Text(f"Chưa nhập {vi}.", f"{en} is required.")
        return None, None
    if column.type == "string":
        if not isinstance(value, str):
            return None, Text(f"{vi} phải là chữ.", f"{en} must be text.")
        value = value.strip()
        if column.max_length and len(value) > column.max_length:
            return None, Text(f"{vi} dài tối đa {column.max_length} ký tự.",
                              f"{en} takes at most {column.max_length} characters.")
        return value, None
    if column.type == "date":
        text = value.strip() if isinstance(value, str) else ""
        try:
            if len(text) != 10 or text[4] != "-" or text[7] != "-":
                raise ValueError
            return date.fromisoformat(text).isoformat(), None
        except ValueError:
            return None, Text(f"{vi} phải là một ngày có thật, dạng YYYY-MM-DD (ví dụ 2026-03-01).",
                              f"{en} must be a real date written YYYY-MM-DD (e.g. 2026-03-01).")
    if column.type == "choice":
        key = _choice_key(column, value)
        if key is None:
            options_vi = ", ".join(labels["vi"] for labels in column.choices.values())
            options_en = ", ".join(labels["en"] for labels in column.choices.values())
            return None, Text(f"{vi} phải là một trong: {options_vi}.", f"{en} must be one of: {options_en}.")
        return key, None
    if column.type == "unit":
        return _check_unit(column, value, applicant, offered)
    return _check_number(column, value)


def _choice_key(column: LineColumn, value) -> str | None:
    """A choice by its key, or by its label in either language (what a workbook holds)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text in column.choices:
        return text
    folded = text.casefold()
    return next((key for key, labels in column.choices.items()
                 if folded in (labels["vi"].casefold(), labels["en"].casefold())), None)


def _check_unit(column: LineColumn, value, applicant: Unit, offered: dict[str, str]) -> tuple[object, Text | None]:
    """A unit column holds one of the units the applicant's form offers (unit_options)."""
    vi, en = _quote(column, "vi"), _quote(column, "en")
    code = value.strip() if isinstance(value, str) else None
    if code not in offered:
        return None, Text(f"{vi}: không có đơn vị mã '{str(value)[:40]}' thuộc {applicant.name}. "
                          "Hãy chọn trong danh sách.",
                          f"{en}: no unit with code '{str(value)[:40]}' under {applicant.name}. "
                          "Pick one from the list.")
    return code, None


def _check_number(column: LineColumn, value) -> tuple[object, Text | None]:
    vi, en = _quote(column, "vi"), _quote(column, "en")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, Text(f"{vi} phải là số.", f"{en} must be a number.")
    if column.type == "integer":
        if int(value) != value:
            return None, Text(f"{vi} phải là số nguyên.", f"{en} must be a whole number.")
        value = int(value)
    else:
        value = float(value)
    for bound, fails, vi_rule, en_rule in (
            (column.above, lambda b: value <= b, "phải lớn hơn", "must be more than"),
            (column.min, lambda b: value < b, "phải từ", "must be at least"),
            (column.max, lambda b: value > b, "tối đa là", "must be at most")):
        if bound is not None and fails(bound):
            return None, Text(f"{vi} {vi_rule} {_number_text(bound, 'vi')}.",
                              f"{en} {en_rule} {_number_text(bound, 'en')}.")
    return value, None


def offered_units(spec: LinesDef, applicant: Unit, day: date | None = None) -> dict[str, dict[str, str]]:
    """{unit column: {code: name}}: the units each unit column may name (one statement a column)."""
    day = day or local_today()
    return {c.name: dict(unit_options(applicant, c.level, day)) for c in spec.columns.values() if c.type == "unit"}


def check_line(spec: LinesDef, raw: dict, applicant: Unit, *, base: dict | None = None,
               offered: dict[str, dict[str, str]] | None = None) -> dict:
    """The line's stored values from `raw` (laid over `base` for an edit), or LineRefused
    naming every column at fault. `offered`: offered_units, when the caller checks many
    lines. A sequence column is checked by the caller (its range depends on the other lines)."""
    if not isinstance(raw, dict):
        raise BadRequest("Hãy gửi một dòng dưới dạng {tên cột: giá trị}.", "Send a line as {column: value}.")
    unknown = sorted(set(raw) - set(spec.columns))
    if unknown:
        known = ", ".join(spec.columns)
        raise BadRequest(f"Không có cột '{unknown[0]}' (có: {known}).",
                         f"There is no column '{unknown[0]}' (known: {known}).")
    offered = offered if offered is not None else offered_units(spec, applicant)
    merged = {**(base or {}), **raw}
    values, cells = {}, {}
    for name, column in spec.columns.items():
        if column.sequence:
            values[name] = merged.get(name)
            continue
        value, problem = _check_value(column, merged.get(name), applicant, offered.get(name, {}))
        if problem:
            cells[name] = problem
        elif value is not None:
            values[name] = value
    for name, column in spec.columns.items():
        earlier = column.not_before
        if earlier and name not in cells and earlier not in cells and values.get(name) and values.get(earlier) \
                and values[name] < values[earlier]:
            other = spec.columns[earlier]
            cells[name] = Text(f"{_quote(column, 'vi')} không được trước {_quote(other, 'vi')}.",
                               f"{_quote(column, 'en')} cannot be before {_quote(other, 'en')}.")
    if cells:
        raise LineRefused(cells)
    return values


def _rank(spec: LinesDef, value, highest: int) -> int | None:
    """A sequence column's value: None (the caller puts the line last) or 1..highest."""
    column = spec.sequence
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or int(value) != value \
            or not 1 <= int(value) <= highest:
        raise LineRefused({column.name: Text(
            f"{_quote(column, 'vi')} phải là số nguyên từ 1 đến {highest}.",
            f"{_quote(column, 'en')} must be a whole number from 1 to {highest}.")})
    return int(value)


def _move_rank(spec: LinesDef, lines: list[DossierLine], line: DossierLine, old: int | None, new: int) -> None:
    """Put `line` at rank `new`, shifting the lines between: the order stays 1..n."""
    name = spec.sequence.name
    for other in lines:
        if other is line:
            continue
        rank = other.values.get(name)
        if old is None and rank >= new:
            other.values = {**other.values, name: rank + 1}
        elif old is not None and old < new and old < rank <= new:
            other.values = {**other.values, name: rank - 1}
        elif old is not None and new < old and new <= rank < old:
            other.values = {**other.values, name: rank + 1}
    line.values = {**line.values, name: new}


# --- the applicant's units --------------------------------------------------------

def unit_options(applicant: Unit, level: str, day: date) -> list[tuple[str, str]]:
    """(code, name) of the units of `level` under the applicant on `day`, alive then: what
    a unit column may name, what its drop-down and the workbook's list offer."""
    path = applicant.path_on(day)
    if path is None:
        return []
    rows = db.session.execute(
        db.select(Unit.code, Unit.name).join(UnitLink, UnitLink.unit_id == Unit.id)
        .where(Unit.level == level, UnitLink.relation == "parent", under(UnitLink.path, path),
               live_on(UnitLink, day), live_on(Unit, day))
        .order_by(Unit.code)).all()
    return [(code, name) for code, name in rows]


def unit_names(codes) -> dict[str, str]:
    """{code: name} of the units named by these codes (a line keeps a unit by code)."""
    wanted = sorted({c for c in codes if isinstance(c, str)})
    if not wanted:
        return {}
    return dict(db.session.execute(db.select(Unit.code, Unit.name).where(Unit.code.in_(wanted))).all())


# --- changing the table -----------------------------------------------------------

def add_line(actor: User, dossier: Dossier, raw: dict, expected_version: int | None = None) -> DossierLine:
    d = definition_of(dossier)
    spec = lines_of(dossier)
    cap = _editable(actor, dossier, d, expected_version)
    current = dossier.current_lines()
    if len(current) >= MAX_LINES:
        raise RuleRefused(f"Một hồ sơ có tối đa {MAX_LINES} dòng.", f"A dossier holds at most {MAX_LINES} lines.")
    values = check_line(spec, raw, dossier.unit)
    line = DossierLine(round=dossier.round, position=max((ln.position for ln in current), default=0) + 1,
                       values=values)
    if spec.sequence:
        rank = _rank(spec, values.get(spec.sequence.name), len(current) + 1) or len(current) + 1
        line.values = {**values, spec.sequence.name: None}
        _move_rank(spec, current, line, None, rank)
    dossier.lines.append(line)
    flush_or_conflict()  # the line's id, for the record; the dossier row is updated once, below
    touch(dossier)
    record(dossier, actor, cap, "add_line", data={"line": line.id, "values": line.values})
    flush_or_conflict()
    return line


def update_line(actor: User, dossier: Dossier, line_id: int, raw: dict,
                expected_version: int | None = None) -> DossierLine:
    d = definition_of(dossier)
    spec = lines_of(dossier)
    cap = _editable(actor, dossier, d, expected_version)
    current = dossier.current_lines()
    line = _line(dossier, line_id)
    values = check_line(spec, raw, dossier.unit, base=line.values)
    if spec.sequence:
        name = spec.sequence.name
        old = line.values.get(name)
        rank = _rank(spec, values.get(name), len(current)) or old
        line.values = {**values, name: old}
        _move_rank(spec, current, line, old, rank)
    else:
        line.values = values
    touch(dossier)
    record(dossier, actor, cap, "update_line", data={"line": line.id, "values": line.values})
    flush_or_conflict()
    return line


def remove_line(actor: User, dossier: Dossier, line_id: int, expected_version: int | None = None) -> None:
    d = definition_of(dossier)
    spec = lines_of(dossier)
    cap = _editable(actor, dossier, d, expected_version)
    line = _line(dossier, line_id)
    if spec.sequence:
        name = spec.sequence.name
        gone = line.values.get(name)
        for other in dossier.current_lines():
            if other is not line and other.values.get(name) > gone:
                other.values = {**other.values, name: other.values[name] - 1}
    dossier.lines.remove(line)
    touch(dossier)
    record(dossier, actor, cap, "remove_line", data={"line": line_id, "values": line.values})
    flush_or_conflict()


@dataclass
class RowProblem:
    row: int  # the row's number as the user counts it (a workbook's row)
    cells: dict[str, Text]


def replace_lines(actor: User, dossier: Dossier, rows: list[tuple[int, dict]],
                  expected_version: int | None = None,
                  offered: dict[str, dict[str, str]] | None = None) -> list[DossierLine]:
    """The table replaced by `rows` ((row number, values), e.g. read from a workbook),
    all or nothing: LineRefused lists every row at fault. A sequence column is either
    given on every row, as 1..n once each, or on none (then the rows' order is kept)."""
    d = definition_of(dossier)
    spec = lines_of(dossier)
    cap = _editable(actor, dossier, d, expected_version)
    if not rows:
        raise RuleRefused("Tệp không có dòng nào để nhập.", "The file has no lines to import.")
    if len(rows) > MAX_LINES:
        raise RuleRefused(f"Một hồ sơ có tối đa {MAX_LINES} dòng; tệp có {len(rows)}.",
                          f"A dossier holds at most {MAX_LINES} lines; the file has {len(rows)}.")
    checked, problems = [], []
    offered = offered if offered is not None else offered_units(spec, dossier.unit)
    for number, raw in rows:
        try:
            checked.append((number, check_line(spec, raw, dossier.unit, offered=offered)))
        except LineRefused as exc:
            problems.append(RowProblem(number, exc.cells))
    if spec.sequence and not problems:
        problems = _check_ranks(spec, checked)
    if problems:
        raise LineRefused.rows({p.row: p.cells for p in problems})
    for line in dossier.current_lines():
        dossier.lines.remove(line)
    added = []
    for position, (_, values) in enumerate(checked, start=1):
        if spec.sequence and values.get(spec.sequence.name) is None:
            values = {**values, spec.sequence.name: position}
        line = DossierLine(round=dossier.round, position=position, values=values)
        dossier.lines.append(line)
        added.append(line)
    touch(dossier)
    record(dossier, actor, cap, "import_lines", data={"lines": len(added)})
    flush_or_conflict()
    return added


def _check_ranks(spec: LinesDef, checked: list[tuple[int, dict]]) -> list[RowProblem]:
    column = spec.sequence
    given = [(number, values.get(column.name)) for number, values in checked]
    if all(v is None or (isinstance(v, str) and not v.strip()) for _, v in given):
        return []
    n, seen, problems = len(given), {}, []
    for number, value in given:
        try:
            rank = _rank(spec, value, n)
        except LineRefused as exc:
            problems.append(RowProblem(number, exc.cells))
            continue
        if rank is None:
            problems.append(RowProblem(number, {column.name: Text(
                f"Chưa nhập {_quote(column, 'vi')}: hãy đánh số mọi dòng từ 1 đến {n}, hoặc để trống tất cả.",
                f"{_quote(column, 'en')} is missing: number every line 1 to {n}, or leave them all blank.")}))
        elif rank in seen:
            problems.append(RowProblem(number, {column.name: Text(
                f"{_quote(column, 'vi')} {rank} trùng với dòng {seen[rank]}: mỗi số chỉ dùng một lần.",
                f"{_quote(column, 'en')} {rank} repeats row {seen[rank]}: use each number once.")}))
        else:
            seen[rank] = number
    if not problems:
        for _, values in checked:
            values[column.name] = int(values[column.name])
    return problems


# --- rounds, grants, totals -------------------------------------------------------

def copy_lines(dossier: Dossier, from_round: int) -> None:
    """A new round starts with the previous round's lines (not its grants): the
    earlier version stays readable as it was."""
    for line in [ln for ln in dossier.lines if ln.round == from_round]:
        dossier.lines.append(DossierLine(round=dossier.round, position=line.position,
                                         values=dict(line.values), origin_id=line.id))


def apply_grants(dossier: Dossier, event: EventDef, granted) -> dict | None:
    """What an event with `grants` grants per line: `{line_id: amount}` (0 up to what the
    line asks); a line not named is granted in full. Returns {line id: amount} for the
    record. An event without `grants` refuses a `granted`."""
    if not event.grants:
        if granted:
            raise BadRequest("Bước này không cấp theo từng dòng: hãy bỏ 'granted'.",
                             "This step grants nothing per line: leave out 'granted'.")
        return None
    if granted is None:
        granted = {}
    if not isinstance(granted, dict):
        raise BadRequest("'granted' phải có dạng {mã dòng: số lượng}.", "'granted' must be {line_id: amount}.")
    current = {ln.id: ln for ln in dossier.current_lines()}
    unknown = [key for key in granted if not is_digits(str(key)) or int(key) not in current]
    if unknown:
        raise RuleRefused(f"Hồ sơ không có dòng số {str(unknown[0])[:20]} (trong phiên bản hiện tại).",
                          f"The dossier has no line {str(unknown[0])[:20]} (in its current version).")
    asked_name = event.grants
    given = {int(key): value for key, value in granted.items()}
    result = {}
    # Named by its place in the table as shown (the id is the API's handle, not the user's).
    for place, line in enumerate(ordered(lines_of(dossier), list(current.values())), start=1):
        asked = line.values.get(asked_name) or 0
        value = given.get(line.id, asked)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= asked:
            raise RuleRefused(
                f"Dòng {place}: số được cấp phải từ 0 đến {_number_text(asked, 'vi')} (số đã đăng ký).",
                f"Line {place}: the amount granted must be from 0 to {_number_text(asked, 'en')} (the amount asked).",
                field=f"granted-{line.id}")
        line.granted = value
        result[str(line.id)] = value
    return result


@dataclass
class TotalRow:
    key: str | None
    label: str
    amount: float
    granted: float | None


def totals(d: Definition, lines: list[DossierLine], labels: dict[str, str], lang: str = "vi") -> list[TotalRow]:
    """The measure added up per breakdown value (in first-seen order); `labels` names
    unit codes for a unit breakdown. Granted sums are None until something is granted."""
    spec = d.lines
    measure, breakdown = spec.summary.measure, spec.columns[spec.summary.breakdown]
    rows: dict[str | None, TotalRow] = {}
    for line in lines:
        key = line.values.get(breakdown.name)
        row = rows.get(key)
        if row is None:
            row = rows[key] = TotalRow(key, breakdown_label(breakdown, key, labels, lang), 0, None)
        row.amount += line.values.get(measure) or 0
        if line.granted is not None:
            row.granted = (row.granted or 0) + line.granted
    return list(rows.values())


def breakdown_label(column: LineColumn, key: str | None, labels: dict[str, str], lang: str = "vi") -> str:
    if key is None:
        return "(không ghi)" if lang != "en" else "(not given)"
    if column.type == "choice":
        return column.choices.get(key, {}).get(lang, key)
    if column.type == "unit":
        return labels.get(key, key)
    return key
