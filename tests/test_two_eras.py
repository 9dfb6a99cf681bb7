"""Two eras of government through the API: the district's road before 1/7/2025,
the new commune's and the province's after it, and the history that crosses the
boundary (the 2025 reform is loaded by the fixtures, as by init-db)."""
from __future__ import annotations

import subprocess
from datetime import datetime

import time_machine
from frozen_clock import AFTER_REFORM
from helpers import fire, pass_all, prepare_all

from workflow_app.clock import VN_TZ
from workflow_app.extensions import db
from workflow_app.services import create_dossier
from workflow_app.services.admin.setup import apply_file
from workflow_app.services.core.reference import reform_files


def at(text: str):
    return time_machine.travel(datetime.fromisoformat(text).replace(tzinfo=VN_TZ), tick=True)


def pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    return " ".join(out.split())


def recognise_village(make_user, api_as, village: str, commune: str, year: int):
    """Prepare, submit, appraise and recognise a village dossier on today's road."""
    preparer = api_as(make_user("preparer", village))
    submitter = api_as(make_user("submitter", village))
    appraiser = api_as(make_user("appraiser", commune))
    approver = api_as(make_user("approver", commune, name="Lò Thị Mai", capacity="chairman"))
    r = preparer.post("/api/v1/dossiers", json={"kind": "village_ntm", "unit": village, "year": year})
    assert r.status_code == 201, r.json
    dossier = prepare_all(preparer, r.json)
    r = fire(submitter, dossier["id"], "submit")
    assert r.status_code == 200, r.json
    pass_all(appraiser, r.json)
    assert fire(appraiser, dossier["id"], "appraise").status_code == 200
    r = fire(approver, dossier["id"], "recognize")
    assert r.status_code == 200, r.json
    return r.json, approver


def test_a_village_dossier_after_the_reform_is_decided_by_the_new_commune(make_user, api_as, app):
    with time_machine.travel(AFTER_REFORM, tick=True):
        dossier, approver = recognise_village(make_user, api_as, "giang-ma-02", "ta-leng-2025", AFTER_REFORM.year)
        decision = dossier["decision"]
        assert decision["symbol"] == "01/QĐ-UBND"  # the new issuer's first number
        assert dossier["code"].startswith("TL-")
        text = pdf_text(approver.get(decision["pdf_url"]).data)
        assert "ỦY BAN NHÂN DÂN XÃ TẢ LÈNG" in text and "HUYỆN" not in text.split("QUYẾT ĐỊNH")[0]
        assert "CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ TẢ LÈNG" in text
        token = decision["verify_url"].rsplit("/", 1)[1]
        v = app.test_client().get(f"/verify/{token}", headers={"Accept": "application/json"})
        assert v.status_code == 200 and v.json["issuer"]["code"] == "ta-leng-2025"
        register = approver.get(f"/api/v1/decisions?issuer=ta-leng-2025&year={AFTER_REFORM.year}").json["items"]
        assert [(x["number"], x["type"]) for x in register] == [(1, "recognition")]


def test_a_district_role_is_refused_after_the_reform_and_told_why(make_user, api_as, app):
    with time_machine.travel(AFTER_REFORM, tick=True):
        preparer = api_as(make_user("preparer", "na-tam-02"))
        r = preparer.post("/api/v1/dossiers",
                          json={"kind": "village_ntm", "unit": "na-tam-02", "year": AFTER_REFORM.year})
        assert r.status_code == 201
        dossier = prepare_all(preparer, r.json)
        # The old commune's officer submitted its villages' dossiers; that role has ended.
        old_commune = api_as(make_user("submitter", "na-tam"))
        r = fire(old_commune, dossier["id"], "submit")
        assert r.status_code == 403 and "đã chấm dứt" in r.json["error"]["message"]
        assert fire(api_as(make_user("submitter", "na-tam-02")), dossier["id"], "submit").status_code == 200
        district = api_as(make_user("appraiser", "tam-duong"))
        r = district.post(f"/api/v1/dossiers/{dossier['id']}/criteria/1/appraisal", json={"verdict": "pass"})
        assert r.status_code == 403
        message = r.json["error"]["message"]
        assert "đã chấm dứt" in message and "30/06/2025" in message and "1670/NQ-UBTVQH15" in message
        # ... but both still read the dossier: their subtree held the village.
        assert district.get(f"/api/v1/dossiers/{dossier['id']}").status_code == 200
        # A new dossier for an abolished unit is refused with what to do.
        town = api_as(make_user("preparer", "tt-tam-duong"))
        r = town.post("/api/v1/dossiers",
                      json={"kind": "town_civilized", "unit": "tt-tam-duong", "year": AFTER_REFORM.year})
        assert r.status_code == 422 and "không còn tồn tại" in r.json["error"]["message"]


