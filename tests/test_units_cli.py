"""`flask units reform` and `flask units import` through Flask's CLI runner on the
test app (which has the shipped reform loaded): idempotent, dry runs write
nothing, refusals name file, key or row and column and change nothing."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from helpers import dossier_in
from sqlalchemy import func

from workflow_app.extensions import db
from workflow_app.models import AuditRecord, Reform, Unit, UnitLink
from workflow_app.services.core.reference import find_unit, reform_files

SHIPPED = next(p for p in reform_files() if p.name == "lai-chau-2025.yaml")


def run(app, *args):
    return app.test_cli_runner().invoke(args=[str(a) for a in args])


def counts() -> tuple[int, int, int, int]:
    db.session.rollback()  # see what the command's own session committed
    return tuple(db.session.scalar(db.select(func.count()).select_from(m))
                 for m in (Unit, UnitLink, AuditRecord, Reform))


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------------ reform

def test_shipped_reform_again_changes_nothing(app):
    before = counts()
    out = run(app, "units", "reform", SHIPPED)
    assert out.exit_code == 0, out.output
    assert out.output.strip().endswith("lai-chau-2025.yaml: nothing to change.")
    assert counts() == before


def test_reform_hands_over_an_open_dossier_once_and_dry_run_writes_nothing(app, make_user):
    officer = make_user("submitter", "na-tam")
    dossier = dossier_in(officer, "na-tam-01", 2025, "submitted")  # opened after the reform was loaded
    before = counts()

    dry = run(app, "units", "reform", SHIPPED, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"dossier {dossier.code}: taken over by ban-bo-2025" in dry.output
    assert "1 change(s) would be made (dry run: nothing written)" in dry.output
    assert counts() == before

    first = run(app, "units", "reform", SHIPPED)
    assert first.exit_code == 0, first.output
    assert first.output.splitlines() == [f"dossier {dossier.code}: taken over by ban-bo-2025",
                                         "lai-chau-2025.yaml: 1 change(s) applied."]
    assert counts() == (before[0], before[1], before[2] + 1, before[3])

    second = run(app, "units", "reform", SHIPPED)
    assert second.exit_code == 0 and "nothing to change" in second.output
    assert counts() == (before[0], before[1], before[2] + 1, before[3])


REFORM_2027 = """\
code: test-2027
effective: 2027-01-01
legal_basis: Nghị quyết thử nghiệm
new_units:
  - {code: ta-leng-2027, name: "Xã Tả Lèng mới", level: commune, parent: lai-chau}
abolished: [ta-leng-2025, khun-ha-2025]
merges:
  ta-leng-2025: ta-leng-2027
  khun-ha-2025: ta-leng-2027
moves:
  - {units: [ban-bo-01], to: binh-lu-2025}
