"""A summary of lines (line_summary.py) as an XLSX workbook and as the plain values of
its one-page PDF (templates/pdf/line_summary.html), both in Vietnamese like the
official papers. The workbook keeps numbers as numbers ("#,##0" for đồng), so the
receiving office can add and chart them; the paper prints them with Vietnamese
separators. Layout `rows`: a row per applicant, then a sub-row per breakdown value;
layout `columns`: a column per breakdown value."""
from __future__ import annotations

from openpyxl.styles import Font

from ...formats import date_line, lower_first, paper_date, vn_decimal
from ..core.wording import in_sentence
from .line_summary import NUMBER_DIGITS, LineSummary, Row, filing_note
from .sheets import bold_last, book_bytes, new_book, titled_sheet

SHEET_TITLE = "Tổng hợp"
# A table wider than this many columns is printed on a landscape page.
PORTRAIT_COLUMNS = 8


def title(s: LineSummary) -> str:
    return f"BẢNG TỔNG HỢP {s.label.upper()} NĂM {s.year}"


def _measure(s: LineSummary) -> str:
    return s.measure.labels["vi"]


def _granted(s: LineSummary) -> str:
    return f"{_measure(s)} được chấp nhận"


def _number_format(s: LineSummary) -> str:
    return "#,##0" if s.measure.type == "integer" else "#,##0.00"


# ----------------------------------------------------------------------------- workbook

def summary_xlsx(s: LineSummary) -> bytes:
    """One sheet: a title row, a frozen heading row, the applicants (and their sub-rows),
    a bold total row, then a note on what is counted."""
    wb = new_book(f"{title(s)} - {s.issuer_name}")
    lead = [("STT", 6), ("Xã" if s.layout == "columns" else f"Xã / {s.breakdown.labels['vi']}", 28),
            ("Mã hồ sơ", 22), ("Trạng thái", 18), ("Ngày nộp", 12), ("Đúng hạn / muộn", 22)]
    if s.layout == "columns":
        figures = [(c.label, 16) for c in s.columns] + [(f"Tổng cộng: {_measure(s)}", 18)]
    else:
        figures = [(_measure(s), 16)]
    if s.grants:
        figures.append((_granted(s), 16))
    columns = lead + figures
    ws = titled_sheet(wb, SHEET_TITLE, f"{title(s)} — {s.issuer_name.upper()}", columns)
    if len(columns) > PORTRAIT_COLUMNS:
        ws.page_setup.orientation = "landscape"

    first_figure = len(lead) + 1
    for n, row in enumerate(s.rows, start=1):
        ws.append([n, row.name, row.dossier_code or "", row.state_label, row.filed_on, filing_note(row),
                   *_figures(s, row)])
        ws.cell(ws.max_row, 5).number_format = "DD/MM/YYYY"
        _format(ws, s, first_figure)
        if s.layout == "rows":
            ws.cell(ws.max_row, 2).font = Font(bold=True)
            for part in row.parts:
                ws.append(["", f"  {part.label}", "", "", None, "", part.amount,
                           *([part.granted] if s.grants else [])])
                _format(ws, s, first_figure)
    ws.append(["", "Tổng cộng", "", "", None, "", *_figures(s, None)])
    _format(ws, s, first_figure)
    bold_last(ws)
    ws.append([])
    ws.append([_note(s)])
    return book_bytes(wb)


def _figures(s: LineSummary, row: Row | None) -> list:
    """The figure cells of an applicant's row (None: the total row)."""
    total = s.total if row is None else row.total if row.dossier_id is not None else None
    granted = s.granted if row is None else row.granted
    cells = []
    if s.layout == "columns":
        for column in s.columns:
            part = column if row is None else row.part(column.key)
            cells.append(part.amount if part else None)
    cells.append(total)
    if s.grants:
        cells.append(granted)
    return cells


def _format(ws, s: LineSummary, first: int) -> None:
    for cell in ws[ws.max_row][first - 1:]:
        cell.number_format = _number_format(s)


