"""Working days, calendar days and step deadlines (issue 5). No Flask, no database.

Working days are Monday to Friday, less the public holidays of cán bộ, công chức, plus
the Saturdays worked in exchange for a day off (ngày làm bù). The holidays are data:
one file per year in reference_data/holidays/<year>.yaml (format in each file's
header). A date in a year without a file raises CalendarGap naming the file to add:
a missing year is never read as "no holidays".

Counting convention (public-service practice: the clock starts on the working day
after receipt, "ngày làm việc tiếp theo"):
- The start day never counts, whatever it is. `add_working_days(start, n)` is the
  n-th working day strictly after `start`; `add_working_days(start, 0)` is `start`.
  Received on Friday 2024-08-30 with 3 working days: Sat-Tue are the Quốc khánh break,
  so day 1 is Wed 4/9 and the result is Fri 2024-09-06.
- `working_days_between(a, b)` counts the working days d with a < d <= b, so
  `working_days_between(s, add_working_days(s, n)) == n` for every s and n.
- A pause is a half-open interval [from, to): the dossier was returned to the village
  on `from` and came back on `to`. Days from `from` up to the day before `to` never
  count; `to` counts again. `to=None` is a pause still running. Overlapping or
  touching pauses count once.
- `due_date(start, limit, "working", pauses)` is the day on which the limit-th counted
  working day falls: every paused working day before it pushes it one working day on.
  With "calendar" it counts calendar days outside pauses; when that day is not a
  working day the time limit ends on the next working day (Bộ luật Dân sự 2015,
  Điều 148 khoản 5), unless roll_forward=False.
"""
from __future__ import annotations

import bisect
import functools
import itertools
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml

log = logging.getLogger(__name__)

HOLIDAYS_DIR = Path(__file__).resolve().parent / "reference_data" / "holidays"

Pause = tuple[date, date | None]
Unit = Literal["working", "calendar"]

_YEAR_FILE = re.compile(r"^(\d{4})\.yaml$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TOP_KEYS = {"year", "source", "days_off", "extra_working_days"}
_ENTRY_KEYS = {"name", "from", "to", "note"}
_ONE_DAY = timedelta(days=1)


class CalendarError(Exception):
    """Base of the working-day calendar's errors."""


class CalendarDataError(CalendarError):
    """A holiday file is invalid. `problems` lists every one, each naming file and entry."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("Invalid holiday calendar:\n" + "\n".join(f"- {p}" for p in self.problems))


class CalendarGap(CalendarError):
    """A date falls in a year that has no holiday file."""

    def __init__(self, year: int, path: Path) -> None:
        self.year, self.path = year, path
        super().__init__(
            f"No working-day calendar for {year}: add {path} with the public holidays of {year} "
            f"(Chưa có lịch ngày nghỉ năm {year}: cần bổ sung tệp {path.name})."
        )


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Keeps dates as text, so that 2025-02-30 is reported with its file and entry
    instead of failing inside the YAML parser."""


_Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: loader.construct_scalar(node))


@dataclass(frozen=True)
class Entry:
    file: str
    kind: str  # "days_off" or "extra_working_days"
    index: int
    name: str
    start: date
    end: date

    @property
    def ref(self) -> str:
        return f"{self.kind}[{self.index}] ({self.name!r})"

    @property
    def label(self) -> str:
        return f"{self.file}: {self.ref}"


