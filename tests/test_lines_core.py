"""The table-of-lines service (services/core/lines.py) on the shipped definitions: each
column checked, the priority order kept at 1..n, imports all or nothing, rounds copy
the lines, grants per line; and the definition loader's refusals for `lines`."""
from __future__ import annotations

from pathlib import Path

import pytest

from workflow_app.extensions import db
from workflow_app.models import AuditRecord, Dossier
from workflow_app.services import create_dossier, fire_event
from workflow_app.services.core.line_workbook import number_from_text
from workflow_app.services.core.lines import add_line, lines_of, ordered, remove_line, replace_lines, update_line
from workflow_app.workflow.definitions import load_definition
from workflow_app.workflow.errors import (
    BadRequest,
    EventNotAvailable,
    GuardFailed,
    LineRefused,
    NotFound,
    NotPermitted,
    RuleRefused,
)

pytestmark = pytest.mark.db

STATES = Path(__file__).resolve().parent.parent / "states"


def line(village="na-tam-01", work="Đường bê tông nội bản", priority=None, tonnes=12.5, **kw):
    values = {"village": village, "work": work, "quantity": 350, "unit_of_measure": "m",
              "cement_tonnes": tonnes, "households": 40, **kw}
    if priority is not None:
        values["priority"] = priority
    return values


@pytest.fixture
def people(make_user):
    return {"preparer": make_user("preparer", "na-tam"), "submitter": make_user("submitter", "na-tam"),
            "appraiser": make_user("appraiser", "tam-duong"), "other": make_user("preparer", "son-binh")}


@pytest.fixture
def request_(people):
    dossier = create_dossier(people["preparer"], "cement_request", "na-tam", 2025)
    db.session.commit()
    return dossier


def ranks(dossier: Dossier) -> dict[str, int]:
    return {ln.values["work"]: ln.values["priority"] for ln in dossier.current_lines()}


def test_lines_keep_their_priority_order_contiguous(people, request_):
    p = people["preparer"]
    a = add_line(p, request_, line(work="A"))
    b = add_line(p, request_, line(work="B"))
    add_line(p, request_, line(work="C", priority=1))  # goes first, the others move down
    db.session.commit()
    assert ranks(request_) == {"C": 1, "A": 2, "B": 3}
    update_line(p, request_, b.id, {"priority": 1})
    assert ranks(request_) == {"B": 1, "C": 2, "A": 3}
    update_line(p, request_, b.id, {"priority": 3})
    assert ranks(request_) == {"C": 1, "A": 2, "B": 3}
    remove_line(p, request_, a.id)
    db.session.commit()
    assert ranks(request_) == {"C": 1, "B": 2}
    with pytest.raises(LineRefused) as refused:
        update_line(p, request_, b.id, {"priority": 3})
    assert set(refused.value.cells) == {"priority"}


def test_each_column_is_checked_and_named(people, request_):
    with pytest.raises(LineRefused) as refused:
        add_line(people["preparer"], request_, line(village="son-binh-01", work="", tonnes=0,
                                                    unit_of_measure="thùng", households=-1))
    cells = refused.value.cells
    assert set(cells) == {"village", "work", "cement_tonnes", "unit_of_measure", "households"}
    assert "Thôn, bản" in cells["village"].vi and "na-tam" not in cells["village"].vi
    assert "lớn hơn 0" in cells["cement_tonnes"].vi
    assert refused.value.details("en")["cells"]["work"] == "'Work' is required."
    with pytest.raises(BadRequest):
        add_line(people["preparer"], request_, {**line(), "colour": "red"})
    db.session.rollback()
    assert db.session.get(Dossier, request_.id).lines == []


def test_choice_by_label_and_dates_in_order(make_user):
    officer = make_user("submitter", "na-tam")
    plan = create_dossier(officer, "funding_plan", "na-tam", 2025)
    got = add_line(officer, plan, {"item": "Nhà văn hoá bản", "source": "Ngân sách tỉnh", "amount_vnd": 250_000_000,
                                   "starts_on": "2025-03-01", "ends_on": "2025-09-30"})
    assert got.values["source"] == "province" and "village" not in got.values
    with pytest.raises(LineRefused) as refused:
        add_line(officer, plan, {"item": "X", "source": "central", "amount_vnd": 1.5,
                                 "starts_on": "2025-03-01", "ends_on": "2025-02-01"})
    assert set(refused.value.cells) == {"amount_vnd", "ends_on"}


def test_who_and_when_may_edit(people, request_):
    with pytest.raises(NotPermitted):
        add_line(people["other"], request_, line())
    with pytest.raises(NotFound):
        update_line(people["preparer"], request_, 99999, {"work": "X"})
    with pytest.raises(GuardFailed):
        fire_event(people["submitter"], request_, "submit")
    db.session.rollback()
    add_line(people["preparer"], request_, line())
    fire_event(people["submitter"], request_, "submit")
    db.session.commit()
    with pytest.raises(EventNotAvailable):
        add_line(people["preparer"], request_, line())


