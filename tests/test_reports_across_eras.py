"""Reports across the 2025 reform: the dashboard, the monthly report, the dossier
list and the register of a year show the units of that year, and a role at an
abolished unit or at its successor still reads the years before the reform.

Dossiers are made through the API on their own days: in September 2024 under the
district, in December 2026 under the new communes (tests/frozen_clock.py)."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
import time_machine
from conftest import api_maker, app_in_context, user_maker
from frozen_clock import AFTER_REFORM
from helpers import fire, pass_all, prepare_all
from sqlalchemy import event

from workflow_app.clock import VN_TZ, local_today
from workflow_app.extensions import db
from workflow_app.models import Unit
from workflow_app.services.reporting.dashboard import dashboard
from workflow_app.services.reporting.monthly_report import monthly_report

pytestmark = pytest.mark.db

OLD_COMMUNES = ["ban-bo", "ban-giang", "ban-hon", "binh-lu", "giang-ma", "ho-thau", "khun-ha", "na-tam",
                "nung-nang", "son-binh", "ta-leng", "then-sin"]
NEW_COMMUNES = ["ban-bo-2025", "binh-lu-2025", "khun-ha-2025", "sin-suoi-ho-2025", "ta-leng-2025"]


def at(text: str):
    return time_machine.travel(datetime.fromisoformat(text).replace(tzinfo=VN_TZ), tick=True)


def new_draft(api, village: str, year: int) -> dict:
    r = api.post("/api/v1/dossiers", json={"kind": "village_ntm", "unit": village, "year": year})
    assert r.status_code == 201, r.json
    return r.json


# The tests read what `eras` built (~7 s); they share one app and database.
@pytest.fixture(scope="module")
def app(tmp_path_factory, pg_database):
    yield from app_in_context(tmp_path_factory.mktemp("eras"), pg_database)


@pytest.fixture(scope="module")
def make_user(app):
    return user_maker()


@pytest.fixture(scope="module")
def api_as(app):
    return api_maker(app)


@pytest.fixture(scope="module")
def eras(app, make_user, api_as):
    return build_eras(make_user, api_as)


def build_eras(make_user, api_as) -> dict:
    """2024: Giang Ma 01 recognised by the district (its decision 01/2024), Nà Tăm 01
    submitted, Tả Lèng 02 a draft. 2026: Giang Ma 02 recognised by the new commune of
    Tả Lèng, Nà Tăm 02 a draft under Bản Bo."""
    with at("2024-09-10T09:00:00"):
        district_viewer = make_user("viewer", "tam-duong")
        appraiser = api_as(make_user("appraiser", "tam-duong"))
        approver = api_as(make_user("approver", "tam-duong", name="Lò Văn Hùng", capacity="chairman"))
        gm_preparer = api_as(make_user("preparer", "giang-ma-01"))
        gm = prepare_all(gm_preparer, new_draft(gm_preparer, "giang-ma-01", 2024))
        gm_officer = api_as(make_user("submitter", "giang-ma"))
        pass_all(appraiser, fire(gm_officer, gm["id"], "submit").json)
        assert fire(appraiser, gm["id"], "appraise").status_code == 200
        decided = fire(approver, gm["id"], "recognize").json
        assert decided["decision"]["symbol"].startswith("01/")
        nt_preparer = api_as(make_user("preparer", "na-tam-01"))
        nt = prepare_all(nt_preparer, new_draft(nt_preparer, "na-tam-01", 2024))
        assert fire(api_as(make_user("submitter", "na-tam")), nt["id"], "submit").status_code == 200
        new_draft(api_as(make_user("preparer", "ta-leng-02")), "ta-leng-02", 2024)

    with time_machine.travel(AFTER_REFORM, tick=True):
        preparer = api_as(make_user("preparer", "giang-ma-02"))
        now = prepare_all(preparer, new_draft(preparer, "giang-ma-02", AFTER_REFORM.year))
        r = fire(api_as(make_user("submitter", "giang-ma-02")), now["id"], "submit")
        assert r.status_code == 200, r.json
        commune_appraiser = api_as(make_user("appraiser", "ta-leng-2025"))
        pass_all(commune_appraiser, r.json)
        assert fire(commune_appraiser, now["id"], "appraise").status_code == 200
        r = fire(api_as(make_user("approver", "ta-leng-2025", capacity="chairman")), now["id"], "recognize")
        assert r.status_code == 200, r.json
        new_draft(api_as(make_user("preparer", "na-tam-02")), "na-tam-02", AFTER_REFORM.year)
        users = {"district": district_viewer, "province": make_user("viewer", "lai-chau"),
                 "successor": make_user("viewer", "ta-leng-2025")}
    return {"users": users, "decision": decided["decision"]}


def rows(dash) -> dict[str, dict[str, int]]:
    return {c.code: c.by_state for c in dash.communes}


def login(app, user):
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": "pw-123456"}).status_code == 302
    return client


# ----------------------------------------------------------------------------- the dashboard

def test_the_2024_dashboard_of_the_abolished_district_shows_its_communes_and_town(eras):
    with time_machine.travel(AFTER_REFORM, tick=True):
        dash = dashboard(eras["users"]["district"], 2024)
    assert sorted(rows(dash)) == OLD_COMMUNES
    got = rows(dash)
    assert got["giang-ma"] == {"recognized": 1} and got["na-tam"] == {"submitted": 1} and got["ta-leng"] == {"draft": 1}
    assert sum(c.villages for c in dash.communes) == dash.total.villages > 12 * 6
    assert [t.code for t in dash.towns] == ["tt-tam-duong"]
    assert [x.code for x in dash.district] == ["tam-duong"]  # the district's own figure of 2024


def test_the_2026_dashboard_of_the_province_shows_the_new_communes(eras):
    with time_machine.travel(AFTER_REFORM, tick=True):
        dash = dashboard(eras["users"]["province"], AFTER_REFORM.year)
        old = dashboard(eras["users"]["province"], 2024)
    assert sorted(rows(dash)) == NEW_COMMUNES
    assert rows(dash)["ta-leng-2025"] == {"recognized": 1} and rows(dash)["ban-bo-2025"] == {"draft": 1}
    assert dash.total.with_dossier == 2
    assert dash.towns == [] and dash.district == []  # no town, no district in 2026
    # The same official's 2024 page: the tree of 2024.
    assert sorted(rows(old)) == OLD_COMMUNES and [t.code for t in old.towns] == ["tt-tam-duong"]
    assert old.total.with_dossier == 3


def test_the_successor_commune_sees_its_villages_2024_under_the_old_communes(eras):
    with time_machine.travel(AFTER_REFORM, tick=True):
        dash = dashboard(eras["users"]["successor"], 2024)
    # The villages of the new Tả Lèng, where they sat in 2024 (merge list in the reform file).
    assert sorted(rows(dash)) == ["giang-ma", "ho-thau", "ta-leng"]
    assert rows(dash)["giang-ma"] == {"recognized": 1} and rows(dash)["ta-leng"] == {"draft": 1}
    assert {c.code: c.villages for c in dash.communes}["giang-ma"] == 10
    assert dash.total.with_dossier == 2  # Nà Tăm's dossier is another commune's history
    assert [x.code for x in dash.district] == ["tam-duong"]


def test_the_page_opens_on_this_year_and_offers_the_years_with_data(app, eras):
    with time_machine.travel(AFTER_REFORM, tick=True):
        client = login(app, eras["users"]["district"])
        html = client.get("/dashboard").get_data(as_text=True)
        assert f"năm {local_today().year}" in html
        offered = re.search(r'<select id="year" name="year">(.*?)</select>', html, re.DOTALL).group(1)
        assert re.findall(r'<option value="(\d+)"', offered) == [str(AFTER_REFORM.year), "2024"]
        html = client.get("/dashboard?year=2024").get_data(as_text=True)
        assert 'id="xa-giang-ma"' in html and 'id="xa-ta-leng-2025"' not in html


# ----------------------------------------------------------------------------- the monthly report

def test_a_2024_month_is_reported_under_the_old_communes(eras):
    with time_machine.travel(AFTER_REFORM, tick=True):
        report = monthly_report(eras["users"]["successor"], "2024-09", local_today())
        now = monthly_report(eras["users"]["successor"], AFTER_REFORM.strftime("%Y-%m"), local_today())
    assert [c.code for c in report.communes] == ["giang-ma", "ho-thau", "ta-leng"]
    by_code = {c.code: c for c in report.communes}
    assert by_code["giang-ma"].end == {"recognized": 1} and by_code["ta-leng"].end == {"draft": 1}
    assert {m.commune_code for m in report.moves} == {"giang-ma"}
    assert [c.code for c in now.communes] == ["ta-leng-2025"]
    assert now.communes[0].end == {"recognized": 2, "draft": 1}


# ----------------------------------------------------------------------------- the dossier list

def test_the_list_of_a_year_offers_the_communes_and_villages_of_that_year(app, eras):
    with time_machine.travel(AFTER_REFORM, tick=True):
        client = login(app, eras["users"]["successor"])
        html = client.get("/dossiers?year=2024").get_data(as_text=True)
        communes = re.search(r'<select id="commune" name="commune">(.*?)</select>', html, re.DOTALL).group(1)
        assert re.findall(r'<option value="([a-z0-9-]+)"', communes) == ["giang-ma", "ho-thau", "ta-leng"]
        html = client.get("/dossiers?year=2024&commune=giang-ma").get_data(as_text=True)
        assert "Tìm thấy 1 hồ sơ" in html
        villages = re.search(r'<select id="village" name="village">(.*?)</select>', html, re.DOTALL).group(1)
        assert 'value="giang-ma-01"' in villages
        html = client.get(f"/dossiers?year={AFTER_REFORM.year}").get_data(as_text=True)
        communes = re.search(r'<select id="commune" name="commune">(.*?)</select>', html, re.DOTALL).group(1)
        assert re.findall(r'<option value="([a-z0-9-]+)"', communes) == ["ta-leng-2025"]
        years = re.search(r'<select id="year" name="year">(.*?)</select>', html, re.DOTALL).group(1)
        assert re.findall(r'<option value="(\d+)"', years) == [str(AFTER_REFORM.year), "2024"]


# ----------------------------------------------------------------------------- the register

@pytest.mark.parametrize("who", ["district", "province", "successor"])
def test_the_abolished_district_register_stays_readable(app, api_as, eras, who):
    symbol = eras["decision"]["symbol"]
    with time_machine.travel(AFTER_REFORM, tick=True):
        user = eras["users"][who]
        client = login(app, user)
        page = client.get("/decisions?issuer=tam-duong&year=2024")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert symbol in html and "Ủy ban nhân dân huyện Tam Đường" in html
        assert re.search(r'<option value="tam-duong" selected>[^<]*\(đến 30/06/2025\)', html)
        items = api_as(user).get("/api/v1/decisions?issuer=tam-duong&year=2024").json["items"]
        assert [x["symbol"] for x in items] == [symbol]


def test_the_register_of_an_abolished_issuer_opens_on_its_last_year(app, eras):
    with time_machine.travel(AFTER_REFORM, tick=True):
        html = login(app, eras["users"]["district"]).get("/decisions").get_data(as_text=True)
    assert re.search(r'<option value="tam-duong" selected>', html)
    years = re.search(r'<select id="year" name="year">(.*?)</select>', html, re.DOTALL).group(1)
    assert re.findall(r'<option value="(\d+)"', years) == ["2024"]
    assert eras["decision"]["symbol"] in html


def test_a_commune_that_never_held_the_villages_does_not_read_their_old_communes(app, make_user, eras):
    with time_machine.travel(AFTER_REFORM, tick=True):
        dash = dashboard(make_user("viewer", "khun-ha-2025"), 2024)
    assert sorted(rows(dash)) == ["ban-giang", "khun-ha", "nung-nang"]
    assert dash.total.with_dossier == 0


# ----------------------------------------------------------------------------- query shape

def test_no_statement_binds_a_list_of_units(eras):
    """Scope and grouping are subqueries: a province's tens of thousands of villages
    never travel as bound parameters. (A page may bind the ids of the rows it shows,
    its communes; the villages under them are never bound.)"""
    villages = set(db.session.execute(db.select(Unit.id).where(Unit.level == "village")).scalars())
    bound = []

    def listener(conn, cursor, statement, parameters, *rest):
        values = parameters.values() if isinstance(parameters, dict) else (parameters or ())
        bound.append({v for v in values if isinstance(v, int) and not isinstance(v, bool) and v in villages})
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        with time_machine.travel(AFTER_REFORM, tick=True):
            province = eras["users"]["province"]
            for year in (2024, AFTER_REFORM.year):
                dashboard(province, year)
            monthly_report(province, "2024-09", local_today())
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(villages) > 20 and bound
    # A few small integers (LIMIT, OFFSET, a CASE's constants) may equal some village's id.
    assert max(len(ids) for ids in bound) < 5, max(bound, key=len)
