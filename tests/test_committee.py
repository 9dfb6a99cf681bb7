"""The steering committee (issue 5 item 4): members own communes and criteria as
data, log visits and file a monthly report per commune by the 25th; the standing
office (appraiser at the district, Phòng NN&PTNT) sees which are late or missing.
Real database, real services, no mocks."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from conftest import build_app
from helpers import dispose_engines

from workflow_app.clock import VN_TZ, local_now
from workflow_app.extensions import db
from workflow_app.models import CommitteeMember, CommitteeVisit, MonthlyReport
from workflow_app.months import shift_month
from workflow_app.services.committee.membership import is_standing_office, load_committee, my_scope
from workflow_app.services.committee.visits import due_date, file_report, log_visit, report_status
from workflow_app.services.core.users import create_user
from workflow_app.workflow.errors import BadRequest, NotFound, NotPermitted, RuleRefused

pytestmark = pytest.mark.db

PASSWORD = "pw-123456"
COMMITTEE = """
members:
  - username: hai
    title: "Phó Trưởng phòng Kinh tế và Hạ tầng"
    criteria:
      village_ntm: ["1", "2"]
      town_civilized: ["1"]
    communes: [na-tam, tt-tam-duong]
  - username: hoa
    title: "Phó Trưởng phòng Văn hóa và Thông tin"
    criteria:
      village_ntm: ["4"]
    communes: [son-binh]