@dataclass(frozen=True)
class WorkCalendar:
    folder: Path
    years: frozenset[int]
    days_off: frozenset[date]
    extra_working_days: frozenset[date]
    entries: tuple[Entry, ...]

    # --- single days -------------------------------------------------------------
    def known_years(self) -> tuple[int, ...]:
        return tuple(sorted(self.years))

    def is_working_day(self, d: date) -> bool:
        _check_date(d, "d")
        if d.year not in self.years:
            raise CalendarGap(d.year, self.folder / f"{d.year}.yaml")
        if d in self.extra_working_days:
            return True
        return d.weekday() < 5 and d not in self.days_off

    # --- arithmetic --------------------------------------------------------------
    @functools.cached_property
    def _counts(self) -> tuple[date, date, list[int]] | None:
        """(first, last, counts) over the longest run of consecutive known years that
        ends with the latest one: counts[i] = working days d with first <= d <=
        first + i days. None without years. Read by working_days_between and
        add_working_days, so that neither walks day by day across the years."""
        if not self.years:
            return None
        top = max(self.years)
        low = top
        while low - 1 in self.years:
            low -= 1
        first, last = date(low, 1, 1), date(top, 12, 31)
        counts, n, d = [], 0, first
        while d <= last:
            n += self.is_working_day(d)
            counts.append(n)
            d += _ONE_DAY
        return first, last, counts

    def _count_to(self, d: date) -> int | None:
        """Working days from the first covered day up to `d` included (0 the day before
        the first), or None when `d` is outside the covered years."""
        span = self._counts
        if span is None:
            return None
        first, last, counts = span
        if d == first - _ONE_DAY:
            return 0
        if not first <= d <= last:
            return None
        return counts[(d - first).days]

    def add_working_days(self, start: date, n: int) -> date:
        """The n-th working day after `start` (start itself never counts)."""
        _check_date(start, "start")
        if n < 0:
            raise ValueError("n must be >= 0; count back with working_days_between")
        base = self._count_to(start)
        if base is not None and n:
            first, _last, counts = self._counts  # type: ignore[misc]
            i = bisect.bisect_left(counts, base + n)
            if i < len(counts):  # else past the last known year: the walk below names the gap
                return first + timedelta(days=i)
        d = start
        while n:
            d += _ONE_DAY
            if self.is_working_day(d):
                n -= 1
        return d

    def working_days_between(self, a: date, b: date, pauses: Iterable[Pause] = ()) -> int:
        """Working days d with a < d <= b, outside every pause [from, to)."""
        _check_date(a, "a")
        _check_date(b, "b")
        if b < a:
            raise ValueError(f"b ({b}) is before a ({a})")
        merged = merge_pauses(pauses)
        if not merged:
            low, high = self._count_to(a), self._count_to(b)
            if low is not None and high is not None:
                return high - low
        count, d = 0, a + _ONE_DAY
        while d <= b:
            if not _paused(d, merged) and self.is_working_day(d):
                count += 1
            d += _ONE_DAY
        return count

    def due_date(self, start: date, limit: int, unit: Unit = "working",
                 pauses: Iterable[Pause] = (), *, roll_forward: bool = True) -> date | None:
        """The last day of a time limit of `limit` working or calendar days counted
        after `start`, pushed on by every paused day it contains. None while a pause
        that is still running (to=None) stops the clock before the limit is reached."""
        _check_date(start, "start")
        if unit not in ("working", "calendar"):
            raise ValueError(f"unit must be 'working' or 'calendar', not {unit!r}")
        if limit < 0:
            raise ValueError("limit must be >= 0")
        merged = merge_pauses(pauses)
        if not merged:  # most clocks: the counts' bisect (add_working_days), or calendar days added
            d = self.add_working_days(start, limit) if unit == "working" else start + timedelta(days=limit)
        else:  # day by day, paused days skipped
            d, left = start, limit
            while left:
                d += _ONE_DAY
                if _paused(d, merged):
                    if merged[-1][1] is None and d >= merged[-1][0]:
                        return None  # the clock is stopped for good
                    continue
                if unit == "calendar" or self.is_working_day(d):
                    left -= 1
        if unit == "calendar" and limit and roll_forward:
            while not self.is_working_day(d):
                d += _ONE_DAY
        return d


# --- pure helpers -------------------------------------------------------------------
def add_calendar_days(start: date, n: int) -> date:
    _check_date(start, "start")
    return start + timedelta(days=n)


def merge_pauses(pauses: Iterable[Pause]) -> list[Pause]:
    """Sorted, with overlapping or touching intervals merged; empty ones dropped."""
    items: list[Pause] = []
    for p in pauses:
        start, end = p
        _check_date(start, "pause start")
        if end is not None:
            _check_date(end, "pause end")
            if end < start:
                raise ValueError(f"pause ends ({end}) before it starts ({start})")
            if end == start:
                continue
        items.append((start, end))
    items.sort(key=lambda p: p[0])
    merged: list[Pause] = []
    for start, end in items:
        if merged:
            last_start, last_end = merged[-1]
            if last_end is None or start <= last_end:
                new_end = None if last_end is None or end is None else max(last_end, end)
                merged[-1] = (last_start, new_end)
                continue
        merged.append((start, end))
    return merged


def _paused(d: date, merged: list[Pause]) -> bool:
    return any(start <= d and (end is None or d < end) for start, end in merged)


def _check_date(value: Any, what: str) -> None:
    # A datetime is a date subclass, but comparing it with dates fails later and its
    # day depends on the time zone: the caller converts in +07:00 first.
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{what} must be a date (convert a datetime in +07:00 with .date()), "
                        f"not {type(value).__name__}")


# --- loading and validation -----------------------------------------------------------
def _parse_date(value: Any, where: str, key: str, problems: list[str]) -> date | None:
    if value is None:
        problems.append(f"{where}: '{key}' is missing")
        return None
    text = str(value)
    if not _ISO_DATE.match(text):
        problems.append(f"{where}: '{key}' must be a date YYYY-MM-DD, got {value!r}")
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        problems.append(f"{where}: '{key}' is not a real date ({text}: {exc})")
        return None