def test_history_crosses_the_reform(make_user, api_as, app):
    with at("2024-10-15T09:00:00"):
        officer = api_as(make_user("submitter", "giang-ma"))
        preparer = api_as(make_user("preparer", "giang-ma-01"))
        appraiser = api_as(make_user("appraiser", "tam-duong"))
        approver = api_as(make_user("approver", "tam-duong", name="Lò Văn Hùng", capacity="chairman"))
        r = preparer.post("/api/v1/dossiers", json={"kind": "village_ntm", "unit": "giang-ma-01", "year": 2024})
        dossier = prepare_all(preparer, r.json)
        pass_all(appraiser, fire(officer, dossier["id"], "submit").json)
        assert fire(appraiser, dossier["id"], "appraise").status_code == 200
        decided = fire(approver, dossier["id"], "recognize").json
        assert decided["state"] == "recognized"
        token = decided["decision"]["verify_url"].rsplit("/", 1)[1]

    with time_machine.travel(AFTER_REFORM, tick=True):
        public = app.test_client()
        v = public.get(f"/verify/{token}", headers={"Accept": "application/json"})
        assert v.status_code == 200 and v.json["issuer"]["code"] == "tam-duong" and v.json["status"] == "valid"
        page = public.get(f"/verify/{token}").get_data(as_text=True)
        assert "Ủy ban nhân dân huyện Tam Đường" in page
        # The new commune's officer finds the 2024 dossier of their village, with its history.
        successor = api_as(make_user("viewer", "ta-leng-2025"))
        listed = successor.get("/api/v1/dossiers?year=2024").json["items"]
        assert [x["id"] for x in listed] == [dossier["id"]]
        seen = successor.get(f"/api/v1/dossiers/{dossier['id']}").json
        assert [h["event"] for h in seen["history"]][-1] == "recognize"
        assert seen["decision"]["symbol"] == decided["decision"]["symbol"]
        # A commune the village never belonged to sees nothing of it.
        other = api_as(make_user("viewer", "ban-bo-2025"))
        assert other.get(f"/api/v1/dossiers/{dossier['id']}").status_code == 404
        assert other.get("/api/v1/dossiers?year=2024").json["items"] == []


def test_a_dossier_open_at_the_reform_is_taken_over_with_a_record(make_user, api_as, app):
    with at("2025-06-20T09:00:00"):
        officer = api_as(make_user("submitter", "ta-leng"))
        preparer = api_as(make_user("preparer", "ta-leng-03"))
        r = preparer.post("/api/v1/dossiers", json={"kind": "village_ntm", "unit": "ta-leng-03", "year": 2025})
        dossier = prepare_all(preparer, r.json)
        assert fire(officer, dossier["id"], "submit").status_code == 200
    with at("2025-07-01T00:05:00"):
        changes = apply_file(reform_files()[0])
        db.session.commit()
        assert any(dossier["code"] in line for line in changes)
        assert apply_file(reform_files()[0]) == []  # applied again: nothing more
        appraiser = api_as(make_user("appraiser", "ta-leng-2025"))
        seen = appraiser.get(f"/api/v1/dossiers/{dossier['id']}").json
        last = seen["history"][-1]
        assert last["event"] == "takeover" and last["from"] == last["to"] == "submitted"
        assert "1670/NQ-UBTVQH15" in last["comment"] and "Ủy ban nhân dân xã Tả Lèng" in last["comment"]
        assert "Ủy ban nhân dân huyện Tam Đường" in last["comment"]
        pass_all(appraiser, seen)
        assert fire(appraiser, dossier["id"], "appraise").status_code == 200


