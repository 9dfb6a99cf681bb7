"""Working-day calendar (workflow_app/workdays.py): properties with Hypothesis on the
shipped holiday data, known dates, and validation of bad holiday files."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings, strategies as st

from workflow_app import workdays
from workflow_app.workdays import (
    HOLIDAYS_DIR,
    CalendarDataError,
    CalendarGap,
    add_calendar_days,
    add_working_days,
    due_date,
    is_working_day,
    load_calendar,
    working_days_between,
)

D = date
DAY = timedelta(days=1)
FIRST, LAST = D(2024, 1, 1), D(2027, 12, 31)
PROPS = settings(max_examples=150, deadline=None)

# Starts early enough that 60 working days (about 90 calendar days) stay in the data.
starts = st.dates(min_value=FIRST, max_value=D(2027, 6, 30))
counts = st.integers(min_value=0, max_value=60)


def _raw_oracle() -> tuple[set[date], set[date]]:
    """Days off and extra working days read straight from the YAML with PyYAML's own
    date parsing: an independent reading of the data."""
    off: set[date] = set()
    extra: set[date] = set()
    for path in sorted(HOLIDAYS_DIR.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key, target in (("days_off", off), ("extra_working_days", extra)):
            for entry in data.get(key) or []:
                d = entry["from"]
                while d <= entry["to"]:
                    target.add(d)
                    d += DAY
    return off, extra


OFF, EXTRA = _raw_oracle()


def _expected_working(d: date) -> bool:
    return d in EXTRA or (d.weekday() < 5 and d not in OFF)


def _days(a: date, b: date):
    """Days d with a <= d <= b."""
    while a <= b:
        yield a
        a += DAY


NON_WORKING = [d for d in _days(FIRST, LAST) if not _expected_working(d)]
HOLIDAY_WEEKDAYS = [d for d in NON_WORKING if d.weekday() < 5]


# --- the data ------------------------------------------------------------------------
def test_shipped_data_is_valid_and_covers_2024_to_2027():
    assert workdays.check_calendar() == []
    assert workdays.known_years() == (2024, 2025, 2026, 2027)


def test_every_day_matches_an_independent_reading_of_the_yaml():
    wrong = [d for d in _days(FIRST, LAST) if is_working_day(d) != _expected_working(d)]
    assert wrong == []


def test_each_year_has_tet_and_the_fixed_holidays():
    for year in range(2024, 2028):
        assert not is_working_day(D(year, 9, 2))  # a weekday in each of these years
        assert not is_working_day(D(year, 4, 30))
        names = [e.name for e in load_calendar().entries if e.start.year == year]
        assert any("Tết Nguyên đán" in n for n in names)
        assert any("Giỗ Tổ" in n for n in names)


# --- properties ------------------------------------------------------------------------
@PROPS
@given(starts, counts)
def test_add_then_count_back_gives_n(start, n):
    assert working_days_between(start, add_working_days(start, n)) == n


@PROPS
@given(starts, st.integers(min_value=1, max_value=60))
def test_result_is_a_working_day_and_the_last_counted(start, n):
    end = add_working_days(start, n)
    assert is_working_day(end)
    assert working_days_between(start, end - DAY) == n - 1


@PROPS
@given(starts, counts, counts)
def test_monotonic_and_additive_in_n(start, n, m):
    a, b = add_working_days(start, n), add_working_days(start, n + m)
    assert a <= b and (a < b) == (m > 0)
    assert add_working_days(a, m) == b


@PROPS
@given(st.sampled_from([d for d in NON_WORKING if D(2024, 1, 25) <= d <= D(2027, 11, 30)]),
       st.integers(min_value=0, max_value=20))
def test_weekends_and_holidays_never_count(day, span):
    assert not is_working_day(day)
    assert working_days_between(day - DAY, day) == 0
    # Counting over a window is the same with or without the non-working day in it.
    a = day - timedelta(days=span + 1)
    assert working_days_between(a, day) == working_days_between(a, day - DAY)
    # No n >= 1 lands on it.
    for n in range(1, span + 3):
        assert add_working_days(day - timedelta(days=span + 1), n) != day


@PROPS
@given(st.sampled_from(HOLIDAY_WEEKDAYS))
def test_a_public_holiday_on_a_weekday_is_skipped(day):
    assert day.weekday() < 5 and not is_working_day(day)
    assert add_working_days(day - DAY, 1) > day


@PROPS
@given(starts, st.integers(min_value=0, max_value=120))
def test_count_matches_a_day_by_day_oracle(a, span):
    b = a + timedelta(days=span)
    expected = sum(1 for d in _days(a + DAY, b) if _expected_working(d))
    assert working_days_between(a, b) == expected


@PROPS
@given(st.dates(min_value=FIRST - DAY, max_value=LAST), st.dates(min_value=FIRST, max_value=LAST))
def test_long_spans_across_years_match_the_oracle_both_ways(a, b):
    """Counting and adding over years (a report's dossier late since 2024) agree with the
    day-by-day oracle, from the day before the first known year to the last day."""
    a, b = min(a, b), max(a, b)
    n = sum(1 for d in _days(a + DAY, b) if _expected_working(d))
    assert working_days_between(a, b) == n
    if n:
        due = add_working_days(a, n)
        assert due <= b and _expected_working(due) and working_days_between(a, due) == n


def test_counting_past_the_known_years_still_names_the_missing_file():
    with pytest.raises(CalendarGap):
        working_days_between(D(2027, 12, 1), D(2028, 1, 10))
    with pytest.raises(CalendarGap):
        working_days_between(D(2023, 12, 1), D(2024, 1, 10))
    with pytest.raises(CalendarGap):
        add_working_days(D(2027, 12, 20), 30)


# pauses: [from, to) intervals placed after the start
@st.composite
def pause_lists(draw, start, max_offset=80):
    out = []
    for _ in range(draw(st.integers(0, 4))):
        f = start + timedelta(days=draw(st.integers(0, max_offset)))
        out.append((f, f + timedelta(days=draw(st.integers(0, 20)))))
    return out


def _paused_days(pauses):
    return {d for f, t in pauses for d in _days(f, t - DAY)}


@PROPS
@given(st.data())
def test_paused_days_never_count_and_overlaps_count_once(data):
    a = data.draw(starts)
    b = a + timedelta(days=data.draw(st.integers(0, 100)))
    pauses = data.draw(pause_lists(a - timedelta(days=10)))
    paused = _paused_days(pauses)
    expected = sum(1 for d in _days(a + DAY, b) if d not in paused and _expected_working(d))
    assert working_days_between(a, b, pauses) == expected
    # Repeating a pause, or giving them in another order, changes nothing.
    assert working_days_between(a, b, pauses + pauses[:1]) == expected
    assert working_days_between(a, b, list(reversed(pauses))) == expected
    assert working_days_between(a, b, workdays.merge_pauses(pauses)) == expected


@PROPS
@given(starts, st.integers(1, 30), st.data())
def test_a_pause_of_k_working_days_moves_the_due_date_by_k(start, limit, data):
    plain = due_date(start, limit)
    assert plain == add_working_days(start, limit)
    # A pause [f, t) inside (start, plain]: t - 1 <= plain.
    f = start + timedelta(days=data.draw(st.integers(1, (plain - start).days)))
    t = f + timedelta(days=data.draw(st.integers(0, (plain - f).days + 1)))
    k = working_days_between(f - DAY, t - DAY)  # working days in [f, t)
    assert due_date(start, limit, "working", [(f, t)]) == add_working_days(plain, k)


@PROPS
@given(starts, st.integers(1, 30), st.data())
def test_due_date_with_any_pauses_is_the_limit_th_counted_day(start, limit, data):
    pauses = data.draw(pause_lists(start))
    due = due_date(start, limit, "working", pauses)
    assert working_days_between(start, due, pauses) == limit
    assert is_working_day(due) and due not in _paused_days(pauses)


@PROPS
@given(starts, st.integers(1, 40), st.integers(0, 60))
def test_a_running_pause_stops_the_clock(start, limit, offset):
    plain = due_date(start, limit)
    returned = start + timedelta(days=offset)
    result = due_date(start, limit, "working", [(returned, None)])
    assert result == (plain if returned > plain else None)


@PROPS
@given(starts, st.integers(0, 60))
def test_calendar_days(start, limit):
    assert due_date(start, limit, "calendar", roll_forward=False) == add_calendar_days(start, limit)
    due = due_date(start, limit, "calendar")
    end = add_calendar_days(start, limit)
    if limit:
        assert is_working_day(due)
        assert all(not is_working_day(d) for d in _days(end, due - DAY))
    else:
        assert due == start


@PROPS
@given(starts, st.integers(1, 60), st.data())
def test_calendar_days_pushed_by_paused_days(start, limit, data):
    pauses = data.draw(pause_lists(start))
    paused = _paused_days(pauses)
    due = due_date(start, limit, "calendar", pauses, roll_forward=False)
    assert sum(1 for d in _days(start + DAY, due) if d not in paused) == limit
    assert due not in paused


# --- known dates ---------------------------------------------------------------------
def test_three_working_days_after_receipt_on_friday_before_quoc_khanh_2024():
    # Received Fri 30/8/2024; Sat 31/8 - Tue 3/9 are the Quốc khánh break.
    assert add_working_days(D(2024, 8, 30), 1) == D(2024, 9, 4)
    assert add_working_days(D(2024, 8, 30), 3) == D(2024, 9, 6)
    assert due_date(D(2024, 8, 30), 3) == D(2024, 9, 6)
    assert working_days_between(D(2024, 8, 30), D(2024, 9, 3)) == 0


def test_the_start_day_never_counts():
    # Received on a working Monday: day 1 is Tuesday.
    assert add_working_days(D(2024, 9, 9), 1) == D(2024, 9, 10)
    # Received on a Sunday: day 1 is Monday.
    assert add_working_days(D(2024, 9, 8), 1) == D(2024, 9, 9)
    assert add_working_days(D(2024, 9, 8), 0) == D(2024, 9, 8)
    assert working_days_between(D(2024, 9, 9), D(2024, 9, 9)) == 0


def test_around_tet_2025():
    assert all(not is_working_day(d) for d in _days(D(2025, 1, 25), D(2025, 2, 2)))
    assert is_working_day(D(2025, 1, 24)) and is_working_day(D(2025, 2, 3))
    assert add_working_days(D(2025, 1, 24), 1) == D(2025, 2, 3)
    assert add_working_days(D(2025, 1, 23), 5) == D(2025, 2, 6)
    assert working_days_between(D(2025, 1, 20), D(2025, 2, 7)) == 9  # 21-24/1, 3-7/2


def test_town_council_within_3_then_vote_within_5_working_days_over_tet_2026():
    complete = D(2026, 2, 12)  # Thursday before the Bính Ngọ break (14/2 - 22/2)
    council = due_date(complete, 3)
    assert council == D(2026, 2, 24)
    assert due_date(council, 5) == D(2026, 3, 3)


def test_make_up_saturdays():
    # 2025: Fri 2/5 exchanged for Sat 26/4.
    assert is_working_day(D(2025, 4, 26)) and not is_working_day(D(2025, 5, 2))
    assert add_working_days(D(2025, 4, 25), 1) == D(2025, 4, 26)
    assert add_working_days(D(2025, 4, 25), 4) == D(2025, 5, 5)
    # 2024: Mon 29/4 exchanged for Sat 4/5.
    assert not is_working_day(D(2024, 4, 29)) and is_working_day(D(2024, 5, 4))
    assert add_working_days(D(2024, 4, 26), 1) == D(2024, 5, 2)
    assert add_working_days(D(2024, 5, 3), 1) == D(2024, 5, 4)
    # 2026: Sat 10/1 and Sat 22/8 are working days; Sun 11/1 is not.
    assert is_working_day(D(2026, 1, 10)) and is_working_day(D(2026, 8, 22))
    assert not is_working_day(D(2026, 1, 11)) and not is_working_day(D(2026, 1, 2))


def test_return_to_the_village_pauses_the_clock():
    # Received Mon 9/9/2024, 5 working days: due Mon 16/9. Returned Wed 11/9, back Mon 16/9:
    # Wed, Thu, Fri paused (3 working days), Mon 16/9 counts again.
    assert due_date(D(2024, 9, 9), 5) == D(2024, 9, 16)
    pauses = [(D(2024, 9, 11), D(2024, 9, 16))]
    assert working_days_between(D(2024, 9, 9), D(2024, 9, 16), pauses) == 2
    assert due_date(D(2024, 9, 9), 5, "working", pauses) == D(2024, 9, 19)
    # Two touching returns count as one.
    touching = [(D(2024, 9, 11), D(2024, 9, 13)), (D(2024, 9, 13), D(2024, 9, 16))]
    assert due_date(D(2024, 9, 9), 5, "working", touching) == D(2024, 9, 19)
    assert workdays.merge_pauses(touching) == pauses


def test_calendar_limit_ending_on_a_holiday_moves_to_the_next_working_day():
    # 30 calendar days after 1/8/2024 is Sat 31/8, inside the Quốc khánh break.
    assert due_date(D(2024, 8, 1), 30, "calendar", roll_forward=False) == D(2024, 8, 31)
    assert due_date(D(2024, 8, 1), 30, "calendar") == D(2024, 9, 4)
    assert add_calendar_days(D(2024, 8, 1), 30) == D(2024, 8, 31)


def test_a_year_without_data_is_a_calendar_gap_naming_the_file():
    with pytest.raises(CalendarGap) as exc:
        add_working_days(D(2027, 12, 28), 10)
    assert exc.value.year == 2028 and exc.value.path.name == "2028.yaml"
    assert "2028.yaml" in str(exc.value)
    with pytest.raises(CalendarGap, match="2023.yaml"):
        is_working_day(D(2023, 12, 29))
    with pytest.raises(CalendarGap):
        working_days_between(D(2023, 12, 1), D(2024, 1, 5))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        add_working_days(D(2024, 9, 9), -1)
    with pytest.raises(ValueError):
        working_days_between(D(2024, 9, 9), D(2024, 9, 8))
    with pytest.raises(ValueError):
        working_days_between(D(2024, 9, 1), D(2024, 9, 9), [(D(2024, 9, 5), D(2024, 9, 4))])
    with pytest.raises(ValueError):
        due_date(D(2024, 9, 9), 3, "hours")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="date"):
        add_working_days(datetime(2024, 9, 9, 10, 0), 1)
    with pytest.raises(TypeError):
        is_working_day("2024-09-09")  # type: ignore[arg-type]


# --- validation of holiday files -------------------------------------------------------
GOOD = """\
year: 2030
source: "test"
days_off:
  - name: "Tết Dương lịch"
    from: 2030-01-01
    to: 2030-01-01
  - name: "Tết Nguyên đán"
    from: 2030-02-02
    to: 2030-02-10
extra_working_days:
  - name: "Làm bù"
    from: 2030-01-12
    to: 2030-01-12
"""


def _folder(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


def test_a_good_folder_loads_and_is_cached(tmp_path):
    folder = _folder(tmp_path, {"2030.yaml": GOOD, "README.md": "not data"})
    cal = load_calendar(folder)
    assert cal is load_calendar(str(folder))
    assert cal.known_years() == (2030,)
    assert not cal.is_working_day(D(2030, 1, 1))
    assert cal.is_working_day(D(2030, 1, 12))  # a Saturday
    assert cal.add_working_days(D(2030, 2, 1), 1) == D(2030, 2, 11)
    with pytest.raises(CalendarGap, match="2031.yaml"):
        cal.is_working_day(D(2031, 1, 2))
    # An admin edit is seen after clear_cache().
    (folder / "2030.yaml").write_text(GOOD.replace("2030-02-10", "2030-02-11"), encoding="utf-8")
    assert load_calendar(folder).is_working_day(D(2030, 2, 11))
    workdays.clear_cache()
    assert not load_calendar(folder).is_working_day(D(2030, 2, 11))


def test_an_empty_folder_knows_no_year(tmp_path):
    cal = load_calendar(tmp_path)
    assert cal.known_years() == ()
    with pytest.raises(CalendarGap, match="2030.yaml"):
        cal.is_working_day(D(2030, 5, 5))


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("2030.yaml", GOOD.replace("2030-02-10", "2030-02-30"),
     ["2030.yaml: days_off[1] ('Tết Nguyên đán')", "not a real date"]),
    ("2030.yaml", GOOD.replace("to: 2030-02-10", "to: 2030-01-30"),
     ["2030.yaml: days_off[1] ('Tết Nguyên đán')", "reversed range"]),
    ("2030.yaml", GOOD.replace("from: 2030-02-02", "from: 2029-12-31"),
     ["days_off[1]", "outside 2030", "2029.yaml"]),
    ("2030.yaml", GOOD.replace("to: 2030-01-01", "to: 2030-02-03"),
     ["days_off[1] ('Tết Nguyên đán') overlaps days_off[0] ('Tết Dương lịch')"]),
    ("2030.yaml", GOOD.replace("2030-01-12", "2030-02-02"),
     ["extra_working_days[0] ('Làm bù')", "overlaps", "Tết Nguyên đán"]),
    ("2030.yaml", GOOD.replace("2030-01-12", "2030-01-14"),
     ["extra_working_days[0] ('Làm bù')", "2030-01-14 is a weekday"]),
    ("2030.yaml", GOOD.replace("year: 2030", "year: 2031"), ["2030.yaml", "'year' must be 2030"]),
    ("2030.yaml", GOOD.replace("    from: 2030-01-01", "    form: 2030-01-01"),
     ["days_off[0] ('Tết Dương lịch')", "unknown key 'form'", "'from' is missing"]),
    ("2030.yaml", GOOD.replace("from: 2030-01-01", "from: 1/1/2030"), ["must be a date YYYY-MM-DD"]),
    ("2030.yaml", GOOD.replace('name: "Làm bù"', 'name: ""'), ["extra_working_days[0]", "'name'"]),
    ("2030.yaml", GOOD.replace("days_off:", "days_of:"), ["unknown key 'days_of'", "'days_off' is missing"]),
    ("2030.yaml", "year: 2030\ndays_off: [\n", ["2030.yaml", "cannot be read as YAML"]),
    ("2030.yaml", "- 2030-01-01\n", ["2030.yaml", "must be a mapping"]),
    ("2030-draft.yaml", GOOD, ["2030-draft.yaml", "<year>.yaml"]),
])
def test_bad_files_are_reported_with_file_and_entry(tmp_path, name, text, expected):
    folder = _folder(tmp_path, {name: text})
    problems = workdays.check_calendar(folder)
    joined = "\n".join(problems)
    for part in expected:
        assert part in joined
    with pytest.raises(CalendarDataError) as exc:
        load_calendar(folder)
    assert exc.value.problems == problems
    assert expected[0] in str(exc.value)


def test_check_reports_every_problem_of_every_file(tmp_path):
    folder = _folder(tmp_path, {
        "2030.yaml": GOOD.replace("2030-02-10", "2030-02-30").replace("2030-01-12", "2030-01-14"),
        "2031.yaml": GOOD.replace("2030", "2031").replace("to: 2031-01-01", "to: 2030-12-31"),
    })
    problems = workdays.check_calendar(folder)
    assert len(problems) == 3
    assert [p.split(":")[0] for p in problems] == ["2030.yaml", "2030.yaml", "2031.yaml"]


def test_a_missing_folder_is_a_data_error(tmp_path):
    with pytest.raises(CalendarDataError, match="not found"):
        load_calendar(tmp_path / "nowhere")