def _note(s: LineSummary) -> str:
    deadline = f"; hạn nộp {paper_date(s.deadline)}" if s.deadline else ""
    return (f"Mỗi xã tính một lần, theo hồ sơ mới nhất của năm {s.year} (các dòng của lần nộp hiện tại; hồ sơ đã "
            f"chấp nhận: lần được chấp nhận). Các xã thuộc {in_sentence(s.issuer_name)} theo địa giới ngày "
            f"{paper_date(s.day)}{deadline}. Số liệu đến ngày {paper_date(s.today)}.")


def xlsx_filename(s: LineSummary) -> str:
    return f"tong-hop-{s.kind.replace('_', '-')}-{s.issuer_code}-{s.year}.xlsx"


def pdf_filename(s: LineSummary) -> str:
    return f"tong-hop-{s.kind.replace('_', '-')}-{s.issuer_code}-{s.year}.pdf"


# ----------------------------------------------------------------------------- paper

def _number(s: LineSummary, value) -> str:
    if value is None:
        return ""
    return vn_decimal(value, "vi", 0 if s.measure.type == "integer" else NUMBER_DIGITS)


def _filed(row: Row) -> str:
    """The first filing's day, "(muộn N ngày)" after it when late; blank while unfiled
    (the state says so, the subtitle gives the deadline)."""
    if row.filed_on is None:
        return ""
    return paper_date(row.filed_on) + (f" ({filing_note(row).lower()})" if row.late else "")


def summary_pdf_context(s: LineSummary, preparer: str) -> dict:
    """Plain values for templates/pdf/line_summary.html (pdf.printing.render_pdf)."""
    headers = ["STT", "Xã" if s.layout == "columns" else f"Xã / {s.breakdown.labels['vi']}", "Mã hồ sơ",
               "Trạng thái", "Ngày nộp"]
    if s.layout == "columns":
        headers += [c.label for c in s.columns] + ["Tổng cộng"]
    else:
        headers.append(_measure(s))
    if s.grants:
        headers.append("Được chấp nhận")
    rows = []
    for n, row in enumerate(s.rows, start=1):
        rows.append([n, row.name, row.dossier_code or "", row.state_label, _filed(row),
                     *[_number(s, v) for v in _figures(s, row)]])
        if s.layout == "rows":
            for part in row.parts:
                rows.append(["", f"- {part.label}", "", "", "", _number(s, part.amount),
                             *([_number(s, part.granted)] if s.grants else [])])
    total = ["", "Tổng cộng", "", "", "", *[_number(s, v) for v in _figures(s, None)]]
    unit = "; đơn vị tính: đồng" if s.money else ""
    deadline = f"; hạn nộp {paper_date(s.deadline)}" if s.deadline else ""
    return {
        "title": f"Bảng tổng hợp {lower_first(s.label)} năm {s.year}",
        "issuer_lines": ["ỦY BAN NHÂN DÂN", s.issuer_name.upper()],
        "number_line": "",
        "date_line": date_line(s.issuer_place, s.today),
        "doc_type": title(s),
        "as_of": f"(Số liệu đến ngày {paper_date(s.today)}{deadline}{unit})",
        "headers": headers,
        "cols": ["no", "name", "code", "state", "filed"] + ["num"] * (len(headers) - 5),
        "cells": ["center", "", "ref", "", "center"] + ["num"] * (len(headers) - 5),
        "rows": rows,
        "total": total,
        "note": _note(s),
        "landscape": len(headers) > PORTRAIT_COLUMNS,
        "preparer_lines": ["NGƯỜI LẬP BIỂU"],
        "preparer_note": "(Ký, ghi rõ họ tên)",
        "preparer_name": preparer,
        "head_lines": ["THỦ TRƯỞNG ĐƠN VỊ"],
        "head_note": "(Ký tên, đóng dấu)",
    }
