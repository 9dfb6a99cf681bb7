"""The workbooks' common shape: a bold title row over the table, a shaded heading
row that stays on screen and on every printed page, and the creator's name."""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CREATOR = "Hồ sơ Nông thôn mới"
HEADING_FILL = PatternFill("solid", fgColor="DDE7F0")


def new_book(title: str | None = None) -> Workbook:
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.creator = CREATOR
    if title:
        wb.properties.title = title
    return wb


def titled_sheet(wb: Workbook, title: str, heading: str, columns: list[tuple[str, int]]):
    """A sheet named `title`: `heading` across row 1, the columns' names in row 2
    (frozen, printed on every page), each column `width` characters wide."""
    ws = wb.create_sheet(title)
    ws.append([heading])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=max(1, len(columns)))
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([name for name, _ in columns])
    for cell in ws[2]:
        cell.font, cell.fill = Font(bold=True), HEADING_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for i, (_, width) in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"
    ws.print_title_rows = "2:2"
    return ws


def bold_last(ws) -> None:
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)


def book_bytes(wb: Workbook) -> bytes:
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
