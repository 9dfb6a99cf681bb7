"""How dates, times, numbers and sizes are written: the one place for each format.

Pure (no Flask, no database), so the engine's guards, the PDF papers and the
services call the same functions the pages do; i18n.py only adds the request's
language and registers these as Jinja filters.

Two date styles, both on purpose:
- screen, e-mail, spreadsheet, messages: dd/mm/yyyy ("02/09/2024"), `vn_date`;
- paper (Decree 30): the day padded, months 1-2 padded, months 3-9 not
  ("02/9/2024"), `paper_date`; "ngày 05 tháng 9 năm 2024", `date_words`; and the
  place-and-date line "Tam Đường, ngày 05 tháng 9 năm 2024", `date_line`.
Numbers: "1.234,5" in Vietnamese, "1,234.5" in English (`vn_decimal`); a number put
back in an edit box is written so the form reads the same number back (`input_number`).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_decimal

from .clock import to_local

# A field value (a dossier's number fields) as pages, history and papers show it.
FIELD_DIGITS = 2


def vn_date(value: date | datetime | str | None) -> str:
    """dd/mm/yyyy; datetimes (stored naive UTC) shown in Vietnam time with hh:mm; an ISO
    date string (a dossier's date field, as stored in JSON) as the date it names; None "—"."""
    if value is None:
        return "—"
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            return value  # not a date: shown as stored rather than refused on a page
    if isinstance(value, datetime):
        return to_local(value).strftime("%d/%m/%Y %H:%M")
    return value.strftime("%d/%m/%Y")


def paper_date(d: date) -> str:
    """"02/9/2024": the day padded, months 1-2 padded (as Decree 30 writes dates, so
    "01" cannot be altered to "11" by hand); months 3-9 without a zero."""
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"{d.day:02d}/{month}/{d.year}"


def date_words(d: date) -> str:
    """"ngày 05 tháng 9 năm 2024" (Decree 30 padding, as `paper_date`)."""
    month = f"{d.month:02d}" if d.month < 3 else str(d.month)
    return f"ngày {d.day:02d} tháng {month} năm {d.year}"


def date_line(place: str, d: date) -> str:
    """Place-and-date line of Decree 30: "Tam Đường, ngày 05 tháng 9 năm 2024"."""
    return f"{place}, {date_words(d)}"


def paper_time(moment: datetime) -> str:
    """"10 giờ 05 phút, ngày 02/9/2024" in Vietnam time (a naive moment is stored UTC)."""
    local = to_local(moment)
    return f"{local.hour:02d} giờ {local.minute:02d} phút, ngày {paper_date(local.date())}"


def vn_decimal(value, lang: str = "vi", digits: int = 2) -> str:
    """1234567.5 -> "1.234.567,5" (vi) / "1,234,567.5" (en); at most `digits` decimals,
    trailing zeros dropped; the sign kept (-0.5 -> "-0,5"); None "—"; a non-number as text."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return str(value)
    pattern = "#,##0" + ("." + "#" * digits if digits > 0 else "")
    return format_decimal(value, format=pattern, locale="en" if lang == "en" else "vi")


def vn_money(value, lang: str = "vi") -> str:
    """A whole amount of đồng: 1250000 -> "1.250.000 đ" (vi) / "1,250,000 đ" (en)."""
    return f"{vn_decimal(value, lang, 0)} đ"


def field_value(value, lang: str = "vi") -> str:
    """A number field's value where people read it: the detail page, the history, the receipt."""
    return vn_decimal(value, lang, FIELD_DIGITS)


def input_number(value, lang: str = "vi") -> str:
    """A number as it goes back into an edit box: every digit kept, no thousands
    separator, no exponent, the decimal comma in Vietnamese ("1234567,5"), so the
    form (validation: "," read as ".") reads back the same number."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, int):
        return str(value)
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if lang == "vi" else text


def percent(share: float) -> str:
    """0.67 -> "67%"."""
    return f"{share:.0%}"


def file_size(size: int, lang: str = "vi") -> str:
    """"512 byte", "12,3 KB", "1,5 MB" (one decimal, dropped when zero: "20 MB")."""
    if size < 1024:
        return f"{size} byte"
    if size < 1024 * 1024:
        return f"{vn_decimal(round(size / 1024, 1), lang, 1)} KB"
    return f"{vn_decimal(round(size / (1024 * 1024), 1), lang, 1)} MB"


def lower_first(text: str) -> str:
    """A name inside a sentence: only the first letter lowered ("Công nhận xã NTM" -> "công nhận xã NTM")."""
    return text[:1].lower() + text[1:]
