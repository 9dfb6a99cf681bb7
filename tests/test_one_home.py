"""One place for each small rule (docs/architecture.md, "One home for each small rule").

Source checks: a rule written a second time somewhere else fails here, naming the
file. Behaviour checks: the edge cases of the one copy (formats.py, months.py,
clock.py, the level vocabulary).
"""
from __future__ import annotations

import ast
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from workflow_app import formats, months
from workflow_app.clock import VN_TZ, as_stored, local_iso, local_month_bounds, local_naive, utcnow
from workflow_app.workflow.errors import BadRequest, RuleRefused
from workflow_app.workflow.vocabulary import APPLICANT_ORDER, COMMUNE_LEVELS, LEVELS, RANK, above

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "workflow_app"
TEMPLATES = ROOT / "templates"


def sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def where(pattern: str, *, allowed: tuple[str, ...] = (), files: list[Path] | None = None) -> list[str]:
    """file:line of every match of `pattern` outside the `allowed` files (paths relative to the root)."""
    found = []
    for path in files if files is not None else sources():
        rel = path.relative_to(ROOT).as_posix()
        if rel in allowed:
            continue
        for n, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(pattern, line):
                found.append(f"{rel}:{n}: {line.strip()}")
    return found


def defined(name: str) -> list[str]:
    """Files that define a function or assign a module-level name `name`."""
    out = []
    for path in sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                out.append(path.relative_to(ROOT).as_posix())
            elif isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
                out.append(path.relative_to(ROOT).as_posix())
    return sorted(set(out))


# ----------------------------------------------------------------------------- source: one definition each

def test_the_time_zone_is_written_only_in_clock():
    assert where(r"timedelta\(hours=7\)|[\"']\+07:00[\"']|utcoffset\(", allowed=("workflow_app/clock.py",)) == []


def test_vietnam_time_comes_from_the_clock_only():
    """No module converts stored times by hand or reads "today" as local_now().date()."""
    assert where(r"local_now\(\)\.date\(\)|local_now\(\)\.year", allowed=("workflow_app/clock.py",)) == []
    assert where(r"to_local\([^)]*\)\.isoformat\(", allowed=("workflow_app/clock.py",)) == []
    assert where(r"clock import .*noqa: F401") == []  # no second door to the clock (re-export)
    # A naive datetime means UTC everywhere: nobody stamps +07:00 on one (the demo builds its own local moments).
    assert where(r"\.replace\(tzinfo=VN_TZ\)", allowed=("workflow_app/services/admin/demo_story.py",)) == []


def test_dates_are_formatted_only_in_formats():
    allowed = ("workflow_app/formats.py",)
    assert where(r"%d/%m/%Y|:%d/%m/%Y", allowed=allowed) == []
    assert where(r"ngày \{d\.day|tháng \{month\} năm", allowed=allowed) == []  # "ngày … tháng … năm …" by hand
    assert where(r"%d/%m/%Y|\.strftime\(", files=sorted(TEMPLATES.rglob("*.html"))) == []


def test_numbers_and_sizes_are_formatted_only_in_formats():
    allowed = ("workflow_app/formats.py",)
    assert where(r"format_decimal\(", allowed=allowed) == []
    assert where(r"(?<!TIMEOUT):g\}|:,\}|:,\.\d+g\}|\.0%\}", allowed=allowed) == []  # START_TIMEOUT: a log line
    for name in ("vn_decimal", "file_size", "human_size", "short_date", "vn_date_line", "long_date",
                 "_lower_first", "lower_first", "vn_date", "paper_date", "time_line"):
        assert defined(name) in ([], ["workflow_app/formats.py"]), name
    assert where(r"\[:1\]\.lower\(\)", allowed=allowed) == []


def test_months_are_read_and_shifted_only_in_months():
    for name in ("parse_month", "current_month", "shift_month", "month_label", "MONTH_PATTERN", "FIRST_MONTH",
                 "month_bounds", "previous_month"):
        assert defined(name) in ([], ["workflow_app/months.py"]), name
    assert where(r"month\[5:\]|month\[:4\]|month\[5:7\]", allowed=("workflow_app/months.py",)) == []
    assert where(r"[\"']2020-01", allowed=("workflow_app/months.py",),
                 files=sources() + sorted(TEMPLATES.rglob("*.html"))) == []


def test_levels_are_listed_only_in_the_vocabulary():
    assert defined("LEVELS") == ["workflow_app/workflow/vocabulary.py"]
    for name in ("RANK", "_RANK", "LEVEL_ORDER", "UNIT_LEVELS"):
        assert defined(name) in ([], ["workflow_app/workflow/vocabulary.py"]), name
    assert where(r"\(\s*[\"']commune[\"'],\s*[\"']town[\"']\s*\)",
                 allowed=("workflow_app/workflow/vocabulary.py",)) == []