def test_import_is_all_or_nothing_with_every_row_named(people, request_):
    p = people["preparer"]
    add_line(p, request_, line(work="old"))
    db.session.commit()
    with pytest.raises(LineRefused) as refused:
        replace_lines(p, request_, [(2, line(work="A", priority=1)), (3, line(work="", priority=1)),
                                    (4, line(work="C", priority=2))])
    assert set(refused.value.by_row) == {3}
    with pytest.raises(LineRefused) as refused:
        replace_lines(p, request_, [(2, line(work="A", priority=1)), (3, line(work="B", priority=1))])
    assert refused.value.by_row[3]["priority"].en.startswith("'Priority' 1 repeats row 2")
    db.session.rollback()
    assert ranks(db.session.get(Dossier, request_.id)) == {"old": 1}
    replace_lines(p, request_, [(2, line(work="A")), (3, line(work="B"))])
    assert ranks(request_) == {"A": 1, "B": 2}
    replace_lines(p, request_, [(2, line(work="A", priority=2)), (3, line(work="B", priority=1))])
    assert ranks(request_) == {"A": 2, "B": 1}


def test_return_keeps_the_old_round_and_accept_grants_in_part(people, request_):
    p, s, a = people["preparer"], people["submitter"], people["appraiser"]
    first = add_line(p, request_, line(work="A", tonnes=10))
    add_line(p, request_, line(work="B", tonnes=4))
    fire_event(s, request_, "submit")
    fire_event(a, request_, "return", "Bổ sung khối lượng")
    db.session.commit()
    assert request_.round == 2 and len(request_.lines) == 4
    copy = next(ln for ln in request_.current_lines() if ln.values["work"] == "A")
    assert copy.origin_id == first.id
    update_line(p, request_, copy.id, {"cement_tonnes": 8})
    assert first.values["cement_tonnes"] == 10  # the first round stays as it was filed
    fire_event(s, request_, "submit")
    db.session.commit()
    with pytest.raises(RuleRefused):
        fire_event(a, request_, "accept", granted={str(copy.id): 9})  # more than asked
    db.session.rollback()
    request_ = db.session.get(Dossier, request_.id)
    fire_event(a, request_, "accept", granted={copy.id: 5})
    db.session.commit()
    current = {ln.values["work"]: ln for ln in request_.current_lines()}
    assert {work: ln.granted for work, ln in current.items()} == {"A": 5, "B": 4}
    last = db.session.execute(db.select(AuditRecord).where(AuditRecord.dossier_id == request_.id)
                              .order_by(AuditRecord.seq.desc())).scalars().first()
    assert last.to_state == "accepted"
    assert last.data["granted"] == {str(current["A"].id): 5, str(current["B"].id): 4}


def test_a_line_change_raises_the_version_once(people, request_):
    p = people["preparer"]
    for change in (lambda: add_line(p, request_, line(work="A")), lambda: add_line(p, request_, line(work="B"))):
        version = request_.version
        change()
        db.session.commit()
        assert request_.version == version + 1
    first, second = ordered(lines_of(request_), request_.current_lines())
    for change in (lambda: update_line(p, request_, second.id, {"priority": 1}),  # a move renumbers both
                   lambda: remove_line(p, request_, first.id)):                    # a removal closes the gap
        version = request_.version
        change()
        db.session.commit()
        assert request_.version == version + 1


@pytest.mark.parametrize("typed, read", [
    ("1.250.000", 1_250_000), ("12,5", 12.5), ("12.5", 12.5), ("1.250", 1250), (" 7 ", 7),
    ("１２", None), ("٣", None), ("1" + ".000" * 20, None), ("12 tấn", None), ("", None),
])
def test_typed_numbers_are_read_as_people_write_them(typed, read):
    # A number the reader refuses is passed on as text, which the line's check refuses in
    # words (422): never "１２" read as 12, nor an endless run of digits (float inf, a 500).
    assert number_from_text(typed) == read


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("change, problem", [
    ("    priority: {type: integer, sequence: true, labels: {vi: a, en: a}}\n"
     "    rank: {type: integer, sequence: true, labels: {vi: b, en: b}}\n", "at most one column may be a sequence"),
    ("    where: {type: unit, labels: {vi: a, en: a}}\n", "a unit column needs a level"),
    ("    kind: {type: choice, labels: {vi: a, en: a}}\n", "a choice column needs choices"),
    ("    amount: {type: integer, colour: red, labels: {vi: a, en: a}}\n", "unknown key"),
    ("    version: {type: integer, labels: {vi: a, en: a}}\n", "reserved name"),
])
def test_the_loader_names_a_bad_column(tmp_path, change, problem):
    base = (STATES / "cement_request.yaml").read_text(encoding="utf-8")
    text = base.replace("  columns:\n", "  columns:\n" + change, 1)
    with pytest.raises(Exception) as failed:
        load_definition(_write(tmp_path, "x.yaml", text))
    assert problem in str(failed.value) and "lines.columns" in str(failed.value)


def test_the_loader_checks_grants_and_summary(tmp_path):
    base = (STATES / "cement_request.yaml").read_text(encoding="utf-8")
    with pytest.raises(Exception, match="events.accept.grants"):
        load_definition(_write(tmp_path, "a.yaml", base.replace("grants: cement_tonnes", "grants: work")))
    with pytest.raises(Exception, match="lines.summary.measure"):
        load_definition(_write(tmp_path, "b.yaml", base.replace("measure: cement_tonnes", "measure: work")))
    with pytest.raises(Exception, match="actions.edit_lines"):
        load_definition(_write(tmp_path, "c.yaml", base.replace("  edit_lines:", "  edit_rows:")))