"""
NA_TAM = {"village_ntm": {"1": {"status": "met", "note": ""}, "2": {"status": "in_progress", "note": "Còn 2 hộ"}}}
SON_BINH = {"village_ntm": {"4": "met"}}  # a bare status is accepted too


def vn(y, m, d, hh=9, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=VN_TZ)


def setup_committee(tmp_path, text: str = COMMITTEE):
    """Members hai (na-tam, the town) and hoa (son-binh), the standing office `vp`,
    a district viewer `xem`, and an appraiser limited to criteria `vh` (not the office)."""
    users = {
        "hai": create_user("hai", PASSWORD, "viewer", "na-tam", "Lê Văn Hải"),
        "hoa": create_user("hoa", PASSWORD, "viewer", "son-binh", "Phạm Thị Hoa"),
        "vp": create_user("vp", PASSWORD, "appraiser", "tam-duong", "Nguyễn Văn Bình"),
        "xem": create_user("xem", PASSWORD, "viewer", "tam-duong", "Hoàng Thị Lan"),
        "vh": create_user("vh", PASSWORD, "appraiser", "tam-duong", "Phòng Văn hóa", criteria=["4", "5"]),
        "admin": create_user("root", PASSWORD, "admin", "lai-chau", "Quản trị"),
    }
    path = tmp_path / "committee.yaml"
    path.write_text(text, encoding="utf-8")
    load_committee(path)
    db.session.commit()
    return users


# ----------------------------------------------------------------------------- scope, visits, reports (services + API)

def test_member_sees_only_own_communes_and_criteria(app, tmp_path, api_as):
    u = setup_committee(tmp_path)
    scope = my_scope(u["hai"])
    assert [c.code for c in scope.communes] == ["na-tam", "tt-tam-duong"]
    assert [(c.kind, c.code) for c in scope.criteria] == [("town_civilized", "1"), ("village_ntm", "1"),
                                                         ("village_ntm", "2")]
    # Only the criteria that apply to the commune: village ones in a commune, the town's in the town.
    assert [(c.kind, c.code) for c in scope.criteria_for(scope.commune("na-tam"))] == [("village_ntm", "1"),
                                                                                      ("village_ntm", "2")]
    assert [(c.kind, c.code) for c in scope.criteria_for(scope.commune("tt-tam-duong"))] == [("town_civilized", "1")]
    body = api_as(u["hai"]).get("/api/v1/committee/me").json
    assert body["member"]["title"] == "Phó Trưởng phòng Kinh tế và Hạ tầng"
    assert [c["code"] for c in body["member"]["communes"]] == ["na-tam", "tt-tam-duong"]
    assert {(c["kind"], c["code"], c["name"]) for c in body["member"]["criteria"]} == {
        ("village_ntm", "1", "Giao thông"), ("village_ntm", "2", "Điện"), ("town_civilized", "1", "Quy hoạch đô thị")}
    assert body["standing_office"] is False
    other = api_as(u["hoa"]).get("/api/v1/committee/me").json["member"]
    assert [c["code"] for c in other["communes"]] == ["son-binh"]
    # Not a member: no scope, and the standing office is told it is one.
    assert api_as(u["xem"]).get("/api/v1/committee/me").json == {
        "member": None, "standing_office": False, "visits": [], "reports": []}
    assert api_as(u["vp"]).get("/api/v1/committee/me").json["standing_office"] is True
    with pytest.raises(NotPermitted):
        my_scope(u["xem"])


def test_standing_office_is_the_district_appraiser_without_criteria_limit(app, tmp_path):
    u = setup_committee(tmp_path)
    assert is_standing_office(u["vp"])
    assert not is_standing_office(u["vh"])      # another office's appraiser (owns criteria 4, 5)
    assert not is_standing_office(u["xem"]) and not is_standing_office(u["hai"])
    u["vp"].active = False
    assert not is_standing_office(u["vp"])


def test_log_visit_in_own_commune_and_refusals(app, tmp_path, api_as):
    u = setup_committee(tmp_path)
    api = api_as(u["hai"])
    today = local_now().date()
    r = api.post("/api/v1/committee/visits", json={"commune": "na-tam", "visited_on": today.isoformat(),
                                                   "notes": "Kiểm tra đường trục bản 05"})
    assert r.status_code == 201, r.json
    assert r.json["commune"]["code"] == "na-tam" and r.json["visited_on"] == today.isoformat()
    assert r.json["created_at"].endswith("+07:00")
    refusals = [
        ({"commune": "son-binh", "visited_on": today.isoformat()}, 403, "không thuộc địa bàn"),
        ({"commune": "atlantis", "visited_on": today.isoformat()}, 404, "atlantis"),
        ({"commune": "na-tam-01", "visited_on": today.isoformat()}, 404, "na-tam-01"),  # a village
        ({"commune": "na-tam", "visited_on": (today + timedelta(days=1)).isoformat()}, 422, "tương lai"),
        ({"commune": "na-tam", "visited_on": "2019-12-31"}, 422, "01/01/2020"),
        ({"commune": "na-tam", "visited_on": today.isoformat(), "notes": "x" * 5001}, 422, "5000"),
        ({"commune": "na-tam", "visited_on": "31/12/2024"}, 400, None),  # malformed
        ({"visited_on": today.isoformat()}, 400, None),
    ]
    for body, status, words in refusals:
        r = api.post("/api/v1/committee/visits", json=body)
        assert r.status_code == status, (body, r.json)
        assert "error" in r.json
        if words:
            assert words in r.json["error"]["message"], r.json
    # Exactly 5000 characters and the first day of 2020 are fine.
    assert log_visit(u["hai"], "na-tam", date(2020, 1, 1), "y" * 5000).id
    r = api_as(u["xem"]).post("/api/v1/committee/visits", json={"commune": "na-tam", "visited_on": today.isoformat()})
    assert r.status_code == 403 and "không phải thành viên" in r.json["error"]["message"]
    db.session.rollback()
    assert db.session.execute(db.select(db.func.count(CommitteeVisit.id))).scalar() == 2


def test_file_report_then_refile_updates_the_same_row(app, tmp_path, api_as):
    u = setup_committee(tmp_path)
    api = api_as(u["hai"])
    month = local_now().strftime("%Y-%m")
    r = api.put(f"/api/v1/committee/reports/na-tam/{month}", json={"body": "Tình hình tháng", "criteria": NA_TAM})
    assert r.status_code == 200, r.json
    first = r.json
    assert first["criteria"] == NA_TAM and first["month"] == month
    r = api.put(f"/api/v1/committee/reports/na-tam/{month}", json={"body": "Bổ sung: đã xong điện", "criteria": {
        "village_ntm": {"1": {"status": "met"}, "2": {"status": "met", "note": "Xong"}}}})
    assert r.status_code == 200, r.json
    assert r.json["body"] == "Bổ sung: đã xong điện" and r.json["criteria"]["village_ntm"]["2"]["status"] == "met"
    assert r.json["submitted_at"] == first["submitted_at"]
    rows = db.session.execute(db.select(MonthlyReport)).scalars().all()
    assert len(rows) == 1 and rows[0].body == "Bổ sung: đã xong điện"


@pytest.mark.parametrize("criteria,status,words", [
    ({"village_ntm": {"1": "met", "2": "met", "99": "met"}}, 422, "'99'"),          # unknown criterion
    ({"village_ntm": {"1": "met", "2": "met", "7": "met"}}, 422, "Lao động"),       # not owned
    ({"village_ntm": {"1": "met"}}, 422, "2 (Điện)"),                               # one owned criterion left out
    ({"village_ntm": {"1": "met", "2": "done"}}, 422, "in_progress"),              # unknown status
    ({"town_civilized": {"1": "met"}, "village_ntm": {"1": "met", "2": "met"}}, 422, "Quy hoạch đô thị"),  # not here
    ({"mystery_kind": {"1": "met"}}, 422, "mystery_kind"),
    ({"village_ntm": ["1", "2"]}, 400, None),
])
def test_report_refusals_name_the_criterion_and_change_nothing(app, tmp_path, api_as, criteria, status, words):
    u = setup_committee(tmp_path)
    month = local_now().strftime("%Y-%m")
    r = api_as(u["hai"]).put(f"/api/v1/committee/reports/na-tam/{month}", json={"body": "x", "criteria": criteria})
    assert r.status_code == status, r.json
    if words:
        assert words in r.json["error"]["message"], r.json
    assert db.session.execute(db.select(db.func.count(MonthlyReport.id))).scalar() == 0


def test_report_other_refusals(app, tmp_path, api_as):
    u = setup_committee(tmp_path)
    api = api_as(u["hai"])
    now = local_now()
    month = now.strftime("%Y-%m")
    nxt = shift_month(month, 1)
    cases = [
        (f"/api/v1/committee/reports/son-binh/{month}", {"body": "x", "criteria": SON_BINH}, 403),
        (f"/api/v1/committee/reports/atlantis/{month}", {"body": "x"}, 404),
        (f"/api/v1/committee/reports/na-tam/{nxt}", {"body": "x", "criteria": NA_TAM}, 422),    # not begun
        ("/api/v1/committee/reports/na-tam/2019-12", {"body": "x", "criteria": NA_TAM}, 422),
        ("/api/v1/committee/reports/na-tam/2024-13", {"body": "x", "criteria": NA_TAM}, 400),
        ("/api/v1/committee/reports/na-tam/sep", {"body": "x", "criteria": NA_TAM}, 400),
        (f"/api/v1/committee/reports/na-tam/{month}", {"body": "   ", "criteria": NA_TAM}, 422),
        (f"/api/v1/committee/reports/na-tam/{month}", {"body": "x" * 20001, "criteria": NA_TAM}, 422),
        (f"/api/v1/committee/reports/na-tam/{month}", {"criteria": NA_TAM}, 400),
    ]
    for url, body, status in cases:
        r = api.put(url, json=body)
        assert r.status_code == status, (url, r.json)
        assert r.json["error"]["message"]
    r = api_as(u["xem"]).put(f"/api/v1/committee/reports/na-tam/{month}", json={"body": "x", "criteria": NA_TAM})
    assert r.status_code == 403
    # The town's report needs the town criterion only; a past month is fine (and late).
    r = api.put("/api/v1/committee/reports/tt-tam-duong/2024-09",
                json={"body": "Thị trấn", "criteria": {"town_civilized": {"1": "in_progress"}}})
    assert r.status_code == 200 and r.json["late"] is True and r.json["due"] == "2024-09-25"
    assert db.session.execute(db.select(db.func.count(MonthlyReport.id))).scalar() == 1


# ----------------------------------------------------------------------------- report_status

def _rows(month, today):
    return {(r.user.username, r.commune.code): r for r in report_status(month, today)}


def test_due_date_is_the_25th_or_the_next_working_day():
    assert due_date("2024-09") == date(2024, 9, 25)   # a Wednesday
    assert due_date("2024-08") == date(2024, 8, 26)   # Sunday 25/8 -> Monday
    assert due_date("2025-01") == date(2025, 2, 3)    # 25/1/2025 Saturday, then Tết 2025 (27/1 - 2/2)
    assert due_date("2021-09") == date(2021, 9, 27)   # no 2021 holiday file: weekends only
    with pytest.raises(BadRequest):
        due_date("2024-9x")


def test_report_status_on_time_late_missing_pending(app, tmp_path):
    u = setup_committee(tmp_path)
    # 2024-09: due Wednesday 25/09/2024, inclusive, in Vietnam time (+07:00).
    file_report(u["hai"], "na-tam", "2024-09", "Đúng hạn", NA_TAM, now=vn(2024, 9, 25, 23, 30))
    file_report(u["hai"], "tt-tam-duong", "2024-09", "Muộn", {"town_civilized": {"1": "met"}},
                now=vn(2024, 9, 26, 0, 30))  # still 25/09 in UTC, but the 26th in Vietnam: late
    db.session.commit()
    before = _rows("2024-09", date(2024, 9, 20))
    assert before[("hai", "na-tam")].status == "on_time" and not before[("hai", "na-tam")].late
    assert before[("hai", "tt-tam-duong")].status == "late" and before[("hai", "tt-tam-duong")].late
    pending = before[("hoa", "son-binh")]
    assert pending.report is None and not pending.late and not pending.missing and pending.pending
    assert pending.status == "pending" and pending.due == date(2024, 9, 25)
    # On the due day itself a missing report is still pending; the day after it is missing.
    assert _rows("2024-09", date(2024, 9, 25))[("hoa", "son-binh")].status == "pending"
    after = _rows("2024-09", date(2024, 9, 26))
    assert after[("hoa", "son-binh")].missing and after[("hoa", "son-binh")].status == "missing"
    assert not after[("hai", "na-tam")].missing and after[("hai", "na-tam")].filed_on == date(2024, 9, 25)
    assert len(after) == 3  # every member x owned commune, nothing else
    # Another month is untouched: all missing once past due.
    assert {r.status for r in report_status("2024-10", date(2024, 11, 1))} == {"missing"}


def test_refiling_keeps_the_first_filing_time(app, tmp_path):
    u = setup_committee(tmp_path)
    on_time = file_report(u["hai"], "na-tam", "2024-09", "v1", NA_TAM, now=vn(2024, 9, 20))
    again = file_report(u["hai"], "na-tam", "2024-09", "v2 sau hạn", NA_TAM, now=vn(2024, 10, 2))
    assert again.id == on_time.id and again.body == "v2 sau hạn"
    late = file_report(u["hoa"], "son-binh", "2024-09", "muộn", SON_BINH, now=vn(2024, 9, 27))
    file_report(u["hoa"], "son-binh", "2024-09", "sửa", SON_BINH, now=vn(2024, 9, 28))
    db.session.commit()
    rows = _rows("2024-09", date(2024, 10, 5))
    assert rows[("hai", "na-tam")].status == "on_time"       # amended after the deadline: still on time
    assert rows[("hai", "na-tam")].report.updated_at > rows[("hai", "na-tam")].report.submitted_at
    assert rows[("hoa", "son-binh")].status == "late"        # first filed late: stays late
    assert rows[("hoa", "son-binh")].report.id == late.id


def test_a_former_members_report_stays_visible(app, tmp_path):
    u = setup_committee(tmp_path)
    file_report(u["hoa"], "son-binh", "2024-09", "Báo cáo", SON_BINH, now=vn(2024, 9, 10))
    db.session.commit()
    (tmp_path / "only-hai.yaml").write_text(COMMITTEE.split("  - username: hoa")[0], encoding="utf-8")
    result = load_committee(tmp_path / "only-hai.yaml")
    db.session.commit()
    assert result.removed == ["hoa"]
    row = _rows("2024-09", date(2024, 10, 1))[("hoa", "son-binh")]
    assert row.member is None and row.status == "on_time"
    with pytest.raises(NotPermitted):
        file_report(u["hoa"], "son-binh", "2024-10", "x", SON_BINH)


def test_service_refusals_are_domain_errors(app, tmp_path):
    u = setup_committee(tmp_path)
    with pytest.raises(NotPermitted):
        log_visit(u["hai"], "son-binh", date(2024, 9, 1), "")
    with pytest.raises(NotFound):
        log_visit(u["hai"], "nowhere", date(2024, 9, 1), "")
    with pytest.raises(RuleRefused):
        log_visit(u["hai"], "na-tam", date(2024, 9, 2), "", today=date(2024, 9, 1))
    with pytest.raises(RuleRefused):
        file_report(u["hai"], "na-tam", "2024-10", "x", NA_TAM, now=vn(2024, 9, 30))


# ----------------------------------------------------------------------------- flask committee load

def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def test_committee_load_is_idempotent(app, tmp_path):
    for name in ("hai", "hoa"):
        create_user(name, PASSWORD, "viewer", "tam-duong")
    db.session.commit()
    path = tmp_path / "committee.yaml"
    path.write_text(COMMITTEE, encoding="utf-8")
    first = run(app, "committee", "load", str(path))
    assert first.exit_code == 0, first.output
    assert "2 members (2 added, 0 updated, 0 unchanged, 0 removed)" in first.output
    again = run(app, "committee", "load", str(path))
    assert again.exit_code == 0 and "(0 added, 0 updated, 2 unchanged, 0 removed)" in again.output
    rows = {m.user.username: m for m in db.session.execute(db.select(CommitteeMember)).scalars()}
    assert rows["hai"].communes == ["na-tam", "tt-tam-duong"]
    assert rows["hai"].criteria == {"village_ntm": ["1", "2"], "town_civilized": ["1"]}
    path.write_text(COMMITTEE.replace("[son-binh]", "[son-binh, ta-leng]"), encoding="utf-8")
    changed = run(app, "committee", "load", str(path))
    assert "(0 added, 1 updated, 1 unchanged, 0 removed)" in changed.output
    db.session.expire_all()
    assert db.session.get(CommitteeMember, rows["hoa"].user_id).communes == ["son-binh", "ta-leng"]


@pytest.mark.parametrize("change,message", [
    (("username: hoa", "username: nobody"), "unknown user 'nobody'"),
    (("[son-binh]", "[son-binh, atlantis]"), "unknown commune 'atlantis'"),
    (("[son-binh]", "[na-tam-01]"), "'na-tam-01' is a village"),
    (('village_ntm: ["4"]', 'village_ntm: ["4", "15"]'), "unknown criterion '15' of village_ntm"),
    (('village_ntm: ["4"]', 'bridge_ntm: ["4"]'), "unknown dossier kind 'bridge_ntm'"),
    (("username: hoa", "username: hai"), "listed twice"),
    (("members:", "member:"), "top-level 'members:'"),
    (("members:", "members: ["), "committee.yaml: not valid YAML"),
    (("communes: [son-binh]", "communes: [son-binh]\n    colour: red"), "unknown key(s) colour"),
])
def test_committee_load_refuses_bad_data_naming_it(app, tmp_path, change, message):
    for name in ("hai", "hoa"):
        create_user(name, PASSWORD, "viewer", "tam-duong")
    db.session.commit()
    path = tmp_path / "committee.yaml"
    path.write_text(COMMITTEE.replace(*change), encoding="utf-8")
    out = run(app, "committee", "load", str(path))
    assert out.exit_code == 1, out.output
    assert message in out.output and "nothing changed" in out.output
    assert db.session.execute(db.select(db.func.count()).select_from(CommitteeMember)).scalar() == 0


def test_committee_load_missing_file_and_default_file(app, tmp_path):
    out = run(app, "committee", "load", str(tmp_path / "nope.yaml"))
    assert out.exit_code == 1 and "nope.yaml: file not found" in out.output
    # The shipped file names the demo users: without them it fails, naming them.
    out = run(app, "committee", "load")
    assert out.exit_code == 1
    assert "unknown user 'bcd.hatang'" in out.output and "unknown user 'bcd.vanhoa'" in out.output


def test_committee_status_command(app, tmp_path):
    u = setup_committee(tmp_path)
    file_report(u["hai"], "na-tam", "2024-09", "x", NA_TAM, now=vn(2024, 9, 1))
    db.session.commit()
    out = run(app, "committee", "status", "--month", "2024-09")
    assert out.exit_code == 0, out.output
    assert re.search(r"hai\s+na-tam\s+on_time filed 01/09/2024", out.output)
    assert "on time 1, late 0, missing 2, pending 0" in out.output


def test_demo_committee_has_on_time_late_and_missing_reports(app):
    from workflow_app.services.admin.demo import DEMO_USERS, _committee_demo

    for d in DEMO_USERS:
        if d.username.startswith("bcd."):
            create_user(d.username, d.password, d.role, d.unit, d.name)
    db.session.commit()
    _committee_demo()
    _committee_demo()  # idempotent
    # The demo's committee worked in August-September 2024 (the district era).
    statuses = [r.status for r in report_status("2024-08", local_now().date())]
    assert {"on_time", "late", "missing"} <= set(statuses) and len(statuses) == 6
    assert db.session.execute(db.select(db.func.count(MonthlyReport.id))).scalar() == 8


# ----------------------------------------------------------------------------- pages

@pytest.fixture
def web(tmp_path, pg_database):
    """No app context stays pushed while requests run (see test_web_auth.py)."""
    app = build_app(tmp_path, pg_database)
    with app.app_context():
        setup_committee(tmp_path)
    yield app
    with app.app_context():
        db.session.remove()
        dispose_engines()


def login(app, username):
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": PASSWORD})
    assert r.status_code == 302
    return client


def test_member_page_shows_own_scope_and_files_visit_and_report(web):
    c = login(web, "hai")
    page = c.get("/committee").get_data(as_text=True)
    assert 'href="/committee"' in page  # the navigation link
    for text in ("Phó Trưởng phòng Kinh tế và Hạ tầng", "Xã Nà Tăm", "Thị trấn Tam Đường", "Giao thông", "Điện",
                 "Quy hoạch đô thị", 'name="status-village_ntm-1"'):
        assert text in page, text
    assert "Xã Sơn Bình" not in page and "Văn hóa" not in page
    today = local_now().date()
    r = c.post("/committee/visits", data={"commune": "na-tam", "visited_on": today.isoformat(),
                                          "notes": "Kiểm tra bản 05"})
    assert r.status_code == 302, r.get_data(as_text=True)
    month = today.strftime("%Y-%m")
    r = c.post("/committee/reports", data={"commune": "na-tam", "month": month, "body": "Tình hình tháng",
                                           "status-village_ntm-1": "met", "status-village_ntm-2": "in_progress",
                                           "note-village_ntm-2": "Còn 2 hộ"})
    assert r.status_code == 302 and f"month={month}" in r.headers["Location"]
    page = c.get(r.headers["Location"]).get_data(as_text=True)
    assert "Đã gửi báo cáo tháng" in page and "Kiểm tra bản 05" in page and "Còn 2 hộ" in page
    assert "Cập nhật báo cáo" in page  # filing again updates
    with web.app_context():
        reports = db.session.execute(db.select(MonthlyReport)).scalars().all()
        assert len(reports) == 1 and reports[0].criteria["village_ntm"]["2"] == {"status": "in_progress",
                                                                              "note": "Còn 2 hộ"}


def test_member_page_refusals_are_clear_and_keep_the_input(web):
    c = login(web, "hai")
    today = local_now().date()
    month = today.strftime("%Y-%m")
    r = c.post("/committee/reports", data={"commune": "na-tam", "month": month, "body": "Nội dung giữ lại",
                                           "status-village_ntm-1": "met"})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "Chưa ghi tình trạng của tiêu chí: 2 (Điện)" in page
    assert "Nội dung giữ lại" in page
    r = c.post("/committee/visits", data={"commune": "na-tam", "visited_on": (today + timedelta(days=3)).isoformat()})
    assert r.status_code == 422 and "tương lai" in r.get_data(as_text=True)
    r = c.post("/committee/visits", data={"commune": "na-tam", "visited_on": "hôm qua"})
    assert r.status_code == 422 and "Ngày đi cơ sở" in r.get_data(as_text=True)
    r = c.post("/committee/visits", data={"commune": "son-binh", "visited_on": today.isoformat()})
    assert r.status_code == 403 and "không thuộc địa bàn" in r.get_data(as_text=True)
    r = c.post("/committee/reports", data={"commune": "son-binh", "month": month, "body": "x"})
    assert r.status_code == 403
    assert c.get("/committee?commune=son-binh").status_code == 403
    assert c.get("/committee?commune=atlantis").status_code == 404
    assert c.get("/committee?month=2024-13").status_code == 400
    assert c.get("/committee/office").status_code == 403
    with web.app_context():
        assert db.session.execute(db.select(db.func.count(MonthlyReport.id))).scalar() == 0
        assert db.session.execute(db.select(db.func.count(CommitteeVisit.id))).scalar() == 0


def test_standing_office_page_flags_late_and_missing(web):
    with web.app_context():
        from workflow_app.services.core.users import find_user

        file_report(find_user("hai"), "na-tam", "2024-09", "Nà Tăm tháng 9", NA_TAM, now=vn(2024, 9, 20))
        file_report(find_user("hai"), "tt-tam-duong", "2024-09", "Thị trấn", {"town_civilized": {"1": "met"}},
                    now=vn(2024, 9, 30))
        log_visit(find_user("hoa"), "son-binh", date(2024, 9, 12), "Nhà văn hóa")
        db.session.commit()
    c = login(web, "vp")
    r = c.get("/committee")
    assert r.status_code == 302 and r.headers["Location"].endswith("/committee/office")
    page = c.get("/committee/office?month=2024-09").get_data(as_text=True)
    assert "Đã nhận 2 / 3 báo cáo: 1 đúng hạn, 1 muộn; 1 chưa nộp đã quá hạn; 0 chưa đến hạn." in page
    assert "Đã nhận, đúng hạn" in page and "Đã nhận, muộn" in page and "Chưa nộp, đã quá hạn" in page
    assert "Nà Tăm tháng 9" in page and "Giao thông" in page
    visits = page[page.index('id="visits"'):]
    assert re.search(r"Xã Sơn Bình</td>\s*<td[^>]*>1</td>\s*<td[^>]*>12/09/2024", visits)
    assert c.get("/committee/office?month=2024-9x").status_code == 400
    assert c.get("/admin/committee").status_code == 200
    english = c.get("/lang/en?next=/committee/office?month=2024-09")
    assert english.status_code == 302
    assert "Received, late" in c.get("/committee/office?month=2024-09").get_data(as_text=True)
    # Others: the office page and the membership are not theirs.
    for username in ("xem", "vh", "hoa"):
        assert login(web, username).get("/committee/office").status_code == 403, username
    assert login(web, "root").get("/admin/committee").status_code == 200
    assert login(web, "xem").get("/committee").status_code == 403


def test_office_api_lists_the_month(app, tmp_path, api_as):
    u = setup_committee(tmp_path)
    file_report(u["hai"], "na-tam", "2024-09", "x", NA_TAM, now=vn(2024, 9, 26))
    db.session.commit()
    r = api_as(u["vp"]).get("/api/v1/committee/reports?month=2024-09")
    assert r.status_code == 200, r.json
    assert r.json["due"] == "2024-09-25"
    assert r.json["counts"] == {"on_time": 0, "late": 1, "missing": 2, "pending": 0, "received": 1, "total": 3}
    items = {(i["member"]["username"], i["commune"]["code"]): i for i in r.json["items"]}
    assert items[("hai", "na-tam")]["status"] == "late" and items[("hai", "na-tam")]["report"]["late"] is True
    assert items[("hoa", "son-binh")]["missing"] is True and items[("hoa", "son-binh")]["report"] is None
    assert api_as(u["hai"]).get("/api/v1/committee/reports?month=2024-09").status_code == 403
    assert api_as(u["vh"]).get("/api/v1/committee/reports").status_code == 403
    assert api_as(u["vp"]).get("/api/v1/committee/reports?month=sept").status_code == 400
    assert api_as(u["vp"]).get("/api/v1/committee/reports").json["month"] == local_now().strftime("%Y-%m")


def test_forms_need_the_csrf_token(web):
    web.config["WTF_CSRF_ENABLED"] = True
    c = web.test_client()
    page = c.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert c.post("/login", data={"username": "hai", "password": PASSWORD,
                                  "csrf_token": token.group(1)}).status_code == 302
    page = c.get("/committee").get_data(as_text=True)
    assert page.count('name="csrf_token"') >= 3  # visit form, report form, logout
    r = c.post("/committee/visits", data={"commune": "na-tam", "visited_on": local_now().date().isoformat()})
    assert r.status_code == 400
    with web.app_context():
        assert db.session.execute(db.select(db.func.count(CommitteeVisit.id))).scalar() == 0
