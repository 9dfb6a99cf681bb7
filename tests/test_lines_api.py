"""Dossiers made of lines (funding_plan, cement_request) through the JSON API: the whole
road of both kinds in both eras (the district receives up to 2025-06-30, the province
from 2025-07-01), every refusal with nothing changed, stale versions and two lines
added at once."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest
import time_machine
from conftest import PG_URL
from frozen_clock import AFTER_REFORM, NOW
from helpers import fire, race, upload

from workflow_app.extensions import db
from workflow_app.models import AuditRecord, Dossier, DossierLine
from workflow_app.services import create_dossier
from workflow_app.services.core.users import issue_token

pytestmark = pytest.mark.db


@dataclass(frozen=True)
class Era:
    when: object          # the instant the test runs at
    commune: str          # the applicant
    villages: tuple       # two of its villages
    receiver: str         # the level that accepts or returns
    year: int


DISTRICT = Era(NOW, "na-tam", ("na-tam-01", "na-tam-02"), "tam-duong", 2025)
PROVINCE = Era(AFTER_REFORM, "ta-leng-2025", ("giang-ma-02", "giang-ma-03"), "lai-chau", 2026)
ERAS = [pytest.param(DISTRICT, id="district"), pytest.param(PROVINCE, id="province")]


@pytest.fixture(params=ERAS)
def era(request):
    with time_machine.travel(request.param.when, tick=True):
        yield request.param


@dataclass
class Cast:
    preparer: object
    submitter: object
    appraiser: object
    viewer: object


@pytest.fixture
def cast(era, make_user, api_as) -> Cast:
    return Cast(*(api_as(make_user(role, unit)) for role, unit in (
        ("preparer", era.commune), ("submitter", era.commune), ("appraiser", era.receiver),
        ("viewer", era.receiver))))


def new_dossier(api, kind: str, era: Era) -> dict:
    r = api.post("/api/v1/dossiers", json={"kind": kind, "unit": era.commune, "year": era.year})
    assert r.status_code == 201, r.json
    return r.json


def works(api, did: int, **query) -> dict:
    r = api.get(f"/api/v1/dossiers/{did}/lines", query_string=query)
    assert r.status_code == 200, r.json
    return r.json


def by_work(table: dict) -> dict:
    return {ln["work"]: ln for ln in table["items"]}


def cement(village: str, work: str, tonnes: float, **more) -> dict:
    return {"village": village, "work": work, "quantity": 350, "unit_of_measure": "m",
            "cement_tonnes": tonnes, "households": 40, **more}


def delete(api, path: str, **query):
    return api._call("DELETE", path, query_string=query)


# --------------------------------------------------------------------------- the roads

def test_a_cement_request_from_draft_to_accepted_in_part(era, cast):
    v1, v2 = era.villages
    d = new_dossier(cast.preparer, "cement_request", era)
    did, base = d["id"], f"/api/v1/dossiers/{d['id']}/lines"
    assert (d["criteria"], d["lines"], d["totals"]) == ([], [], [])

    r = cast.preparer.post(base, json=cement(v1, "Đường nội bản", 10))
    assert r.status_code == 201, r.json
    a = r.json
    assert a == {"id": a["id"], "village": v1, "work": "Đường nội bản", "quantity": 350, "unit_of_measure": "m",
                 "cement_tonnes": 10, "priority": 1, "households": 40, "granted": None, "version": d["version"] + 1}
    # The answer's version is the one to send back with the next change.
    b = cast.preparer.post(base, json={**cement(v2, "Rãnh thoát nước", 4), "version": a["version"]}).json
    c = cast.submitter.post(base, json={**cement(v1, "Sân nhà văn hoá", 6, priority=1), "version": b["version"]}).json
    assert c["priority"] == 1
    table = works(cast.viewer, did)
    assert table["version"] == c["version"]
    # In priority order: the line added at rank 1 went first, the others moved down.
    assert [(ln["work"], ln["priority"]) for ln in table["items"]] == [
        ("Sân nhà văn hoá", 1), ("Đường nội bản", 2), ("Rãnh thoát nước", 3)]
    assert table["round"] == 1
    assert [(t["key"], t["amount"], t["granted"]) for t in table["totals"]] == [(v1, 16, None), (v2, 4, None)]
    assert table["totals"][0]["label"].startswith("Bản ")  # the village's name, not its code

    r = fire(cast.submitter, did, "submit")
    assert r.status_code == 200 and r.json["state"] == "submitted", r.json
    r = cast.preparer.post(base, json=cement(v2, "Muộn", 1))
    assert r.status_code == 409 and r.json["error"]["code"] == "not_available"

    assert fire(cast.appraiser, did, "return").status_code == 422  # a return needs its reasons
    r = fire(cast.appraiser, did, "return", "Bổ sung khối lượng đường nội bản")
    assert r.status_code == 200 and (r.json["state"], r.json["round"]) == ("returned", 2), r.json
    first = by_work(works(cast.viewer, did, round=1))
    second = by_work(works(cast.viewer, did))
    assert {w: ln["id"] for w, ln in first.items()} == {
        "Đường nội bản": a["id"], "Rãnh thoát nước": b["id"], "Sân nhà văn hoá": c["id"]}
    assert not {ln["id"] for ln in second.values()} & {ln["id"] for ln in first.values()}

    road = second["Đường nội bản"]["id"]
    r = cast.preparer.put(f"{base}/{road}", json={"cement_tonnes": 8, "priority": 1})
    assert r.status_code == 200, r.json
    assert (r.json["cement_tonnes"], r.json["priority"], r.json["work"]) == (8, 1, "Đường nội bản")
    r = delete(cast.preparer, f"{base}/{second['Rãnh thoát nước']['id']}")
    assert r.status_code == 204 and r.data == b""
    now = by_work(works(cast.viewer, did))
    assert {w: ln["priority"] for w, ln in now.items()} == {"Đường nội bản": 1, "Sân nhà văn hoá": 2}
    assert by_work(works(cast.viewer, did, round=1))["Đường nội bản"]["cement_tonnes"] == 10  # as first filed

    assert fire(cast.submitter, did, "submit").status_code == 200
    r = cast.appraiser.post(f"/api/v1/dossiers/{did}/events",
                            json={"event": "accept", "granted": {str(now["Đường nội bản"]["id"]): 5}})
    assert r.status_code == 200 and r.json["state"] == "accepted", r.json
    granted = {ln["work"]: ln["granted"] for ln in r.json["lines"]}
    assert granted == {"Đường nội bản": 5, "Sân nhà văn hoá": 6}  # a line not named gets what it asked
    assert [(t["key"], t["amount"], t["granted"]) for t in r.json["totals"]] == [(v1, 14, 11)]
    assert r.json["criteria"] == [] and r.json["allowed_events"] == []
    assert [h["event"] for h in r.json["history"]] == ["create", "submit", "return", "submit", "accept"]
    assert r.json["history"][2]["comment"] == "Bổ sung khối lượng đường nội bản"
    assert works(cast.viewer, did, round=1)["items"][0]["granted"] is None  # the first round was not granted


def test_a_funding_plan_accepted_then_amended_keeps_the_accepted_version(era, cast):
    d = new_dossier(cast.submitter, "funding_plan", era)
    did, base = d["id"], f"/api/v1/dossiers/{d['id']}/lines"
    r = cast.submitter.post(base, json={"item": "Nhà văn hoá bản", "village": era.villages[0],
                                        "source": "Ngân sách tỉnh", "amount_vnd": 250_000_000,
                                        "starts_on": f"{era.year}-03-01", "ends_on": f"{era.year}-09-30"})
    assert r.status_code == 201, r.json
    hall = r.json
    assert hall["source"] == "province" and "granted" not in hall  # no event grants per line
    r = cast.preparer.post(base, json={"item": "Đường bê tông", "source": "central", "amount_vnd": 1_000_000_000})
    assert r.status_code == 201 and r.json["village"] is None and r.json["starts_on"] is None
    road = {k: v for k, v in r.json.items() if k != "version"}  # the line as the table reads it
    cast.preparer.post(base, json={"item": "Kênh mương", "source": "province", "amount_vnd": 50_000_000})
    totals = {t["key"]: (t["label"], t["amount"]) for t in works(cast.viewer, did)["totals"]}
    assert totals == {"province": ("Ngân sách tỉnh", 300_000_000), "central": ("Ngân sách trung ương", 1_000_000_000)}
    english = cast.viewer.client.get(base, headers={**cast.viewer._headers(), "Accept-Language": "en"}).json
    assert english["totals"][0]["label"] == "Provincial budget"

    assert fire(cast.submitter, did, "submit").status_code == 200
    r = fire(cast.appraiser, did, "return", "Thiếu nguồn vốn đối ứng của xã")
    assert r.status_code == 200 and r.json["round"] == 2
    copy = next(ln for ln in works(cast.viewer, did)["items"] if ln["item"] == "Đường bê tông")
    assert cast.submitter.put(f"{base}/{copy['id']}", json={"source": "commune"}).status_code == 200
    assert fire(cast.submitter, did, "submit").status_code == 200
    r = cast.appraiser.post(f"/api/v1/dossiers/{did}/events",
                            json={"event": "accept", "granted": {str(copy["id"]): 1}})
    assert r.status_code == 400, r.json  # a plan is accepted whole: nothing is granted per line
    r = fire(cast.appraiser, did, "accept")
    assert r.status_code == 200 and r.json["state"] == "accepted", r.json
    accepted = works(cast.viewer, did)
    assert accepted["round"] == 2

    assert fire(cast.submitter, did, "amend").status_code == 422  # an amendment says why
    r = fire(cast.submitter, did, "amend", "Điều chỉnh theo vốn được giao bổ sung")
    assert r.status_code == 200 and (r.json["state"], r.json["round"]) == ("draft", 3), r.json
    current = {ln["item"]: ln for ln in r.json["lines"]}
    r = cast.submitter.put(f"{base}/{current['Nhà văn hoá bản']['id']}", json={"amount_vnd": 300_000_000})
    assert r.status_code == 200 and r.json["amount_vnd"] == 300_000_000
    assert works(cast.viewer, did, round=2)["items"] == accepted["items"]  # the accepted version, as it was
    assert works(cast.viewer, did, round=1)["items"][1] == {**road, "source": "central"}
    r = cast.viewer.get(f"{base}?round=4")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert {t["key"]: t["amount"] for t in works(cast.viewer, did)["totals"]} == {
        "province": 350_000_000, "commune": 1_000_000_000}


# --------------------------------------------------------------------------- refusals

def snapshot(did: int) -> tuple:
    db.session.expire_all()
    dossier = db.session.get(Dossier, did)
    lines = db.session.execute(db.select(DossierLine.id, DossierLine.round, DossierLine.values, DossierLine.granted)
                               .where(DossierLine.dossier_id == did).order_by(DossierLine.id)).all()
    records = db.session.execute(db.select(db.func.count()).select_from(AuditRecord)
                                 .where(AuditRecord.dossier_id == did)).scalar_one()
    return dossier.state, dossier.version, dossier.round, [tuple(x) for x in lines], records


@pytest.fixture
def draft(make_user, api_as):
    """A district-era cement request of na-tam with two lines, and its people."""
    people = {role: make_user(role, unit) for role, unit in (
        ("preparer", "na-tam"), ("submitter", "na-tam"), ("appraiser", "tam-duong"), ("viewer", "tam-duong"),
        ("approver", "tam-duong"))}
    people["village"] = make_user("preparer", "na-tam-01")
    people["outsider"] = make_user("submitter", "giang-ma")
    api = {role: api_as(user) for role, user in people.items()}
    api["en"] = api_as(people["preparer"], lang="en")
    did = new_dossier(api["preparer"], "cement_request", DISTRICT)["id"]
    ids = [api["preparer"].post(f"/api/v1/dossiers/{did}/lines", json=cement(v, w, t)).json["id"]
           for v, w, t in (("na-tam-01", "A", 10), ("na-tam-02", "B", 4))]
    return did, ids, api


def test_every_refusal_of_a_line_write_changes_nothing(draft):
    did, (a, b), api = draft
    base = f"/api/v1/dossiers/{did}/lines"
    p = api["preparer"]
    before = snapshot(did)
    version = before[1]
    cases = [
        # 400: malformed, a column the kind does not have, nothing to change
        (lambda: p.post(base, data="{", content_type="application/json"), 400, "bad_request"),
        (lambda: p.post(base, json={**cement("na-tam-01", "C", 1), "colour": "red"}), 400, "bad_request"),
        (lambda: p.put(f"{base}/{a}", json={"item": "Nhà văn hoá"}), 400, "bad_request"),
        (lambda: p.put(f"{base}/{a}", json={}), 400, "bad_request"),
        (lambda: p.put(f"{base}/{a}", json={"version": version}), 400, "bad_request"),
        (lambda: p.post(base, json={**cement("na-tam-01", "C", 1), "version": "7"}), 400, "bad_request"),
        # 403: may read the dossier, may not edit its lines
        (lambda: api["viewer"].post(base, json=cement("na-tam-01", "C", 1)), 403, "forbidden"),
        (lambda: api["appraiser"].put(f"{base}/{a}", json={"cement_tonnes": 1}), 403, "forbidden"),
        (lambda: delete(api["approver"], f"{base}/{a}"), 403, "forbidden"),
        # 404: another commune's officer and a village's head do not see a commune's dossier;
        # a line that is not in it; a dossier that does not exist
        (lambda: api["outsider"].post(base, json=cement("na-tam-01", "C", 1)), 404, "not_found"),
        (lambda: api["village"].get(base), 404, "not_found"),
        (lambda: p.put(f"{base}/999999", json={"work": "X"}), 404, "not_found"),
        (lambda: delete(p, f"{base}/999999"), 404, "not_found"),
        (lambda: p.post("/api/v1/dossiers/999999/lines", json=cement("na-tam-01", "C", 1)), 404, "not_found"),
        (lambda: p.get(f"{base}?round=2"), 404, "not_found"),
        # 409: a version that is no longer the dossier's
        (lambda: p.post(base, json={**cement("na-tam-01", "C", 1), "version": version - 1}), 409, "stale_version"),
        (lambda: p.put(f"{base}/{a}", json={"work": "A2", "version": version - 1}), 409, "stale_version"),
        (lambda: delete(p, f"{base}/{a}", version=version - 1), 409, "stale_version"),
        # 422: what the columns refuse, each named
        (lambda: p.post(base, json=cement("son-binh-01", "", 0)), 422, "line_invalid"),
        (lambda: p.put(f"{base}/{a}", json={"priority": 3}), 422, "line_invalid"),
        (lambda: p.post(base, json={}), 422, "line_invalid"),
        # 422: a dossier of lines has no criteria
        (lambda: p.put(f"/api/v1/dossiers/{did}/criteria/1", json={"self_assessment": "met"}), 422, "rule_refused"),
        (lambda: upload(p, did, "1"), 422, "rule_refused"),
    ]
    answers = []
    for call, status, code in cases:
        response = call()
        answers.append(response)
        assert response.status_code == status, (status, response.status_code, response.json)
        assert response.json["error"]["code"] == code, response.json
        assert snapshot(did) == before, response.json
    cells = answers[18].json["error"]["details"]["cells"]
    assert set(cells) == {"village", "work", "cement_tonnes"}
    assert "Thôn, bản" in cells["village"] and "Chưa nhập" in cells["work"]
    assert set(answers[20].json["error"]["details"]["cells"]) == {
        "village", "work", "quantity", "unit_of_measure", "cement_tonnes"}
    assert answers[19].json["error"]["details"] == {
        "cells": {"priority": "'Thứ tự ưu tiên' phải là số nguyên từ 1 đến 2."}}
    r = api["en"].post(base, json=cement("na-tam-01", "C", -1))
    assert r.json["error"]["details"] == {"cells": {"cement_tonnes": "'Cement (tonnes)' must be more than 0."}}
    assert r.json["error"]["message"].startswith("The line is not valid and was not saved.")
    assert snapshot(did) == before


def test_refusals_once_submitted_and_at_acceptance_change_nothing(draft):
    did, (a, b), api = draft
    base = f"/api/v1/dossiers/{did}/lines"
    granted = {"event": "submit", "granted": {str(a): 1}}
    r = api["submitter"].post(f"/api/v1/dossiers/{did}/events", json=granted)
    assert r.status_code == 400, r.json  # submitting grants nothing
    assert fire(api["submitter"], did, "submit").status_code == 200
    before = snapshot(did)
    appraiser = api["appraiser"]
    events = f"/api/v1/dossiers/{did}/events"
    cases = [
        (lambda: api["preparer"].post(base, json=cement("na-tam-01", "C", 1)), 409, "not_available"),
        (lambda: api["preparer"].put(f"{base}/{a}", json={"work": "A2"}), 409, "not_available"),
        (lambda: delete(api["preparer"], f"{base}/{b}"), 409, "not_available"),
        (lambda: appraiser.post(events, json={"event": "accept", "granted": {str(a): 11}}), 422, "rule_refused"),
        (lambda: appraiser.post(events, json={"event": "accept", "granted": {str(a): -1}}), 422, "rule_refused"),
        (lambda: appraiser.post(events, json={"event": "accept", "granted": {"999999": 1}}), 422, "rule_refused"),
        (lambda: appraiser.post(events, json={"event": "accept", "granted": {"²": 1}}), 422, "rule_refused"),
        (lambda: appraiser.post(events, json={"event": "accept", "granted": {str(a): "5"}}), 422, "rule_refused"),
        (lambda: appraiser.post(events, json={"event": "accept", "granted": [1]}), 400, "bad_request"),
        (lambda: api["submitter"].post(events, json={"event": "accept"}), 403, "forbidden"),
        (lambda: fire(appraiser, did, "accept", version=before[1] - 1), 409, "stale_version"),
        (lambda: appraiser.post(f"/api/v1/dossiers/{did}/criteria/1/appraisal", json={"verdict": "pass"}), 422,
         "rule_refused"),
    ]
    answers = []
    for call, status, code in cases:
        response = call()
        answers.append(response)
        assert response.status_code == status, (status, response.status_code, response.json)
        assert response.json["error"]["code"] == code, response.json
        assert snapshot(did) == before, response.json
    assert "10" in answers[3].json["error"]["message"]  # says what the line asked


def test_a_dossier_of_criteria_has_no_lines(app, make_user, api_as):
    officer = make_user("submitter", "na-tam")
    village = create_dossier(officer, "village_ntm", "na-tam-01", 2025)
    db.session.commit()
    api = api_as(officer)
    before = snapshot(village.id)
    for r in (api.get(f"/api/v1/dossiers/{village.id}/lines"),
              api.post(f"/api/v1/dossiers/{village.id}/lines", json={"work": "X"}),
              api.put(f"/api/v1/dossiers/{village.id}/lines/1", json={"work": "X"}),
              delete(api, f"/api/v1/dossiers/{village.id}/lines/1")):
        assert r.status_code == 422 and r.json["error"]["code"] == "rule_refused", r.json
        assert "tiêu chí" in r.json["error"]["message"]
    assert snapshot(village.id) == before
    body = api.get(f"/api/v1/dossiers/{village.id}").json
    assert "lines" not in body and "totals" not in body and body["criteria"]


def test_a_version_seen_makes_a_write_conditional(draft):
    did, (a, b), api = draft
    base = f"/api/v1/dossiers/{did}/lines"
    p = api["preparer"]
    version = works(p, did)["version"]
    assert version == snapshot(did)[1]
    r = p.post(base, json={**cement("na-tam-02", "C", 2), "version": version})
    assert r.status_code == 201 and r.json["version"] == version + 1
    assert p.put(f"{base}/{a}", json={"work": "A2", "version": version}).status_code == 409
    r = p.put(f"{base}/{a}", json={"work": "A2", "version": version + 1})
    assert r.status_code == 200 and r.json["version"] == version + 2
    assert delete(p, f"{base}/{b}", version=r.json["version"]).status_code == 204
    assert {ln["work"]: ln["priority"] for ln in works(p, did)["items"]} == {"A2": 1, "C": 2}


def test_the_openapi_document_describes_the_lines(app):
    doc = app.test_client().get("/api/v1/openapi.json").json
    paths = doc["paths"]
    assert set(paths["/api/v1/dossiers/{dossier_id}/lines"]) >= {"get", "post"}
    assert set(paths["/api/v1/dossiers/{dossier_id}/lines/{line_id}"]) >= {"put", "delete"}
    schemas = doc["components"]["schemas"]
    assert "granted" in schemas["EventIn"]["properties"]
    assert {"lines", "totals"} <= set(schemas["DossierOut"]["properties"])
    assert schemas["LineOut"]["additionalProperties"] is True
    assert schemas["LineChange"]["minProperties"] == 1
    query = paths["/api/v1/dossiers/{dossier_id}/lines"]["get"]["parameters"]
    assert any(p["name"] == "round" and p["in"] == "query" for p in query)


# --------------------------------------------------------------------------- at once

@pytest.mark.pg
@pytest.mark.skipif(not PG_URL, reason="parallel writers are proven on PostgreSQL (TEST_DATABASE_URL)")
def test_lines_added_at_once_all_land_in_a_contiguous_order(draft, make_user):
    did, _ids, api = draft
    tokens = [api["preparer"].token, api["submitter"].token,
              *(issue_token(make_user(role, "na-tam")) for role in ("preparer", "submitter"))]
    db.session.commit()
    base = f"/api/v1/dossiers/{did}/lines"
    calls = [("POST", t, base, cement("na-tam-01", f"W{i}", 1 + i, priority=1)) for i, t in enumerate(tokens)]
    results = race(api["preparer"].client.application, calls)
    assert [status for status, _ in results] == [201] * len(calls), results
    table = works(api["viewer"], did)
    assert sorted(ln["priority"] for ln in table["items"]) == list(range(1, len(calls) + 3))
    assert len({ln["id"] for ln in table["items"]}) == len(calls) + 2


@pytest.mark.pg
@pytest.mark.skipif(not PG_URL, reason="parallel writers are proven on PostgreSQL (TEST_DATABASE_URL)")
def test_lines_added_at_once_on_one_version_one_wins(draft):
    did, _ids, api = draft
    version = snapshot(did)[1]
    base = f"/api/v1/dossiers/{did}/lines"
    tokens = [api["preparer"].token, api["submitter"].token]
    results = race(api["preparer"].client.application,
                   [("POST", t, base, {**cement("na-tam-02", f"V{i}", 2), "version": version})
                    for i, t in enumerate(tokens)])
    assert Counter(status for status, _ in results) == {201: 1, 409: 1}, results
    assert {body["error"]["code"] for status, body in results if status == 409} <= {"stale_version", "conflict"}
    assert sorted(ln["priority"] for ln in works(api["viewer"], did)["items"]) == [1, 2, 3]
