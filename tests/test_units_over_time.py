"""The unit tree by date: GET /api/v1/units/{code} and the list by `?on=`, and the
invariant every reform must keep: on any day each living unit sits in exactly one
place, under a parent alive that day (the province under none)."""
from __future__ import annotations

import tempfile
from datetime import date, timedelta
from pathlib import Path

import frozen_clock
import pytest
import time_machine
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from workflow_app.extensions import db
from workflow_app.models import Unit
from workflow_app.services.admin.setup import apply_file
from workflow_app.services.core.reforms import ReformError

# ------------------------------------------------------------------------------ API


@pytest.fixture
def api(make_user, api_as):
    return {lang: api_as(make_user("viewer", "lai-chau"), lang) for lang in ("vi", "en")}


def test_one_unit_today_and_on_a_day(api, make_user, api_as):
    # The frozen day is in the district era (frozen_clock.TODAY, before 2025-07-01).
    r = api["vi"].get("/api/v1/units/giang-ma-01")
    assert r.status_code == 200
    assert r.json["parent"] == "giang-ma" and r.json["valid_from"] == "2020-01-01" and r.json["valid_to"] is None
    assert set(r.json) == {"code", "name", "level", "parent", "valid_from", "valid_to"}
    assert api["vi"].get("/api/v1/units/giang-ma-01?on=2025-06-30").json["parent"] == "giang-ma"
    assert api["vi"].get("/api/v1/units/giang-ma-01?on=2025-07-01").json["parent"] == "ta-leng-2025"
    with time_machine.travel(frozen_clock.AFTER_REFORM, tick=True):
        api["vi"] = api_as(make_user("viewer", "lai-chau"))  # a token of that day (they expire)
        assert api["vi"].get("/api/v1/units/giang-ma-01").json["parent"] == "ta-leng-2025"
        old = api["vi"].get("/api/v1/units/tam-duong").json
    assert old == {"code": "tam-duong", "name": "Huyện Tam Đường", "level": "district", "parent": None,
                   "valid_from": "2020-01-01", "valid_to": "2025-06-30"}  # parent null: gone that day
    assert api["vi"].get("/api/v1/units/tam-duong?on=2025-06-30").json["parent"] == "lai-chau"
    assert api["vi"].get("/api/v1/units/lai-chau?on=2025-07-01").json["parent"] is None
    new = api["vi"].get("/api/v1/units/ta-leng-2025?on=2025-06-30").json
    assert new["parent"] is None and new["valid_from"] == "2025-07-01"


@pytest.mark.parametrize("url, status, vi, en", [
    ("/api/v1/units/no-such-unit", 404, "Không có đơn vị mã này.", "No unit with this code."),
    ("/api/v1/units/%00", 404, "Không", ""),  # refused before the view
    ("/api/v1/units/giang-ma-01?on=2025-02-30", 400, "Ngày không hợp lệ", "Bad date in 'on'"),
    ("/api/v1/units/giang-ma-01?on=tomorrow", 400, "Ngày không hợp lệ", "Bad date in 'on'"),
    ("/api/v1/units?parent=ta-leng-2025&on=1/7/2025", 400, "Ngày không hợp lệ", "Bad date in 'on'"),
    ("/api/v1/units?parent=no-such-unit&on=2025-07-01", 404, "Không có đơn vị mã này.", "No unit with this code."),
])
def test_unknown_code_is_404_and_a_bad_date_400_in_both_languages(api, url, status, vi, en):
    for lang, text in (("vi", vi), ("en", en)):
        r = api[lang].get(url)
        assert r.status_code == status, r.json
        assert r.json["error"]["code"] == ("not_found" if status == 404 else "bad_request")
        assert text in r.json["error"]["message"]


def test_children_by_date(api):
    get = lambda url: [(u["code"], u["parent"]) for u in api["vi"].get(url).json["items"]]
    before = get("/api/v1/units?parent=ta-leng-2025&on=2025-06-30")
    after = get("/api/v1/units?parent=ta-leng-2025&on=2025-07-01")
    assert before == []
    codes = [c for c, _ in after]
    assert codes == sorted(codes)
    assert {*(f"giang-ma-{n:02}" for n in range(1, 11)), *(f"ta-leng-{n:02}" for n in range(1, 7))} <= set(codes)
    assert {p for _, p in after} == {"ta-leng-2025"}
    # Today (frozen: the district era) the old commune still holds its villages.
    assert [c for c, _ in get("/api/v1/units?parent=giang-ma")][:2] == ["giang-ma-01", "giang-ma-02"]
    assert get("/api/v1/units?parent=giang-ma&on=2025-07-01") == []
    assert ("tam-duong", "lai-chau") in get("/api/v1/units?parent=lai-chau")
    assert ("tam-duong", "lai-chau") not in get("/api/v1/units?parent=lai-chau&on=2025-07-01")
    # Without a parent: every unit of the day, each with its parent that day.
    everyone = dict(get("/api/v1/units?on=2025-07-01"))
    assert everyone["giang-ma-01"] == "ta-leng-2025" and everyone["lai-chau"] is None and "tam-duong" not in everyone