def _parse_file(path: Path, year: int, problems: list[str]) -> list[Entry]:
    fname = path.name
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"{fname}: cannot be read as YAML: {exc}")
        return []
    if not isinstance(data, dict):
        problems.append(f"{fname}: must be a mapping with 'year' and 'days_off'")
        return []
    for key in sorted(set(data) - _TOP_KEYS, key=str):
        problems.append(f"{fname}: unknown key {key!r} (allowed: {', '.join(sorted(_TOP_KEYS))})")
    if data.get("year") != year:
        problems.append(f"{fname}: 'year' must be {year} (the file name), got {data.get('year')!r}")
    if "days_off" not in data:
        problems.append(f"{fname}: 'days_off' is missing")

    entries: list[Entry] = []
    for kind in ("days_off", "extra_working_days"):
        raw = data.get(kind) or []
        if not isinstance(raw, list):
            problems.append(f"{fname}: '{kind}' must be a list of entries")
            continue
        for i, item in enumerate(raw):
            where = f"{fname}: {kind}[{i}]"
            if not isinstance(item, dict):
                problems.append(f"{where}: must be a mapping with name, from, to")
                continue
            name = item.get("name")
            if isinstance(name, str) and name.strip():
                where += f" ({name!r})"
            else:
                problems.append(f"{where}: 'name' is missing or empty")
                name = ""
            for key in sorted(set(item) - _ENTRY_KEYS, key=str):
                problems.append(f"{where}: unknown key {key!r} (allowed: name, from, to, note)")
            start = _parse_date(item.get("from"), where, "from", problems)
            end = _parse_date(item.get("to"), where, "to", problems)
            if start is None or end is None:
                continue
            if end < start:
                problems.append(f"{where}: reversed range, 'to' {end} is before 'from' {start}")
                continue
            if start.year != year or end.year != year:
                problems.append(f"{where}: {start}..{end} is outside {year}; "
                                f"put it in {start.year}.yaml")
                continue
            if kind == "extra_working_days":
                weekdays = [d for d in _days(start, end) if d.weekday() < 5]
                if weekdays:
                    problems.append(f"{where}: {weekdays[0]} is a weekday; an extra working day "
                                    f"must be a Saturday or Sunday")
                    continue
            entries.append(Entry(fname, kind, i, name, start, end))

    ordered = sorted(entries, key=lambda e: (e.start, e.end))
    for prev, cur in itertools.combinations(ordered, 2):  # a few entries: every pair
        if cur.start <= prev.end:
            problems.append(f"{cur.label} overlaps {prev.ref} "
                            f"({cur.start}..{cur.end} and {prev.start}..{prev.end})")
    return entries


def _days(start: date, end: date) -> Iterable[date]:
    d = start
    while d <= end:
        yield d
        d += _ONE_DAY


def _read_folder(folder: Path) -> tuple[WorkCalendar | None, list[str]]:
    problems: list[str] = []
    if not folder.is_dir():
        return None, [f"{folder}: holiday folder not found"]
    years: set[int] = set()
    entries: list[Entry] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in (".yaml", ".yml"):
            continue  # README and the like
        m = _YEAR_FILE.match(path.name)
        if not m:
            problems.append(f"{path.name}: a holiday file is named <year>.yaml, e.g. 2028.yaml")
            continue
        year = int(m.group(1))
        years.add(year)
        entries.extend(_parse_file(path, year, problems))
    if problems:
        return None, problems
    off = {d for e in entries if e.kind == "days_off" for d in _days(e.start, e.end)}
    extra = {d for e in entries if e.kind == "extra_working_days" for d in _days(e.start, e.end)}
    cal = WorkCalendar(folder, frozenset(years), frozenset(off), frozenset(extra), tuple(entries))
    return cal, []


def check_calendar(folder: str | Path | None = None) -> list[str]:
    """Every problem in the holiday folder, each naming its file and entry; [] when valid.
    Never cached: for an admin command such as `flask holidays check`."""
    _, problems = _read_folder(Path(folder) if folder else HOLIDAYS_DIR)
    return problems


@functools.lru_cache(maxsize=8)
def _load_cached(folder: Path) -> WorkCalendar:
    cal, problems = _read_folder(folder)
    if cal is None:
        raise CalendarDataError(problems)
    log.info("working-day calendar: years %s from %s", ", ".join(map(str, cal.known_years())), folder)
    return cal


def load_calendar(folder: str | Path | None = None) -> WorkCalendar:
    """The calendar of `folder` (default reference_data/holidays), loaded once and cached.
    Raises CalendarDataError listing every problem."""
    return _load_cached(Path(folder or HOLIDAYS_DIR).resolve())


def clear_cache() -> None:
    """Forget loaded calendars (after an admin edited a holiday file)."""
    _load_cached.cache_clear()


# --- the default calendar -----------------------------------------------------------
def known_years() -> tuple[int, ...]:
    return load_calendar().known_years()


def is_working_day(d: date) -> bool:
    return load_calendar().is_working_day(d)


def add_working_days(start: date, n: int) -> date:
    return load_calendar().add_working_days(start, n)


def working_days_between(a: date, b: date, pauses: Iterable[Pause] = ()) -> int:
    return load_calendar().working_days_between(a, b, pauses)


def due_date(start: date, limit: int, unit: Unit = "working", pauses: Iterable[Pause] = (),
             *, roll_forward: bool = True) -> date | None:
    return load_calendar().due_date(start, limit, unit, pauses, roll_forward=roll_forward)

