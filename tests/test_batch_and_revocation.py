"""Batch decisions (several villages, one number, all or nothing) and revocation
decisions (numbered, citing the original; the original marked revoked)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from helpers import dossier_in, fire
from sqlalchemy import func, select

from workflow_app.clock import local_today
from workflow_app.extensions import db
from workflow_app.models import AuditRecord, Counter, Decision, Dossier

pytestmark = pytest.mark.db

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "pdf"
VILLAGES = ["na-tam-01", "na-tam-02", "na-tam-03", "giang-ma-01", "giang-ma-02"]


def pdf_text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return " ".join(out.decode().split())  # one line: wrapped sentences compare as written


def save_page_1(pdf: bytes, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile", "-", str(ARTIFACTS / name)],
                   input=pdf, check=True, capture_output=True)


class Officers:
    """The commune officer who files each village's dossier."""

    def __init__(self, make_user):
        self.by_commune = {c: make_user("submitter", c) for c in ("na-tam", "giang-ma")}

    def ready(self, village: str, state: str = "appraised"):
        return dossier_in(self.by_commune[village.rsplit("-", 1)[0]], village, 2024, state)


@pytest.fixture
def cast(make_user):
    approver = make_user("approver", "tam-duong", name="Lò Văn Hùng", capacity="chairman")
    return Officers(make_user), approver


def snapshot(ids):
    db.session.expire_all()
    dossiers = db.session.execute(select(Dossier).where(Dossier.id.in_(ids))).scalars()
    rows = {d.id: (d.state, d.version) for d in dossiers}
    audit = db.session.execute(select(func.count()).select_from(AuditRecord)).scalar_one()
    decisions = db.session.execute(select(func.count()).select_from(Decision)).scalar_one()
    counters = dict(db.session.execute(select(Counter.scope, Counter.value)).all())
    return rows, audit, decisions, counters


# ---------------------------------------------------------------- batch

def test_five_villages_one_decision_one_number(app, cast, api_as):
    officer, approver = cast
    ids = [officer.ready(v, "appraised").id for v in VILLAGES]
    api = api_as(approver)
    r = api.post("/api/v1/decisions", json={"dossiers": ids, "comment": "Đợt 1"})
    assert r.status_code == 201, r.json
    assert r.json["number"] == 1 and r.json["type"] == "recognition"
    assert sorted(x["id"] for x in r.json["dossiers"]) == sorted(ids)
    for i in ids:
        one = api.get(f"/api/v1/dossiers/{i}").json
        assert one["state"] == "recognized"
        assert one["decision"]["symbol"] == "01/QĐ-UBND"
        assert one["history"][-1]["event"] == "recognize" and one["history"][-1]["comment"] == "Đợt 1"
    assert db.session.execute(select(func.count()).select_from(Decision)).scalar_one() == 1
    pdf = api.get(f"/api/v1/dossiers/{ids[0]}/decision.pdf").data
    text = pdf_text(pdf)
    assert "Về việc công nhận các bản đạt chuẩn nông thôn mới năm 2024" in text
    assert "Công nhận 5 bản đạt chuẩn nông thôn mới năm 2024, gồm:" in text
    assert "STT Tên bản Thuộc xã" in text
    assert "Xét đề nghị của Ủy ban nhân dân các xã Nà Tăm, Giang Ma; của Trưởng phòng" in text
    for n, _code in enumerate(VILLAGES, 1):
        unit = db.session.execute(select(Dossier).where(Dossier.id == ids[n - 1])).scalar_one().unit
        commune = unit.parent_on(local_today()).name.replace('Xã', 'xã')
        assert re.search(rf"\b{n} {re.escape(unit.name)} {re.escape(commune)}", text), unit.name
    save_page_1(pdf, "batch-decision-5-villages")