def test_openapi_describes_the_unit_endpoint(app):
    doc = app.test_client().get("/api/v1/openapi.json").json
    item = doc["paths"]["/api/v1/units/{code}"]
    op = item["get"]
    assert {p["name"] for p in item.get("parameters", []) + op["parameters"]} == {"code", "on"}
    ref = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(doc["components"]["schemas"][ref]["properties"]) == {"code", "name", "level", "parent",
                                                                   "valid_from", "valid_to"}
    assert "on" in {p["name"] for p in doc["paths"]["/api/v1/units"]["get"]["parameters"]}


# ------------------------------------------------------------------------------ the invariant

def breaches(day: date) -> list[str]:
    """Every living unit on `day` without exactly one place under a living parent."""
    found = []
    for unit in db.session.execute(db.select(Unit)).scalars():
        if not unit.live_on(day):
            continue
        places = [link for link in unit.links if link.relation == "parent" and link.covers(day)]
        if len(places) != 1:
            found.append(f"{unit.code}: {len(places)} places on {day}")
            continue
        parent = places[0].parent
        if unit.level == "province":
            if parent is not None:
                found.append(f"{unit.code}: a province under {parent.code}")
        elif parent is None or not parent.live_on(day):
            found.append(f"{unit.code}: parent {parent.code if parent else None} not alive on {day}")
        elif places[0].path != f"{parent.path_on(day)}{unit.code}/":
            found.append(f"{unit.code}: path {places[0].path} does not follow its parent's on {day}")
    return found


DAYS = st.dates(date(2020, 1, 1), date(2030, 12, 31))
EDGES = [date(2020, 1, 1), date(2025, 6, 30), date(2025, 7, 1), date(2030, 12, 31)]


def test_the_reform_days_keep_the_invariant(app):
    for day in EDGES:
        assert breaches(day) == []


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=DAYS)
def test_every_living_unit_has_one_living_parent_on_any_day(app, day):
    assert breaches(day) == []


COMMUNES = ["ban-bo-2025", "binh-lu-2025", "ta-leng-2025", "khun-ha-2025", "sin-suoi-ho-2025"]
VILLAGES = ["na-tam-01", "giang-ma-03", "ta-leng-02", "then-sin-04", "ban-bo-05", "son-binh-01"]


@st.composite
def extra_reforms(draw):
    """A small valid reform on top of the shipped one: new communes, some 2025 communes
    abolished and merged into a survivor, some villages moved explicitly."""
    effective = draw(st.dates(date(2025, 7, 2), date(2030, 12, 31)))
    new = [f"xa-moi-{i}" for i in range(draw(st.integers(0, 2)))]
    abolished = draw(st.lists(st.sampled_from(COMMUNES), max_size=3, unique=True))
    survivors = new + [c for c in COMMUNES if c not in abolished]
    if not survivors:
        new, survivors = ["xa-moi-0"], ["xa-moi-0"]
    merges = {old: draw(st.sampled_from(survivors)) for old in abolished}
    moves = draw(st.lists(st.tuples(st.sampled_from(VILLAGES), st.sampled_from(survivors)), max_size=3,
                          unique_by=lambda m: m[0]))
    doc = {"code": f"extra-{effective}", "effective": effective, "legal_basis": "Nghị quyết thử nghiệm",
           "new_units": [{"code": c, "name": f"Xã mới {c}", "level": "commune", "parent": "lai-chau"} for c in new],
           "abolished": abolished, "merges": merges, "moves": [{"units": [code], "to": to} for code, to in moves]}
    return effective, yaml.safe_dump(doc, allow_unicode=True)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reform=extra_reforms(), days=st.lists(DAYS, min_size=3, max_size=6))
def test_an_extra_reform_keeps_the_invariant(app, reform, days):
    effective, text = reform
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "extra.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            apply_file(path)
            assert apply_file(path) == []  # idempotent
            for day in [*days, effective - timedelta(days=1), effective]:
                assert breaches(day) == [], text
        finally:
            db.session.rollback()


# ------------------------------------------------------------------------------ gaps in read_reform
# Each of these reforms would break the tree: a unit that does not exist on the
# effective day receives units, a whole commune's villages are left under an abolished
# commune, a unit is moved under its own village (a cycle). read_reform refuses them
# naming the key.

GAPS = {
    "children left under an abolished unit": "abolished: [ban-bo-2025]\n",
    "move to a unit gone that day": "moves:\n  - {units: [ban-bo-01], to: tam-duong}\n",
    "merge into a unit gone that day": "abolished: [ban-bo-2025]\nmerges: {ban-bo-2025: giang-ma}\n",
    "move under its own child": "moves:\n  - {units: [ban-bo-2025], to: ban-bo-01}\n",
    "move a unit already gone": "moves:\n  - {units: [giang-ma], to: ta-leng-2025}\n",
}


@pytest.mark.parametrize("body", GAPS.values(), ids=list(GAPS))
def test_a_reform_that_would_break_the_tree_is_refused(app, tmp_path, body):
    path = tmp_path / "gap.yaml"
    path.write_text("code: gap\neffective: 2027-01-01\nlegal_basis: x\n" + body, encoding="utf-8")
    try:
        with pytest.raises(ReformError, match="gap.yaml: "):
            apply_file(path)
    finally:
        db.session.rollback()
