"""Through the API alone, a village dossier and a town dossier go the whole
road, including a return round, to a decision PDF that verifies."""
from __future__ import annotations

import hashlib
import re
import subprocess

from helpers import fire, pass_all, prepare_all, upload


def _people(make_user, api_as, applicant_unit, submit_unit):
    preparer = api_as(make_user("preparer", applicant_unit))
    submitter = api_as(make_user("submitter", submit_unit))
    appraiser = api_as(make_user("appraiser", "tam-duong"))
    approver = api_as(make_user("approver", "tam-duong", name="Trần Quốc Khánh", capacity="vice_chairman"))
    return preparer, submitter, appraiser, approver


def test_village_dossier_whole_road_with_return_round(make_user, api_as, app):
    preparer, submitter, appraiser, approver = _people(make_user, api_as, "na-tam-03", "na-tam")

    r = preparer.post("/api/v1/dossiers", json={"kind": "village_ntm", "unit": "na-tam-03", "year": 2024})
    assert r.status_code == 201, r.json
    dossier = r.json
    assert dossier["state"] == "draft" and len(dossier["criteria"]) == 14
    assert dossier["code"].startswith("TD-")
    dossier = prepare_all(preparer, dossier)
    assert submitter.put(f"/api/v1/dossiers/{dossier['id']}/fields",
                         json={"request_ref": "Tờ trình số 12/TTr-UBND ngày 02/9/2024"}).status_code == 200

    r = fire(submitter, dossier["id"], "submit")
    assert r.status_code == 200, r.json
    assert r.json["state"] == "submitted"

    # Round 1: criterion 7 fails, the dossier goes back with the reason.
    dossier = pass_all(appraiser, r.json)
    r = appraiser.post(f"/api/v1/dossiers/{dossier['id']}/criteria/7/appraisal",
                       json={"verdict": "fail", "note": "Thiếu danh sách lao động"})
    assert r.status_code == 200
    r = fire(appraiser, dossier["id"], "return", "Bổ sung minh chứng tiêu chí 7")
    assert r.status_code == 200 and r.json["state"] == "returned" and r.json["round"] == 2
    verdicts = {c["code"]: c["verdict"] for c in r.json["criteria"]}
    assert verdicts["7"] is None and verdicts["1"] == "pass"  # passed stays passed

    # Round 2: new evidence for 7 only; it alone needs appraisal again.
    assert upload(preparer, dossier["id"], "7", name="bo-sung.pdf").status_code == 201
    r = fire(submitter, dossier["id"], "submit", "Đã bổ sung")
    assert r.status_code == 200 and r.json["state"] == "submitted"
    assert [c["code"] for c in r.json["criteria"] if c["verdict"] != "pass"] == ["7"]
    pass_all(appraiser, r.json)
    r = fire(appraiser, dossier["id"], "appraise")
    assert r.status_code == 200 and r.json["state"] == "appraised"

    r = fire(approver, dossier["id"], "recognize")
    assert r.status_code == 200, r.json
    decision = r.json["decision"]
    assert r.json["state"] == "recognized" and decision["number"] == 1 and decision["symbol"] == "01/QĐ-UBND"
    history = [(h["event"], h["from"], h["to"]) for h in r.json["history"]]
    assert history == [("create", None, "draft"), ("submit", "draft", "submitted"),
                       ("return", "submitted", "returned"), ("submit", "returned", "submitted"),
                       ("appraise", "submitted", "appraised"), ("recognize", "appraised", "recognized")]

    pdf1 = approver.get(decision["pdf_url"])
    pdf2 = preparer.get(decision["pdf_url"])
    assert pdf1.status_code == 200 and pdf1.mimetype == "application/pdf"
    assert pdf1.data == pdf2.data and pdf1.data.startswith(b"%PDF")
    digest = hashlib.sha256(pdf1.data).hexdigest()
    assert digest == decision["sha256"]
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf1.data, capture_output=True, check=True).stdout.decode()
    assert "01/QĐ-UBND" in text and "Trần Quốc Khánh" in text
    # The consider line cites the commune's cover request and the numbered appraisal report.
    line = " ".join(text.split())
    report = preparer.get(f"/api/v1/dossiers/{dossier['id']}/documents").json["items"]
    symbol = next(x["symbol"] for x in report if x["kind"] == "appraisal_report")
    assert re.search(r"Xét đề nghị của Ủy ban nhân dân xã Nà Tăm tại Tờ trình số 12/TTr-UBND ngày 02/9/2024; "
                     rf"của Trưởng phòng Nông nghiệp và Phát triển nông thôn huyện tại Báo cáo thẩm định số "
                     rf"{re.escape(symbol)} ngày \d\d/\d\d?/\d{{4}}", line), line

    token = decision["verify_url"].rsplit("/", 1)[1]
    public = app.test_client()
    v = public.get(f"/verify/{token}", headers={"Accept": "application/json"})
    assert v.status_code == 200
    assert v.json["sha256"] == digest and v.json["status"] == "valid" and v.json["number"] == 1
    assert v.json["units"][0]["code"] == "na-tam-03"
    page = public.get(f"/verify/{token}")
    assert page.status_code == 200 and digest in page.get_data(as_text=True)

    # Revocation keeps the number, flips the verification status and takes the next number itself.
    r = fire(approver, dossier["id"], "revoke", "Tiêu chí môi trường không còn đạt")
    assert r.status_code == 200 and r.json["state"] == "revoked"
    assert public.get(f"/verify/{token}", headers={"Accept": "application/json"}).json["status"] == "revoked"
    register = approver.get("/api/v1/decisions?issuer=tam-duong&year=" + decision["issued_on"][:4]).json["items"]
    assert [(d["number"], d["type"], d["status"]) for d in register] == [
        (1, "recognition", "revoked"), (2, "revocation", "valid")]