@pytest.mark.parametrize("spoiler", ["not_appraised", "stale_version", "other_kind"])
def test_one_bad_dossier_leaves_all_five_untouched(app, cast, api_as, spoiler):
    officer, approver = cast
    dossiers = [officer.ready(v, "appraised") for v in VILLAGES]
    items = [{"id": d.id, "version": d.version} for d in dossiers]
    if spoiler == "not_appraised":
        dossiers[3].state = "submitted"
        db.session.commit()
        items[3]["version"] = dossiers[3].version
    elif spoiler == "stale_version":
        items[4]["version"] = dossiers[4].version - 1
    else:
        from workflow_app.services import create_dossier
        town = create_dossier(make_town_officer(approver), "town_civilized", "tt-tam-duong", 2024)
        town.state = "appraised"
        db.session.commit()
        items[2] = {"id": town.id, "version": town.version}
    ids = [x["id"] for x in items]
    before = snapshot(ids)
    r = api_as(approver).post("/api/v1/decisions", json={"dossiers": items})
    assert r.status_code in (409, 422), r.json
    message = r.json["error"]["message"]
    if spoiler == "other_kind":
        assert r.status_code == 422 and "cùng một loại" in message
    else:  # the refusal names the failing dossier
        failing = dossiers[3 if spoiler == "not_appraised" else 4]
        assert r.status_code == 409 and failing.code in message and "Không hồ sơ nào được xử lý" in message
    assert snapshot(ids) == before  # no move, no record, no decision, no number used
    # The number was not consumed: the next decision of the issuer is still No. 1.
    again = [x for x in items if x["id"] in {d.id for d in dossiers[:2]}]
    r = api_as(approver).post("/api/v1/decisions", json={"dossiers": again})
    assert r.status_code == 201 and r.json["number"] == 1


def make_town_officer(approver):
    from workflow_app.services.core.users import create_user

    user = create_user("town-officer", "pw-123456", "submitter", "tt-tam-duong")
    db.session.commit()
    return user


def test_the_refusal_names_the_failing_dossier_in_english_too(app, cast, api_as):
    officer, approver = cast
    good = officer.ready("na-tam-01", "appraised")
    bad = officer.ready("na-tam-02", "submitted")
    r = api_as(approver, lang="en").post("/api/v1/decisions", json={"dossiers": [good.id, bad.id]})
    assert r.status_code == 409
    assert bad.code in r.json["error"]["message"] and "No dossier was processed" in r.json["error"]["message"]


@pytest.mark.parametrize("body", [{}, {"dossiers": []}, {"dossiers": ["1"]}, {"dossiers": [{"id": "x"}]},
                                  {"dossiers": [True]}, {"dossiers": [1], "comment": "x" * 5001}])
def test_malformed_batches_are_400(app, cast, api_as, body):
    _, approver = cast
    r = api_as(approver).post("/api/v1/decisions", json=body)
    assert r.status_code == 400, r.json
    assert r.json["error"]["message"]


def test_a_duplicate_in_the_batch_is_refused(app, cast, api_as):
    officer, approver = cast
    d = officer.ready("na-tam-01", "appraised")
    r = api_as(approver).post("/api/v1/decisions", json={"dossiers": [d.id, d.id]})
    assert r.status_code == 422 and "hai lần" in r.json["error"]["message"]


def test_only_an_approver_may_issue_a_batch(app, cast, api_as, make_user):
    officer, _ = cast
    d = officer.ready("na-tam-01", "appraised")
    appraiser = make_user("appraiser", "tam-duong")
    r = api_as(appraiser).post("/api/v1/decisions", json={"dossiers": [d.id]})
    assert r.status_code == 403
    outsider = make_user("viewer", "giang-ma")
    r = api_as(outsider).post("/api/v1/decisions", json={"dossiers": [d.id]})
    assert r.status_code == 404  # not visible: no existence leak
    db.session.expire_all()
    assert db.session.get(Dossier, d.id).state == "appraised"


# ---------------------------------------------------------------- revocation

def test_revocation_is_a_numbered_decision_citing_the_original(app, cast, api_as):
    officer, approver = cast
    d = officer.ready("na-tam-04", "appraised")
    api = api_as(approver)
    assert fire(api, d.id, "recognize").status_code == 200
    original = api.get(f"/api/v1/dossiers/{d.id}").json["decision"]
    r = fire(api, d.id, "revoke", "Tiêu chí 8 (Thu nhập) không còn đạt sau rà soát năm 2025.")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["state"] == "revoked"
    assert body["decision"]["status"] == "revoked" and body["decision"]["number"] == original["number"]
    revocation = body["revocation"]
    assert revocation["number"] == original["number"] + 1 and revocation["status"] == "valid"
    pdf = api.get(revocation["pdf_url"]).data
    assert pdf != api.get(original["pdf_url"]).data
    text = pdf_text(pdf)
    unit = db.session.get(Dossier, d.id).unit
    assert f"Số: {revocation['symbol']}" in text
    assert f"Về việc thu hồi công nhận {unit.name}, xã Nà Tăm đạt chuẩn nông thôn mới năm 2024" in text
    issued = original["issued_on"].split("-")
    month = issued[1] if int(issued[1]) < 3 else str(int(issued[1]))
    cited = f"Quyết định số {original['symbol']} ngày {issued[2]} tháng {month} năm {issued[0]}"
    assert f"Căn cứ {cited} của Chủ tịch Ủy ban nhân dân huyện Tam Đường về việc công nhận {unit.name}" in text
    assert f"Thu hồi công nhận {unit.name}, xã Nà Tăm đạt chuẩn nông thôn mới năm 2024 tại {cited}" in text
    assert "Lý do: Tiêu chí 8 (Thu nhập) không còn đạt sau rà soát năm 2025." in text
    assert "Lò Văn Hùng" in text and "CHỦ TỊCH" in text
    save_page_1(pdf, "revocation-decision")
    rows = api.get("/api/v1/decisions?issuer=tam-duong&year=" + original["issued_on"][:4]).json["items"]
    assert [(x["number"], x["type"], x["status"]) for x in rows] == [
        (original["number"], "recognition", "revoked"), (revocation["number"], "revocation", "valid")]