def test_the_submission_query_is_written_once():
    assert where(r"AuditRecord\.action\.in_\(filing_events", allowed=("workflow_app/services/core/common.py",)) == []
    assert where(r"last_filing\([^)]*first=") == []


def test_a_kinds_name_is_read_through_kind_label():
    """`.labels[...]` of a whole definition (a kind's name) is read by Engine.kind_label only."""
    pattern = r"(\bd|definition\([^)]*\)|definition_of\([^)]*\))\.labels\[|\.labels\)$"
    assert where(pattern, allowed=("workflow_app/workflow/engine.py", "workflow_app/workflow/diagram.py")) == []
    assert where(r"definition\([^)]*\)\.labels\[", files=sorted(TEMPLATES.rglob("*.html"))) == []
    # refusals list kinds by name, not by their internal codes
    assert where(r"(có|một trong|known|one of): \{', '\.join\((engine\(\)\.kinds\(\)|kinds)\)",
                 allowed=("workflow_app/services/committee/membership.py",)) == []  # (there: an operator's file)


# ----------------------------------------------------------------------------- behaviour: formats

@pytest.mark.parametrize(("value", "lang", "digits", "shown"), [
    (-0.5, "vi", 2, "-0,5"),            # the sign between -1 and 0 is kept
    (-1234.25, "vi", 2, "-1.234,25"),
    (1234567.5, "vi", 2, "1.234.567,5"),
    (1234567.5, "en", 2, "1,234,567.5"),
    (92.5, "vi", 2, "92,5"),
    (90.0, "vi", 2, "90"),
    (1234, "vi", 0, "1.234"),
    (93.456, "vi", 2, "93,46"),
    (1500000, "vi", 10, "1.500.000"),
    (0.1 + 0.2, "vi", 10, "0,3"),
    (None, "vi", 2, "—"),
    ("n/a", "vi", 2, "n/a"),
])
def test_vn_decimal(value, lang, digits, shown):
    assert formats.vn_decimal(value, lang, digits) == shown


@pytest.mark.parametrize(("value", "lang", "typed"), [
    (1234567.5, "vi", "1234567,5"),     # never "1,23457e+06"
    (1234567.5, "en", "1234567.5"),
    (1e-7, "vi", "0,0000001"),
    (1.5e20, "en", "150000000000000000000"),
    (93.456, "vi", "93,456"),
    (5.0, "vi", "5"),
    (-0.25, "vi", "-0,25"),
    (42, "vi", "42"),
    (None, "vi", ""),
])
def test_input_number_round_trips_through_the_form(value, lang, typed):
    assert formats.input_number(value, lang) == typed
    if isinstance(value, float):
        assert float(typed.replace(",", ".")) == value  # validation reads "," as "."


def test_the_same_field_value_reads_the_same_everywhere():
    assert formats.field_value(93.456, "vi") == formats.vn_decimal(93.456, "vi", formats.FIELD_DIGITS) == "93,46"


@pytest.mark.parametrize(("size", "lang", "shown"), [
    (0, "vi", "0 byte"), (1023, "vi", "1023 byte"), (1024, "vi", "1 KB"), (12_600, "vi", "12,3 KB"),
    (1_572_864, "vi", "1,5 MB"), (1_572_864, "en", "1.5 MB"), (20 * 1024 * 1024, "vi", "20 MB"),
    (9 * 1024 * 1024 + 1, "vi", "9 MB"),
])
def test_file_size(size, lang, shown):
    assert formats.file_size(size, lang) == shown


def test_dates_screen_and_paper():
    assert formats.vn_date(date(2024, 9, 2)) == "02/09/2024"
    assert formats.vn_date("2024-09-02") == "02/09/2024"
    assert formats.vn_date("not a date") == "not a date"
    assert formats.vn_date(None) == "—"
    assert formats.vn_date(datetime(2024, 9, 1, 18, 30)) == "02/09/2024 01:30"  # stored UTC, shown +07:00
    assert [formats.paper_date(d) for d in (date(2024, 9, 2), date(2024, 1, 5), date(2024, 12, 31))] == [
        "02/9/2024", "05/01/2024", "31/12/2024"]
    assert formats.date_words(date(2024, 9, 5)) == "ngày 05 tháng 9 năm 2024"
    assert formats.date_words(date(2024, 2, 5)) == "ngày 05 tháng 02 năm 2024"
    assert formats.date_line("Tam Đường", date(2024, 9, 5)) == "Tam Đường, ngày 05 tháng 9 năm 2024"
    moment = datetime(2024, 9, 2, 10, 5, tzinfo=VN_TZ)
    assert formats.paper_time(moment) == "10 giờ 05 phút, ngày 02/9/2024"
    assert formats.paper_time(datetime(2024, 9, 2, 3, 5)) == "10 giờ 05 phút, ngày 02/9/2024"  # naive = UTC