def test_town_dossier_whole_road_with_council_vote(make_user, api_as, app):
    preparer, submitter, appraiser, approver = _people(make_user, api_as, "tt-tam-duong", "tt-tam-duong")
    r = preparer.post("/api/v1/dossiers", json={"kind": "town_civilized", "unit": "tt-tam-duong", "year": 2024})
    assert r.status_code == 201, r.json
    dossier = prepare_all(preparer, r.json)
    assert len(dossier["criteria"]) == 9

    # Below 90% satisfaction the town cannot submit; the refusal says why.
    assert preparer.put(f"/api/v1/dossiers/{dossier['id']}/fields",
                        json={"resident_satisfaction_pct": 85}).status_code == 200
    r = fire(submitter, dossier["id"], "submit")
    assert r.status_code == 422 and "resident_satisfaction_pct" in r.json["error"]["message"]
    assert preparer.put(f"/api/v1/dossiers/{dossier['id']}/fields",
                        json={"resident_satisfaction_pct": 92.5}).status_code == 200
    assert fire(submitter, dossier["id"], "submit").json["state"] == "submitted"

    dossier = pass_all(appraiser, api_get(appraiser, dossier["id"]))
    # No quorum: 6 of 10 present.
    appraiser.put(f"/api/v1/dossiers/{dossier['id']}/fields",
                  json={"council_members": 10, "council_present": 6, "council_in_favour": 6})
    r = fire(appraiser, dossier["id"], "appraise")
    assert r.status_code == 422 and "6/10" in r.json["error"]["message"]
    r = fire(appraiser, dossier["id"], "return", "Hội đồng chưa đủ số thành viên; bổ sung biên bản")
    assert r.status_code == 200 and r.json["state"] == "returned"
    assert fire(submitter, dossier["id"], "submit").json["state"] == "submitted"
    appraiser.put(f"/api/v1/dossiers/{dossier['id']}/fields",
                  json={"council_members": 10, "council_present": 8, "council_in_favour": 7})
    assert fire(appraiser, dossier["id"], "appraise").json["state"] == "appraised"
    r = fire(approver, dossier["id"], "recognize")
    assert r.status_code == 200 and r.json["state"] == "recognized"
    pdf = approver.get(r.json["decision"]["pdf_url"])
    assert hashlib.sha256(pdf.data).hexdigest() == r.json["decision"]["sha256"]
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf.data, capture_output=True, check=True).stdout.decode()
    assert "đô thị văn minh" in text


def api_get(api, dossier_id):
    return api.get(f"/api/v1/dossiers/{dossier_id}").json
