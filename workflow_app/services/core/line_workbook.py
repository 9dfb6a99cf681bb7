"""A dossier's table of lines as an Excel workbook: the template a commune fills in
(a header row of the columns' labels, their names in a hidden row, drop-down lists for
choices and the applicant's units, a sheet explaining each column) and the reader that
turns a filled workbook into rows for lines.replace_lines. Also the one rule for text
typed into a line's cell (a form or a workbook): Vietnamese numbers ("1.250.000",
"12,5") and dates (DD/MM/YYYY). Everything comes from the definition's columns."""
from __future__ import annotations

import re
from datetime import date, datetime
from io import BytesIO
from pathlib import PurePath

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter, quote_sheetname
from openpyxl.worksheet.datavalidation import DataValidation

from ...formats import vn_date, vn_decimal, vn_money
from ...validation import has_foreign_digits
from ...workflow.definitions import Definition, LineColumn, LinesDef
from ...workflow.errors import RuleRefused, UnsupportedFileType
from .filecheck import check_upload
from .lines import MAX_LINES

LINES_SHEET = "Các dòng"
HELP_SHEET = "Hướng dẫn"
LISTS_SHEET = "Danh mục"
FIRST_DATA_ROW = 3  # row 1: the labels; row 2 (hidden): the column names
# A numbering column people add to any table ("STT"): read past, never imported.
NUMBERING = {"stt", "tt", "số tt", "số thứ tự"}

# "1.250.000" or "1.250.000,5": dots between groups of three digits, a decimal comma.
_GROUPED = re.compile(r"-?\d{1,3}(\.\d{3})+(,\d+)?")
_PLAIN = re.compile(r"-?\d+([.,]\d+)?")
_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


# --- one cell's text -------------------------------------------------------------

def number_from_text(text: str) -> int | float | None:
    """A number as people write it in Vietnam: "1.250.000" (dots group thousands),
    "12,5" (a decimal comma), "12.5" also read as a decimal point; None if not a number.
    Written without decimals, an int."""
    t = text.strip().replace("\u00a0", "").replace(" ", "")
    if len(t) > 40 or has_foreign_digits(t):  # as validation.parse_decimal: no "１２", no endless digits
        return None
    if _GROUPED.fullmatch(t):
        t = t.replace(".", "")
    elif not _PLAIN.fullmatch(t):
        return None
    t = t.replace(",", ".")
    return float(t) if "." in t else int(t)