def test_percent_and_lower_first():
    assert formats.percent(2 / 3) == "67%"
    assert formats.lower_first("Hồ sơ công nhận xã NTM") == "hồ sơ công nhận xã NTM"
    assert formats.lower_first("") == ""


# ----------------------------------------------------------------------------- behaviour: months

@pytest.mark.parametrize(("raw", "month"), [
    ("2024-09", "2024-09"), ("2024-9", "2024-09"), (" 2024-09 ", "2024-09"), ("2100-12", "2100-12"),
    ("2000-01", "2000-01"),
])
def test_parse_month_reads(raw, month):
    assert months.parse_month(raw) == month


@pytest.mark.parametrize("raw", [None, "", "2024-13", "2024-00", "24-09", "2024/09", "abc", "2024-9-1",
                                 "1999-05", "2101-01", "٢٠٢٤-09", "2024-09x", "2024-9x"])
def test_parse_month_refuses_with_400_and_says_what_to_enter(raw):
    with pytest.raises(BadRequest) as info:
        months.parse_month(raw)
    assert info.value.status == 400 and info.value.field == "month"
    assert "month=2024-09" in info.value.text.vi and "month=2024-09" in info.value.text.en


def test_empty_is_the_current_month_only_where_asked():
    today = date(2024, 10, 15)
    assert months.month_or_current(None, today) == months.month_or_current("", today) == "2024-10"
    assert months.month_or_current("2024-9", today) == "2024-09"
    with pytest.raises(BadRequest):
        months.month_or_current("2024-13", today)


def test_range_check_chooses_its_refusal():
    today = date(2024, 10, 15)
    assert months.check_in_range("2024-10", today) == "2024-10"
    assert months.check_in_range(months.FIRST_MONTH, today) == months.FIRST_MONTH
    with pytest.raises(RuleRefused) as info:
        months.check_in_range("2024-11", today)
    assert info.value.status == 422 and "Chưa đến tháng 11/2024" in info.value.text.vi
    with pytest.raises(BadRequest):
        months.check_in_range("2019-12", today, error=BadRequest)


def test_month_arithmetic():
    assert months.shift_month("2024-01", -1) == "2023-12"
    assert months.shift_month("2024-12", 1) == "2025-01"
    assert months.shift_month("2024-05", -17) == "2022-12"
    assert months.month_label("2024-09") == "09/2024"
    assert months.month_parts("2024-09") == (2024, 9)
    assert months.first_day("2024-02") == date(2024, 2, 1)
    assert months.last_day("2024-02") == date(2024, 2, 29)
    assert months.last_day("2023-12") == date(2023, 12, 31)
    assert months.next_if_past("2024-09", date(2024, 10, 1)) == "2024-10"
    assert months.next_if_past("2024-10", date(2024, 10, 1)) is None
    assert months.month_of(datetime(2024, 9, 30, 17, 0)) == "2024-10"  # stored UTC: already October in Vietnam
    assert months.current_month(date(2024, 9, 30)) == "2024-09"
    assert re.fullmatch(months.INPUT_PATTERN, "2024-09") and not re.fullmatch(months.INPUT_PATTERN, "2024-9")


# ----------------------------------------------------------------------------- behaviour: clock, levels

def test_clock_helpers():
    stored = datetime(2024, 9, 2, 3, 5)
    assert local_iso(stored) == "2024-09-02T10:05:00+07:00"
    assert local_iso(stored, "minutes") == "2024-09-02T10:05+07:00"
    assert local_iso(None) is None
    assert local_naive(stored) == datetime(2024, 9, 2, 10, 5) and local_naive(None) is None
    assert as_stored(stored) is stored
    assert as_stored(datetime(2024, 9, 2, 10, 5, tzinfo=VN_TZ)) == stored
    assert as_stored(datetime(2024, 9, 2, 5, 5, tzinfo=timezone(timedelta(hours=2)))) == stored
    now = as_stored(None)
    assert now.tzinfo is None and abs(now - utcnow()) < timedelta(seconds=5)  # the app's (frozen) clock
    assert local_month_bounds(2024, 9) == (datetime(2024, 8, 31, 17), datetime(2024, 9, 30, 17))
    assert local_month_bounds(2024, 12) == (datetime(2024, 11, 30, 17), datetime(2024, 12, 31, 17))


def test_levels():
    assert set(RANK) == set(LEVELS) == set(APPLICANT_ORDER)
    assert RANK["commune"] == RANK["town"] and above("district", "town") and not above("town", "commune")
    assert APPLICANT_ORDER.index("commune") < APPLICANT_ORDER.index("town")
    assert set(COMMUNE_LEVELS) == {"commune", "town"}