COMMUNE_FIELDS = {"posted_from": "2024-07-01", "posted_to": "2024-07-15", "households_agree_pct": 93.5,
                  "construction_debt_vnd": 0}


def test_commune_dossier_of_the_2021_2025_programme_goes_district_then_province(make_user, api_as, app):
    with at("2024-08-05T09:00:00"):
        officer = api_as(make_user("submitter", "na-tam"))
        district = api_as(make_user("appraiser", "tam-duong"))
        province = api_as(make_user("appraiser", "lai-chau"))
        chairman = api_as(make_user("approver", "lai-chau", name="Lê Văn Lương", capacity="chairman"))
        r = officer.post("/api/v1/dossiers", json={"kind": "commune_ntm", "unit": "na-tam", "year": 2024})
        assert r.status_code == 201, r.json
        dossier = prepare_all(officer, r.json)
        assert len(dossier["criteria"]) == 19
        # 15 posting days are needed: 14 are refused, with the reason.
        fields = dict(COMMUNE_FIELDS, posted_to="2024-07-14")
        assert officer.put(f"/api/v1/dossiers/{dossier['id']}/fields", json=fields).status_code == 200
        r = fire(officer, dossier["id"], "submit")
        assert r.status_code == 422
        assert officer.put(f"/api/v1/dossiers/{dossier['id']}/fields", json=COMMUNE_FIELDS).status_code == 200
        r = fire(officer, dossier["id"], "submit")
        assert r.status_code == 200, r.json
        page = app.test_client()
        assert page.post("/login", data={"username": "submitter1", "password": "pw-123456"}).status_code == 302
        facts = page.get(f"/dossiers/{dossier['id']}").get_data(as_text=True)
        assert "<dd>01/07/2024</dd>" in facts and "2024-07-01" not in facts  # dates as people write them
        assert fire(province, dossier["id"], "appraise").status_code == 409  # the district checks first
        pass_all(district, r.json)
        assert fire(district, dossier["id"], "verify").json["state"] == "verified"
        assert fire(province, dossier["id"], "appraise").json["state"] == "appraised"
        r = fire(chairman, dossier["id"], "recognize")
        assert r.status_code == 200, r.json
        text = pdf_text(chairman.get(r.json["decision"]["pdf_url"]).data)
        assert "ỦY BAN NHÂN DÂN TỈNH LAI CHÂU" in text and "Nà Tăm" in text


def test_commune_dossier_of_the_2026_2030_programme_goes_to_the_province(make_user, api_as, app):
    with time_machine.travel(AFTER_REFORM, tick=True):
        officer = api_as(make_user("submitter", "ta-leng-2025"))
        province = api_as(make_user("appraiser", "lai-chau"))
        chairman = api_as(make_user("approver", "lai-chau", name="Lê Văn Lương", capacity="chairman"))
        district = api_as(make_user("appraiser", "tam-duong"))
        r = officer.post("/api/v1/dossiers", json={"kind": "commune_ntm", "unit": "ta-leng-2025", "year": 2026})
        assert r.status_code == 201, r.json
        dossier = prepare_all(officer, r.json)
        assert [c["code"] for c in dossier["criteria"]] == [str(n) for n in range(1, 11)]
        fields = dict(COMMUNE_FIELDS, posted_from="2026-09-01", posted_to="2026-09-20")
        assert officer.put(f"/api/v1/dossiers/{dossier['id']}/fields", json=fields).status_code == 200
        r = fire(officer, dossier["id"], "submit")
        assert r.status_code == 200, r.json
        assert "verify" not in r.json["allowed_events"]
        # The new commune never lay under the old district: its dossier is not even visible there.
        assert district.post(f"/api/v1/dossiers/{dossier['id']}/criteria/1/appraisal",
                             json={"verdict": "pass"}).status_code == 404
        pass_all(province, r.json)
        assert fire(province, dossier["id"], "appraise").json["state"] == "appraised"
        r = fire(chairman, dossier["id"], "recognize")
        assert r.status_code == 200, r.json
        assert r.json["decision"]["symbol"] == "01/QĐ-UBND"
        text = pdf_text(chairman.get(r.json["decision"]["pdf_url"]).data)
        assert "ỦY BAN NHÂN DÂN TỈNH LAI CHÂU" in text and "Tả Lèng" in text
        assert "51/2025/QĐ-TTg" in text