"""


def test_a_new_reform_applies_once_and_its_dry_run_lists_the_same_changes(app, tmp_path):
    path = write(tmp_path, "test-2027.yaml", REFORM_2027)
    before = counts()
    dry = run(app, "units", "reform", path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert counts() == before
    applied = run(app, "units", "reform", path)
    assert applied.exit_code == 0, applied.output
    # The same change lines; only the summary differs.
    assert dry.output.splitlines()[:-1] == applied.output.splitlines()[:-1]
    lines = applied.output.splitlines()
    assert "reform test-2027: effective 2027-01-01" in lines
    assert "new unit ta-leng-2027 (Xã Tả Lèng mới, commune) under lai-chau from 2027-01-01" in lines
    assert "unit ta-leng-2025 (Xã Tả Lèng) ends on 2026-12-31" in lines
    assert "unit giang-ma-01 moves under ta-leng-2027 from 2027-01-01" in lines
    assert "unit ban-bo-01 moves under binh-lu-2025 from 2027-01-01" in lines
    after = counts()
    assert after[0] == before[0] + 1 and after[3] == before[3] + 1 and after[1] > before[1]

    again = run(app, "units", "reform", path)
    assert again.exit_code == 0 and "nothing to change" in again.output
    assert counts() == after
    village = find_unit("giang-ma-01")
    assert [village.parent_on(d).code for d in (date(2025, 6, 30), date(2025, 7, 1), date(2026, 12, 31),
                                                date(2027, 1, 1))] == ["giang-ma", "ta-leng-2025", "ta-leng-2025",
                                                                       "ta-leng-2027"]


@pytest.mark.parametrize("text, where", [
    # an unknown code, in each place a code is named
    (REFORM_2027.replace("abolished: [ta-leng-2025,", "abolished: [ta-leng-2099,"),
     "abolished[0]: unknown unit 'ta-leng-2099'"),
    (REFORM_2027.replace("parent: lai-chau}", "parent: lai-chau-x}"), "new_units[0].parent: unknown unit 'lai-chau-x'"),
    (REFORM_2027.replace("[ban-bo-01]", "[ban-bo-99]"), "moves[0].units[0]: unknown unit 'ban-bo-99'"),
    (REFORM_2027.replace("khun-ha-2025: ta-leng-2027", "khun-ha-2025: nowhere"),
     "merges.khun-ha-2025: unknown successor unit 'nowhere'"),
    # overlapping periods: a unit that already ends on another day, a code already in use
    (REFORM_2027.replace("abolished: [ta-leng-2025,", "abolished: [tam-duong,"),
     "abolished[0]: unit 'tam-duong' already ends on 2025-06-30"),
    (REFORM_2027.replace("code: ta-leng-2027", "code: ban-bo-2025"),
     "new_units[0].code: unit 'ban-bo-2025' already exists from 2025-07-01"),
    (REFORM_2027.replace("effective: 2027-01-01", "effective: 2025-03-01").replace(
        "abolished: [ta-leng-2025, khun-ha-2025]", "abolished: []").replace(
        "  ta-leng-2025: ta-leng-2027\n  khun-ha-2025: ta-leng-2027\n", "").replace(
        "merges:\n", "merges: {}\n").replace(
        "to: binh-lu-2025}", "to: na-tam}"),
     "moves: unit 'ban-bo-01' already has a place from 2025-07-01"),
    (REFORM_2027.replace("effective: 2027-01-01\n", ""), "effective: missing"),
])
def test_a_refused_reform_names_file_and_key_and_changes_nothing(app, tmp_path, text, where):
    path = write(tmp_path, "bad-reform.yaml", text)
    before = counts()
    for args in (("--dry-run",), ()):
        out = run(app, "units", "reform", path, *args)
        assert out.exit_code == 1, out.output
        assert f"bad-reform.yaml: {where}" in out.stderr
    assert counts() == before


def test_a_missing_reform_file_exits_1_naming_it(app, tmp_path):
    out = run(app, "units", "reform", tmp_path / "none.yaml")
    assert out.exit_code == 1 and "none.yaml: cannot be read" in out.stderr


# ------------------------------------------------------------------------------ import

CSV = """\
code,name,level,parent,valid_from,valid_to
na-tam-10,Bản Nà Tăm Mới,village,na-tam,2020-01-01,2025-06-30
ta-leng-2025-01,Bản Mới,village,ta-leng-2025,2025-08-01,
na-tam-01,Bản Nà Tăm 1 (đổi tên),village,na-tam,2020-01-01,
"""


def test_import_adds_and_renames_idempotently_and_the_dry_run_writes_nothing(app, tmp_path):
    path = write(tmp_path, "units.csv", CSV)
    before = counts()
    dry = run(app, "units", "import", path, "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert counts() == before
    assert dry.output.splitlines() == [
        "added na-tam-10 (Bản Nà Tăm Mới, village) under na-tam, 2020-01-01..2025-06-30",
        "added ta-leng-2025-01 (Bản Mới, village) under ta-leng-2025, 2025-08-01..…",
        f"renamed na-tam-01: '{find_unit('na-tam-01').name}' -> 'Bản Nà Tăm 1 (đổi tên)'",
        "units.csv: 3 change(s) would be made (dry run: nothing written).",
    ]
    done = run(app, "units", "import", path)
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[:-1] == dry.output.splitlines()[:-1]
    assert counts() == (before[0] + 2, before[1] + 2, before[2], before[3])
    new = find_unit("ta-leng-2025-01")
    assert new.parent_on(date(2025, 8, 1)).code == "ta-leng-2025" and new.parent_on(date(2025, 7, 31)) is None
    assert new.path == "/lai-chau/ta-leng-2025/ta-leng-2025-01/"
    assert find_unit("na-tam-01").parent_on(date(2026, 1, 1)).code == "ban-bo-2025"  # the reform's move stays

    again = run(app, "units", "import", path)
    assert again.exit_code == 0 and again.output.strip() == "units.csv: nothing to change."
    assert counts() == (before[0] + 2, before[1] + 2, before[2], before[3])


def test_import_yaml_changes_level_and_period(app, tmp_path):
    path = write(tmp_path, "units.yaml", """\
units:
  - {code: ta-leng-2025-01, name: Bản Mới, level: village, parent: ta-leng-2025, valid_from: 2025-08-01}
  - code: ta-leng-2025-01
    name: Bản Mới
    level: village
    parent: ta-leng-2025
    valid_from: 2025-09-01