def cell_value(column: LineColumn, value, units: dict[str, str] | None = None):
    """What a typed cell (text from a form, or a workbook's cell) holds for the line
    service: None for a blank; a number for a number column when it reads as one; an
    ISO date for a date column written DD/MM/YYYY or held as a date; a unit's code for a
    unit column given by its name (`units`: name or "name (code)", folded, -> code).
    Anything else is passed on as typed, for lines.check_line to refuse in words."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if column.type in ("integer", "number"):
        if isinstance(value, str):
            number = number_from_text(value)
            return value.strip() if number is None else number
        return value
    if column.type == "date":
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        text = str(value).strip()
        m = _DMY.fullmatch(text)
        if m:
            return f"{m.group(3)}-{int(m.group(2)):02d}-{int(m.group(1)):02d}"
        return text
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if column.type == "unit" and units:
        return units.get(text.casefold(), text)
    return text


def cell_text(column: LineColumn, value, lang: str = "vi", unit_names: dict[str, str] | None = None) -> str:
    """A stored value as people read it: choices by label, units by name, dates
    DD/MM/YYYY, numbers with Vietnamese separators, money with "đ"."""
    if value is None or value == "":
        return "—"
    if column.type == "choice":
        return column.choices.get(value, {}).get(lang, str(value))
    if column.type == "unit":
        return (unit_names or {}).get(value, str(value))
    if column.type == "date":
        return vn_date(str(value))
    if column.type in ("integer", "number"):
        return vn_money(value, lang) if column.money else vn_decimal(value, lang, 3)
    return str(value)


# --- the applicant's units (lines.offered_units: {unit column: {code: name}}) ------

def _unit_entries(options: dict[str, str]) -> list[tuple[str, str]]:
    """(what the drop-down shows, code): the name, or "name (code)" where two share a name."""
    names = list(options.values())
    return [(name if names.count(name) == 1 else f"{name} ({code})", code) for code, name in options.items()]


def unit_lookup(options: dict[str, str]) -> dict[str, str]:
    """What a workbook may hold for a unit (its code, its name, "name (code)"), folded, -> code."""
    out = {}
    for shown, code in _unit_entries(options):
        out[shown.casefold()] = code
        out[f"{shown} ({code})".casefold()] = code
        out[code.casefold()] = code
    return out


# --- the template -----------------------------------------------------------------

def _rules_text(column: LineColumn, lang: str) -> str:
    vi = lang != "en"
    parts = []
    if column.type == "string":
        parts.append("Chữ" if vi else "Text")
        if column.max_length:
            parts.append(f"tối đa {column.max_length} ký tự" if vi else f"at most {column.max_length} characters")
    elif column.type in ("integer", "number"):
        kind = ("Số nguyên" if vi else "A whole number") if column.type == "integer" else ("Số" if vi else "A number")
        if column.money:
            kind += " (đồng)" if vi else " (đồng)"
        parts.append(kind + (", viết 1.250.000 hoặc 12,5" if vi else ", written 1.250.000 or 12,5"))
        for bound, vi_rule, en_rule in ((column.above, "lớn hơn", "more than"), (column.min, "từ", "at least"),
                                        (column.max, "tối đa", "at most")):
            if bound is not None:
                parts.append(f"{vi_rule if vi else en_rule} {vn_decimal(bound, lang, 3)}")
        if column.sequence:
            parts.append("đánh số 1, 2, 3… mỗi số một lần, hoặc để trống cả cột (giữ thứ tự các dòng)" if vi
                         else "number 1, 2, 3… each once, or leave the whole column blank (the rows' order is kept)")
    elif column.type == "date":
        parts.append("Ngày, viết DD/MM/YYYY hoặc YYYY-MM-DD" if vi else "A date, written DD/MM/YYYY or YYYY-MM-DD")
    elif column.type == "choice":
        options = "; ".join(labels["vi" if vi else "en"] for labels in column.choices.values())
        parts.append(f"Chọn trong danh sách: {options}" if vi else f"Pick from the list: {options}")
    elif column.type == "unit":
        parts.append("Chọn trong danh sách các đơn vị của xã (tên hoặc mã)" if vi
                     else "Pick from the list of the applicant's units (name or code)")
    return "; ".join(parts)


def build_template(d: Definition, options: dict[str, dict[str, str]], title: str) -> bytes:
    """The workbook to fill in: `options` (offered_units) for the drop-downs."""
    spec: LinesDef = d.lines
    columns = list(spec.columns.values())
    wb = Workbook()
    ws = wb.active
    ws.title = LINES_SHEET
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FFF4D6")
    for i, column in enumerate(columns, start=1):
        head = ws.cell(row=1, column=i, value=column.labels["vi"])
        head.font, head.fill = bold, fill
        head.alignment = Alignment(wrap_text=True, vertical="top")
        ws.cell(row=2, column=i, value=column.name)
        ws.column_dimensions[get_column_letter(i)].width = max(14, min(40, len(column.labels["vi"]) + 4))
        if column.type == "date":
            for row in range(FIRST_DATA_ROW, FIRST_DATA_ROW + MAX_LINES):
                ws.cell(row=row, column=i).number_format = "DD/MM/YYYY"
    ws.row_dimensions[2].hidden = True
    ws.freeze_panes = ws.cell(row=FIRST_DATA_ROW, column=1)

    lists = wb.create_sheet(LISTS_SHEET)
    list_column = 0
    for i, column in enumerate(columns, start=1):
        if column.type == "choice":
            entries = [labels["vi"] for labels in column.choices.values()]
        elif column.type == "unit":
            entries = [shown for shown, _ in _unit_entries(options.get(column.name, {}))]
        else:
            continue
        if not entries:
            continue
        list_column += 1
        letter = get_column_letter(list_column)
        lists.cell(row=1, column=list_column, value=column.labels["vi"]).font = bold
        for n, entry in enumerate(entries, start=2):
            lists.cell(row=n, column=list_column, value=entry)
        source = f"{quote_sheetname(LISTS_SHEET)}!${letter}$2:${letter}${len(entries) + 1}"
        check = DataValidation(type="list", formula1=source, allow_blank=not column.required,
                               showErrorMessage=True, errorTitle=column.labels["vi"],
                               error="Hãy chọn trong danh sách.")
        target = get_column_letter(i)
        check.add(f"{target}{FIRST_DATA_ROW}:{target}{FIRST_DATA_ROW + MAX_LINES - 1}")
        ws.add_data_validation(check)
    lists.sheet_state = "hidden"

    guide = wb.create_sheet(HELP_SHEET)
    guide.append([title])
    guide["A1"].font = Font(bold=True, size=13)
    guide.append(["Điền mỗi dòng một hạng mục vào trang tính “Các dòng”, từ dòng 3. Không sửa dòng tiêu đề. "
                  "Khi nhập, bảng trong hồ sơ được thay bằng các dòng của tệp; nếu có dòng sai, "
                  "không dòng nào được nhập và trang báo từng dòng, từng cột cần sửa."])
    guide.append([])
    guide.append(["Cột", "Mã cột", "Bắt buộc", "Cách nhập"])
    for cell in guide[4]:
        cell.font = bold
    for column in columns:
        guide.append([column.labels["vi"], column.name, "Có" if column.required else "Không",
                      _rules_text(column, "vi")])
    for letter, width in (("A", 36), ("B", 18), ("C", 10), ("D", 90)):
        guide.column_dimensions[letter].width = width
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


# --- reading a filled workbook ----------------------------------------------------

def _not_a_workbook(name: str) -> UnsupportedFileType:
    return UnsupportedFileType(
        f"Tệp '{name}' không phải bảng tính Excel (.xlsx). Hãy tải mẫu Excel của hồ sơ, điền rồi nhập lại.",
        f"'{name}' is not an Excel workbook (.xlsx). Download the dossier's Excel template, fill it in and "
        "import it again.")


def _header_key(value) -> str:
    return " ".join(str(value).split()).casefold() if value is not None else ""


def read_workbook(d: Definition, filename: str | None, data: bytes, limit: int,
                  options: dict[str, dict[str, str]]) -> list[tuple[int, dict]]:
    """The rows of a filled workbook as [(row number, {column: value})], row numbers as
    the workbook counts them, blank rows left out. The header row is found by the
    columns' labels (either language) or names. Refused: not an .xlsx (415), above
    `limit` bytes (413), no header row, a column it does not know, a required column
    missing, more rows than a dossier holds (422)."""
    spec: LinesDef = d.lines
    if PurePath(filename or "").suffix.lower() != ".xlsx":
        raise _not_a_workbook(filename or "")
    checked = check_upload(filename, data, limit)
    try:
        wb = load_workbook(BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 (openpyxl raises many kinds for a damaged package)
        raise _not_a_workbook(checked.name) from None
    try:
        ws = wb[LINES_SHEET] if LINES_SHEET in wb.sheetnames else wb.worksheets[0]
        return _rows(spec, ws, options)
    finally:
        wb.close()


def _rows(spec: LinesDef, ws, options: dict[str, dict[str, str]]) -> list[tuple[int, dict]]:
    known = {}
    for column in spec.columns.values():
        for key in (column.name, column.labels["vi"], column.labels["en"]):
            known[_header_key(key)] = column
    lookups = {name: unit_lookup(found) for name, found in options.items()}
    header: dict[int, LineColumn] | None = None
    rows: list[tuple[int, dict]] = []
    for number, cells in enumerate(ws.iter_rows(values_only=True), start=1):
        if header is None:
            keys = [_header_key(v) for v in cells]
            if any(k in known for k in keys):
                header = _header(spec, known, keys, number)
            elif number >= 10:
                break
            continue
        picked = {i: cells[i] for i in header if i < len(cells)}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in picked.values()):
            continue
        if all(isinstance(v, str) and v.strip() == header[i].name for i, v in picked.items()):
            continue  # the template's row of column names
        if len(rows) >= MAX_LINES:
            raise RuleRefused(f"Tệp có hơn {MAX_LINES} dòng; một hồ sơ có tối đa {MAX_LINES} dòng.",
                              f"The file has more than {MAX_LINES} rows; a dossier holds at most {MAX_LINES} lines.")
        values = {}
        for i, column in header.items():
            value = cell_value(column, picked.get(i), lookups.get(column.name))
            if value is not None:
                values[column.name] = value
        rows.append((number, values))
    if header is None:
        names = ", ".join(f"'{c.labels['vi']}'" for c in spec.columns.values())
        raise RuleRefused(f"Không tìm thấy dòng tiêu đề trong tệp. Dòng tiêu đề ghi tên các cột: {names}. "
                          "Hãy dùng mẫu Excel của hồ sơ.",
                          "The file has no header row naming the columns. Use the dossier's Excel template.")
    return rows


def _header(spec: LinesDef, known: dict, keys: list[str], number: int) -> dict[int, LineColumn]:
    header: dict[int, LineColumn] = {}
    for i, key in enumerate(keys):
        if not key or key in NUMBERING:
            continue
        column = known.get(key)
        letter = get_column_letter(i + 1)
        if column is None:
            names = ", ".join(f"'{c.labels['vi']}'" for c in spec.columns.values())
            raise RuleRefused(f"Dòng tiêu đề (dòng {number}), cột {letter}: không có cột '{key[:60]}' trong bảng. "
                              f"Các cột là: {names}.",
                              f"Header row (row {number}), column {letter}: there is no column '{key[:60]}'.")
        if column in header.values():
            raise RuleRefused(f"Dòng tiêu đề (dòng {number}), cột {letter}: cột '{column.labels['vi']}' "
                              "có hai lần.",
                              f"Header row (row {number}), column {letter}: '{column.labels['en']}' appears twice.")
        header[i] = column
    missing = [c for c in spec.columns.values() if c.required and not c.sequence and c not in header.values()]
    if missing:
        names = ", ".join(f"'{c.labels['vi']}'" for c in missing)
        names_en = ", ".join(f"'{c.labels['en']}'" for c in missing)
        raise RuleRefused(f"Tệp thiếu cột bắt buộc: {names}.", f"The file lacks required columns: {names_en}.")
    return header
