"""A month is the string "YYYY-MM": what the database (MonthlyReport.month), URLs,
forms and the API carry. Every reading, check and sum of months goes through here.

Reading a month (`parse_month`) checks its form only: "2024-09" or "2024-9", the
digits 0-9 (a plain \\d would also take "٢٠٢٤"), a year of 2000-2100, a month of
1-12; anything else is a 400 (a page never sends it: its month box has a pattern).
Whether a well-formed month may be used is a separate check, `check_in_range`:
not before FIRST_MONTH and not after the current month. Its caller chooses the
refusal: a page whose box keeps the month in range (the monthly report) answers a
hand-edited URL with 400; the committee, where a member chooses the month of a
report, refuses with 422 on the `month` field. An empty month means the current
month only where a page asks for it (`month_or_current`).
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from .clock import local_today, to_local
from .workflow.errors import BadRequest, DomainError, RuleRefused

FIRST_YEAR = 2020
LAST_YEAR = 2100
FIRST_MONTH = f"{FIRST_YEAR}-01"
FIRST_DAY = date(FIRST_YEAR, 1, 1)
# A month as parse_month reads it and the API documents it.
MONTH_PATTERN = r"^(20[0-9]{2}|2100)-(0?[1-9]|1[0-2])$"
# The same rule for a browser's pattern attribute (always two-digit months there).
INPUT_PATTERN = "(20[0-9]{2}|2100)-(0[1-9]|1[0-2])"
_MONTH = re.compile(MONTH_PATTERN)


def valid_year(year: int) -> bool:
    return FIRST_YEAR <= year <= LAST_YEAR


def current_month(today: date | None = None) -> str:
    today = today or local_today()
    return f"{today.year:04d}-{today.month:02d}"


def parse_month(text: str | None) -> str:
    """"2024-09" (also "2024-9", spaces around ignored) -> "2024-09"; 400 otherwise, empty included."""
    raw = (text or "").strip()
    m = _MONTH.fullmatch(raw)
    if not m:
        shown = raw[:20]
        raise BadRequest(f"Tháng '{shown}' không hợp lệ: hãy ghi theo dạng NĂM-THÁNG, ví dụ month=2024-09 "
                         "(tháng từ 01 đến 12).",
                         f"Month '{shown}' is not valid: write it as YEAR-MONTH, for example month=2024-09 "
                         "(months 01 to 12).", field="month")
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def month_or_current(text: str | None, today: date | None = None) -> str:
    """A page's ?month=: the current month when absent or empty, else `parse_month`."""
    if text is None or text == "":
        return current_month(today)
    return parse_month(text)


def check_in_range(month: str, today: date | None = None,
                   error: type[DomainError] = RuleRefused) -> str:
    """Refuse (with `error`) a month that has not begun or is before FIRST_MONTH."""
    this_month = current_month(today)
    if month > this_month:
        raise error(f"Chưa đến tháng {month_label(month)}: chỉ chọn tháng này ({month_label(this_month)}) "
                    f"hoặc các tháng trước, ví dụ month={this_month}.",
                    f"Month {month_label(month)} has not begun: choose this month ({month_label(this_month)}) "
                    f"or an earlier one, for example month={this_month}.", field="month")
    if month < FIRST_MONTH:
        raise error(f"Tháng không được trước {month_label(FIRST_MONTH)} (month={FIRST_MONTH}).",
                    f"The month may not be before {month_label(FIRST_MONTH)} (month={FIRST_MONTH}).",
                    field="month")
    return month


def month_parts(month: str) -> tuple[int, int]:
    """"2024-09" -> (2024, 9)."""
    return int(month[:4]), int(month[5:7])


def month_label(month: str) -> str:
    """"2024-09" -> "09/2024"."""
    return f"{month[5:7]}/{month[:4]}"


def shift_month(month: str, delta: int) -> str:
    y, m = month_parts(month)
    index = y * 12 + (m - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def next_if_past(month: str, today: date | None = None) -> str | None:
    """The month after `month`, or None when `month` is the current one (no link into the future)."""
    return shift_month(month, 1) if month < current_month(today) else None


def first_day(month: str) -> date:
    y, m = month_parts(month)
    return date(y, m, 1)


def last_day(month: str) -> date:
    return first_day(shift_month(month, 1)) - timedelta(days=1)


def month_of(moment: date | datetime) -> str:
    """The month of a day, or of a stored time (naive UTC) in Vietnam."""
    if isinstance(moment, datetime):
        moment = to_local(moment).date()
    return current_month(moment)
