"""`due_date` without pauses counts by the calendar's cumulative working-day counts
(add_working_days' bisect) or adds calendar days; with pauses it walks. These tests hold
it to the day-by-day definition (the walk below: the limit-th day after the start,
paused days skipped, a running pause stopping the clock, a calendar-day limit rolled on
to a working day) over the calendar's whole range and past both ends: every start with
no pause, and Hypothesis with and without pauses, anchored on Tết, the other days off,
the make-up Saturdays and the reform day (2025-07-01), and on a calendar missing a year.
The same answer, or the same CalendarGap naming the same year."""
from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
from hypothesis import given, settings, strategies as st

from workflow_app.workdays import HOLIDAYS_DIR, CalendarGap, WorkCalendar, load_calendar

DAY = timedelta(days=1)
CAL = load_calendar()
FIRST, LAST = date(min(CAL.years), 1, 1), date(max(CAL.years), 12, 31)
REFORM_DAY = date(2025, 7, 1)
ANCHORS = sorted(CAL.days_off | CAL.extra_working_days | {REFORM_DAY, FIRST, LAST})
PROPS = settings(max_examples=1500, deadline=None)


def walked(cal: WorkCalendar, start: date, limit: int, unit: str, pauses, roll_forward: bool):
    """The definition, day by day; ("gap", year) where it reads a day of a year without data."""
    merged = sorted(pauses, key=lambda p: p[0])
    spans = [(a, b) for a, b in merged if b is None or b > a]

    def paused(d: date) -> bool:
        return any(a <= d and (b is None or d < b) for a, b in spans)

    try:
        d, left = start, limit
        while left:
            d += DAY
            if paused(d):
                if any(b is None and d >= a for a, b in spans):
                    return ("due", None)
                continue
            if unit == "calendar" or cal.is_working_day(d):
                left -= 1
        if unit == "calendar" and limit and roll_forward:
            while not cal.is_working_day(d):
                d += DAY
        return ("due", d)
    except CalendarGap as gap:
        return ("gap", gap.year)


def counted(cal: WorkCalendar, start: date, limit: int, unit: str, pauses, roll_forward: bool):
    try:
        return ("due", cal.due_date(start, limit, unit, pauses, roll_forward=roll_forward))
    except CalendarGap as gap:
        return ("gap", gap.year)


def test_every_start_without_pauses_matches_the_walk():
    d = FIRST - 3 * DAY
    while d <= LAST + 3 * DAY:
        for limit in (0, 1, 2, 3, 5, 7, 10, 15, 20, 30, 45):
            for unit in ("working", "calendar"):
                assert counted(CAL, d, limit, unit, (), True) == walked(CAL, d, limit, unit, (), True), (d, limit, unit)
        d += DAY


starts = st.one_of(
    st.dates(min_value=FIRST - 40 * DAY, max_value=LAST + 5 * DAY),
    st.builds(lambda a, k: a + timedelta(days=k), st.sampled_from(ANCHORS), st.integers(-25, 3)),
)
limits = st.one_of(st.integers(0, 40), st.integers(0, 500))


@st.composite
def pauses_after(draw, start: date):
    """0-4 pauses near the start: none, some before it, touching or overlapping, empty, running."""
    out = []
    for _ in range(draw(st.integers(0, 4))):
        a = start + timedelta(days=draw(st.integers(-20, 250)))
        b = draw(st.one_of(st.none(), st.integers(0, 60).map(lambda k, a=a: a + timedelta(days=k))))
        out.append((a, b))
    return out


@PROPS
@given(starts, limits, st.sampled_from(["working", "calendar"]), st.booleans(), st.data())
def test_with_pauses_the_count_matches_the_walk(start, limit, unit, roll_forward, data):
    pauses = data.draw(pauses_after(start))
    assert counted(CAL, start, limit, unit, pauses, roll_forward) == walked(CAL, start, limit, unit, pauses,
                                                                            roll_forward)


@pytest.fixture(scope="module")
def holed(tmp_path_factory) -> WorkCalendar:
    """A calendar with a year missing in the middle: 2024, then 2026 and 2027 only (the
    counts cover 2026-2027; a count from 2024 reaches 2025 and names it)."""
    folder = tmp_path_factory.mktemp("holidays")
    for year in (2024, 2026, 2027):
        shutil.copy(HOLIDAYS_DIR / f"{year}.yaml", folder / f"{year}.yaml")
    return load_calendar(folder)


@PROPS
@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 1, 5)), limits,
       st.sampled_from(["working", "calendar"]), st.booleans(), st.data())
def test_a_calendar_with_a_missing_year_names_it_as_the_walk_does(holed, start, limit, unit, roll_forward, data):
    pauses = data.draw(pauses_after(start))
    assert counted(holed, start, limit, unit, pauses, roll_forward) == walked(holed, start, limit, unit, pauses,
                                                                              roll_forward)