def test_the_dossier_page_tells_a_former_district_officer_why_they_only_read(make_user, app):
    with time_machine.travel(AFTER_REFORM, tick=True):
        preparer = make_user("preparer", "giang-ma-04")
        dossier = create_dossier(preparer, "village_ntm", "giang-ma-04", AFTER_REFORM.year)
        db.session.commit()
        make_user("approver", "tam-duong", username="cu.chutich")
        client = app.test_client()
        client.post("/login", data={"username": "cu.chutich", "password": "pw-123456"})
        page = client.get(f"/dossiers/{dossier.id}")
        assert page.status_code == 200
        html = page.get_data(as_text=True)
        assert 'id="ended-role"' in html and "Huyện Tam Đường đã chấm dứt sau ngày 30/06/2025" in html
        # The new commune's officer acts and sees no such notice.
        make_user("appraiser", "ta-leng-2025", username="xa.thamdinh")
        client = app.test_client()
        client.post("/login", data={"username": "xa.thamdinh", "password": "pw-123456"})
        assert 'id="ended-role"' not in client.get(f"/dossiers/{dossier.id}").get_data(as_text=True)


def test_a_former_officer_is_told_on_the_work_page_and_by_the_api_that_the_role_ended(make_user, api_as, app):
    with time_machine.travel(AFTER_REFORM, tick=True):
        former = make_user("appraiser", "tam-duong", username="cu.thamdinh")
        make_user("appraiser", "ta-leng-2025", username="cu.thamdinh")  # now also at the new commune
        me = api_as(former).get("/api/v1/me").json
        roles = {r["unit"]["code"]: (r["acts"], r["ended_on"]) for r in me["roles"]}
        assert roles == {"tam-duong": (False, "2025-06-30"), "ta-leng-2025": (True, None)}
        client = app.test_client()
        client.post("/login", data={"username": "cu.thamdinh", "password": "pw-123456"})
        html = client.get("/").get_data(as_text=True)
        assert 'id="ended-tam-duong"' in html and "30/06/2025" in html and 'id="ended-ta-leng-2025"' not in html


def test_the_menu_offers_a_new_dossier_exactly_to_who_may_create_one(make_user, app):
    """"Tạo hồ sơ" follows the definitions' `create.by` on the road in force: shown
    when the form opens (200), hidden when it would answer 403, in either era."""
    people = {"old commune": make_user("submitter", "na-tam"), "village head": make_user("preparer", "na-tam-03"),
              "district approver": make_user("approver", "tam-duong"), "viewer": make_user("viewer", "tam-duong"),
              "new commune": make_user("submitter", "ban-bo-2025")}
    seen = {}
    for era, clock in (("district", at("2025-06-11T10:00:00")),
                       ("today", time_machine.travel(AFTER_REFORM, tick=True))):
        with clock:
            for who, user in people.items():
                client = app.test_client()
                assert client.post("/login",
                                   data={"username": user.username, "password": "pw-123456"}).status_code == 302
                offered = 'href="/dossiers/new"' in client.get("/").get_data(as_text=True)
                opens = client.get("/dossiers/new").status_code
                assert opens in (200, 403) and offered == (opens == 200), (era, who, offered, opens)
                seen[era, who] = offered
    assert seen["district", "old commune"] and not seen["today", "old commune"]
    assert seen["today", "new commune"] and not seen["district", "new commune"]
    assert not any(seen[era, "viewer"] or seen[era, "district approver"] for era in ("district", "today"))