""")
    out = run(app, "units", "import", path)
    assert out.exit_code == 1
    assert "units.yaml: units[1] (line 3), key code: 'ta-leng-2025-01' is already on units[0] (line 2)" in out.stderr
    write(tmp_path, "units.yaml", "units:\n  - {code: ta-leng-2025-01, name: Bản Mới, level: village, "
                                  "parent: ta-leng-2025, valid_from: 2025-08-01}\n")
    assert run(app, "units", "import", path).exit_code == 0
    write(tmp_path, "units.yaml", "units:\n  - {code: ta-leng-2025-01, name: Bản Mới, level: village, "
                                  "parent: ta-leng-2025, valid_from: 2025-09-01, valid_to: 2030-12-31}\n")
    out = run(app, "units", "import", path)
    assert out.exit_code == 0, out.output
    assert "period of ta-leng-2025-01: 2025-08-01..… -> 2025-09-01..2030-12-31" in out.output
    db.session.rollback()
    unit = find_unit("ta-leng-2025-01")
    assert (unit.valid_from, unit.valid_to) == (date(2025, 9, 1), date(2030, 12, 31))
    assert [(link.valid_from, link.valid_to) for link in unit.links] == [(date(2025, 9, 1), date(2030, 12, 31))]


@pytest.mark.parametrize("row, problem", [
    ("x-01,Bản X,village,no-such,2020-01-01,", "line 2, column parent: unknown unit 'no-such'"),
    ("x-01,Bản X,hamlet,na-tam,2020-01-01,", "line 2, column level: unknown level 'hamlet'"),
    ("x-01,Bản X,village,na-tam,2020-02-30,",
     "line 2, column valid_from: must be a date YYYY-MM-DD (got '2020-02-30')"),
    ("x-01,Bản X,village,na-tam,1/2/2020,", "line 2, column valid_from: must be a date YYYY-MM-DD"),
    ("x-01,Bản X,village,na-tam,2020-01-01,2019-01-01", "line 2, column valid_to: 2019-01-01 is before valid_from"),
    ("x-01,Bản X,village,ta-leng-2025,2025-01-01,",
     "line 2, column parent: parent 'ta-leng-2025' does not exist on 2025-01-01"),
    ("x-01,Bản X,village,na-tam,2024-01-01,",
     "line 2, column parent: parent 'na-tam' ends on 2025-06-30, before the unit does"),
    ("x-01,Bản X,commune,na-tam,2020-01-01,2025-06-30",
     "line 2, column level: a commune cannot sit under 'na-tam', a commune"),
    ("X 01,Bản X,village,na-tam,2020-01-01,", "line 2, column code: 'X 01' is not a code"),
    (",Bản X,village,na-tam,2020-01-01,", "line 2, column code: missing"),
    ("na-tam-01,Bản Nà Tăm 1,village,giang-ma,2020-01-01,", "line 2, column parent: unit 'na-tam-01' sits under"),
    ("tam-duong,Huyện Tam Đường,district,lai-chau,2020-01-01,",
     "line 2, column valid_to: unit 'tam-duong' ends on 2025-06-30 by reform lai-chau-2025"),
    ("na-tam,Xã Nà Tăm,commune,tam-duong,2021-01-01,2025-06-30",
     "line 2, column valid_from: 'na-tam-01' sits under it over 2020-01-01..2025-06-30, "
     "outside 2021-01-01..2025-06-30"),
    ("na-tam-01,Bản Nà Tăm 1,commune,na-tam,2020-01-01,", "line 2, column level: a commune cannot sit under 'na-tam'"),
])
def test_import_errors_name_file_row_and_column_and_change_nothing(app, tmp_path, row, problem):
    path = write(tmp_path, "bad.csv", "code,name,level,parent,valid_from,valid_to\n" + row + "\n")
    before = counts()
    for args in (("--dry-run",), ()):
        out = run(app, "units", "import", path, *args)
        assert out.exit_code == 1, out.output
        assert f"bad.csv: {problem}" in out.stderr
    assert counts() == before


def test_import_reports_every_problem_and_a_child_of_a_refused_unit(app, tmp_path):
    path = write(tmp_path, "bad.csv", "code,name,level,parent,valid_from,valid_to\n"
                                      "y-01,Bản Y,village,y,2020-01-01,\n"
                                      "x,Xã X,commune,lai-chau,2019-01-01,\n"
                                      "x-01,Bản X,village,x,2020-01-01,\n"
                                      "x,Xã X,commune,lai-chau,2020-01-01,\n"
                                      "y,Xã Y,commune,lai-chau,2020-01-01,\n")
    before = counts()
    out = run(app, "units", "import", path)
    assert out.exit_code == 1
    assert "4 problem(s)" in out.stderr
    assert "bad.csv: line 2, column parent: unit 'y' comes later, on line 6: list parents first" in out.stderr
    assert "bad.csv: line 3, column parent: parent 'lai-chau' does not exist on 2019-01-01" in out.stderr
    assert "bad.csv: line 4, column parent: unit 'x' is refused on line 3" in out.stderr
    assert "bad.csv: line 5, column code: 'x' is already on line 3" in out.stderr
    assert counts() == before


@pytest.mark.parametrize("name, text, problem", [
    ("bad.csv", "code,name,level,parent,valid_from\n", "bad.csv: line 1, column valid_to: missing from the header"),
    ("bad.csv", "code,name,level,parent,valid_from,valid_to,colour\n",
     "bad.csv: line 1, column colour: unknown column"),
    ("bad.yaml", "units: {a: 1}\n", "bad.yaml: (top): must be a mapping with a list `units: [...]`"),
    ("bad.yaml", "units:\n  - {code: a, nam: b}\n", "bad.yaml: units[0] (line 2), key nam: unknown key"),
    ("bad.txt", "code\n", "bad.txt: unknown format"),
])
def test_import_refuses_a_file_that_is_not_a_unit_table(app, tmp_path, name, text, problem):
    out = run(app, "units", "import", write(tmp_path, name, text))
    assert out.exit_code == 1 and problem in out.stderr