def test_revoking_some_villages_of_a_batch_keeps_the_original_valid_until_the_last(app, cast, api_as):
    officer, approver = cast
    ids = [officer.ready(v, "appraised").id for v in VILLAGES[:3]]
    api = api_as(approver)
    assert api.post("/api/v1/decisions", json={"dossiers": ids}).status_code == 201
    first = fire(api, ids[0], "revoke", "Không duy trì tiêu chí Môi trường").json
    assert first["decision"]["status"] == "valid"  # two villages still recognised by it
    revocation = db.session.execute(select(Decision).where(Decision.type == "revocation")).scalar_one()
    assert [x.id for x in revocation.dossiers] == [ids[0]]
    assert revocation.revokes.symbol == "01/QĐ-UBND" and revocation.reason == "Không duy trì tiêu chí Môi trường"
    for i in ids[1:]:
        assert fire(api, i, "revoke", "Không duy trì tiêu chí Môi trường").status_code == 200
    db.session.expire_all()
    original = db.session.execute(select(Decision).where(Decision.number == 1)).scalar_one()
    assert original.status == "revoked"
    assert [x.number for x in original.revocations] == [2, 3, 4]


def test_revocation_without_a_reason_uses_no_number(app, cast, api_as):
    officer, approver = cast
    d = officer.ready("na-tam-04", "appraised")
    api = api_as(approver)
    fire(api, d.id, "recognize")
    before = snapshot([d.id])
    r = fire(api, d.id, "revoke", "   ")
    assert r.status_code == 422
    assert snapshot([d.id]) == before
    assert api.get(f"/api/v1/dossiers/{d.id}/revocation.pdf").status_code == 404


# ---------------------------------------------------------------- the page

def login(client, user):
    r = client.post("/login", data={"username": user.username, "password": "pw-123456"})
    assert r.status_code == 302


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_the_batch_page_issues_one_decision(app, cast):
    officer, approver = cast
    dossiers = [officer.ready(v, "appraised") for v in VILLAGES[:3]]
    client = app.test_client()
    login(client, approver)
    page = client.get("/decisions/batch").get_data(as_text=True)
    for d in dossiers:
        assert f'value="{d.id}:{d.version}"' in page
    picks = [f"{d.id}:{d.version}" for d in dossiers[:2]]
    r = client.post("/decisions/batch", data={"csrf_token": csrf_of(page), "dossier": picks, "confirm": "y"})
    assert r.status_code == 302
    follow = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Đã ban hành Quyết định số 01/QĐ-UBND công nhận 2 hồ sơ." in follow
    db.session.expire_all()
    assert [db.session.get(Dossier, d.id).state for d in dossiers] == ["recognized", "recognized", "appraised"]
    assert f'value="{dossiers[2].id}:' in follow and f'value="{dossiers[0].id}:' not in follow


def test_the_batch_page_shows_the_refusal_and_keeps_the_choice(app, cast):
    officer, approver = cast
    dossiers = [officer.ready(v, "appraised") for v in VILLAGES[:2]]
    client = app.test_client()
    login(client, approver)
    page = client.get("/decisions/batch").get_data(as_text=True)
    stale = f"{dossiers[1].id}:{dossiers[1].version - 1}"
    fresh = f"{dossiers[0].id}:{dossiers[0].version}"
    before = snapshot([d.id for d in dossiers])
    r = client.post("/decisions/batch", data={"csrf_token": csrf_of(page), "dossier": [fresh, stale], "confirm": "y"})
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert dossiers[1].code in html and "Không hồ sơ nào được xử lý" in html
    assert f'value="{fresh}" id="pick-{dossiers[0].id}"\n          checked' in html
    assert snapshot([d.id for d in dossiers]) == before
    r = client.post("/decisions/batch", data={"csrf_token": csrf_of(page), "dossier": [fresh]})
    assert r.status_code == 422 and "Hãy đánh dấu ô" in r.get_data(as_text=True)
