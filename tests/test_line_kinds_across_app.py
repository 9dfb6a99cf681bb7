"""Funding-use plans and cement requests (dossiers made of lines, no criteria) wherever
the app lists or reports dossiers: the dashboard and its workbook, the monthly report
(page, XLSX, PDF, overdue list), the work queue, the dossier list and its kind filter,
the filing-deadline reminders, and the statements a page runs.

The world, through the services on its own days: in April-May 2024 the district's road
(Nà Tăm's cement request accepted in part, Tả Lèng's returned, Nà Tăm's plan submitted
and never answered, Sơn Bình's accepted then amended, Giang Ma's plan a draft never
filed); in December 2026 the province's (Tả Lèng 2025's plan submitted after its
deadline, Bản Bo 2025's cement request a draft)."""
from __future__ import annotations

import io
import re
import subprocess
from datetime import date, datetime

import openpyxl
import pytest
import time_machine
from frozen_clock import AFTER_REFORM
from helpers import statements
from test_query_counts import BOUNDS

from workflow_app.clock import VN_TZ
from workflow_app.extensions import db
from workflow_app.models import OutboxMessage
from workflow_app.permissions import capacities, scope_of
from workflow_app.services import create_dossier, fire_event
from workflow_app.services.core.audit import verify_chains
from workflow_app.services.core.common import definition_of, engine
from workflow_app.services.core.effects import Act
from workflow_app.services.core.lines import add_line
from workflow_app.services.core.storage import path_of
from workflow_app.services.documents.papers import ensure_pdf, issue_receipt
from workflow_app.services.notify.reminders import queue_filing_reminders
from workflow_app.services.reading.lists import queue_page
from workflow_app.services.reporting.dashboard import dashboard
from workflow_app.services.reporting.monthly_report import overdue_summary

pytestmark = pytest.mark.db

PLAN, REQUEST = "funding_plan", "cement_request"
PLAN_LABEL, REQUEST_LABEL = "Kế hoạch sử dụng vốn nông thôn mới", "Đăng ký nhu cầu xi măng"


def at(text: str):
    return time_machine.travel(datetime.fromisoformat(text).replace(tzinfo=VN_TZ), tick=True)


def plan_line(item="Bê tông hoá đường nội bản Nà Tăm 1", amount=350_000_000, source="central"):
    return {"item": item, "source": source, "amount_vnd": amount}


def cement_line(village, work="Bê tông hoá đường nội bản", tonnes=20):
    return {"village": village, "work": work, "quantity": 300, "unit_of_measure": "m", "cement_tonnes": tonnes,
            "households": 40}


def _login(app, user):
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": "pw-123456"}).status_code == 302
    return client


def _step(when: str, actor, dossier, event: str, comment: str | None = None, granted=None):
    with at(when):
        fire_event(actor, dossier, event, comment, granted=granted)
        db.session.commit()


def _made(when: str, actor, kind: str, unit: str, year: int, lines: list[dict]):
    with at(when):
        dossier = create_dossier(actor, kind, unit, year)
        for values in lines:
            add_line(actor, dossier, values)
        db.session.commit()
    return dossier


@pytest.fixture
def world(app, make_user):
    with at("2024-04-08T08:00:00"):
        p = {"nt": make_user("submitter", "na-tam"), "tl": make_user("submitter", "ta-leng"),
             "gm": make_user("submitter", "giang-ma"), "gm_prep": make_user("preparer", "giang-ma"),
             "sb": make_user("submitter", "son-binh"), "district": make_user("appraiser", "tam-duong"),
             "viewer": make_user("viewer", "tam-duong"), "head": make_user("preparer", "na-tam-01")}
    w = {"people": p}
    w["nt_request"] = _made("2024-04-08T09:00:00", p["nt"], REQUEST, "na-tam", 2024,
                            [cement_line("na-tam-01", tonnes=42), cement_line("na-tam-05", "Rãnh thoát nước", 14)])
    _step("2024-04-10T09:00:00", p["nt"], w["nt_request"], "submit")
    granted = {ln.id: 8 for ln in w["nt_request"].current_lines() if ln.values["work"] == "Rãnh thoát nước"}
    _step("2024-04-19T15:00:00", p["district"], w["nt_request"], "accept", "Cấp một phần", granted)
    w["tl_request"] = _made("2024-04-09T09:00:00", p["tl"], REQUEST, "ta-leng", 2024, [cement_line("ta-leng-01")])
    _step("2024-04-11T09:00:00", p["tl"], w["tl_request"], "submit")
    _step("2024-04-19T15:00:00", p["district"], w["tl_request"], "return", "Bổ sung biên bản họp bản")
    w["gm_plan"] = _made("2024-04-22T09:00:00", p["gm_prep"], PLAN, "giang-ma", 2024, [plan_line()])
    w["nt_plan"] = _made("2024-04-22T10:00:00", p["nt"], PLAN, "na-tam", 2024, [plan_line()])
    _step("2024-04-24T09:00:00", p["nt"], w["nt_plan"], "submit")
    w["sb_plan"] = _made("2024-04-22T11:00:00", p["sb"], PLAN, "son-binh", 2024, [plan_line()])
    _step("2024-04-23T09:00:00", p["sb"], w["sb_plan"], "submit")
    _step("2024-05-06T09:00:00", p["district"], w["sb_plan"], "accept")
    _step("2024-05-20T09:00:00", p["sb"], w["sb_plan"], "amend", "Điều chỉnh nguồn vốn")
    with time_machine.travel(AFTER_REFORM, tick=True):
        p.update(tl26=make_user("submitter", "ta-leng-2025"), bb26=make_user("preparer", "ban-bo-2025"),
                 province=make_user("appraiser", "lai-chau"), province_viewer=make_user("viewer", "lai-chau"))
        w["tl26_plan"] = create_dossier(p["tl26"], PLAN, "ta-leng-2025", 2026)
        add_line(p["tl26"], w["tl26_plan"], plan_line("Nhà văn hoá bản Giang Ma 9", 520_000_000, "province"))
        db.session.commit()
        fire_event(p["tl26"], w["tl26_plan"], "submit")
        w["bb26_request"] = create_dossier(p["bb26"], REQUEST, "ban-bo-2025", 2026)
        add_line(p["bb26"], w["bb26_request"], cement_line("na-tam-09"))
        db.session.commit()
    return w


def test_the_dashboard_counts_plans_by_state_without_criteria(app, world):
    viewer = world["people"]["viewer"]
    dash = dashboard(viewer, 2024, PLAN)
    assert not dash.has_criteria and dash.criteria == []
    assert dash.total.by_state == {"draft": 2, "submitted": 1}  # Sơn Bình's amended plan is a draft again
    assert dash.total.with_dossier == 3 and dash.total.avg_self is None and dash.lagging_communes == []
    assert dash.deadline == date(2024, 4, 30)
    html = _login(app, viewer).get(f"/dashboard?kind={PLAN}&year=2024").get_data(as_text=True)
    assert 'id="criteria-section"' not in html and "TB tiêu chí" not in html
    assert f'<option value="{REQUEST}"' in html and REQUEST_LABEL in html
    assert re.search(r'id="xa-total">.*?data-state="submitted">1<', html, re.S)
    assert "3 trên 12 đơn vị đã lập hồ sơ." in html and "Hạn nộp hồ sơ của đợt: 30/04/2024" in html
    village = _login(app, viewer).get("/dashboard?year=2024").get_data(as_text=True)
    assert 'id="criteria-section"' in village  # the criteria kinds keep their figures

    r = _login(app, viewer).get(f"/dashboard.xlsx?kind={REQUEST}&year=2024")
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(r.data))
    assert "Theo tiêu chí" not in book.sheetnames
    sheet = book["Theo xã"]
    header = [c.value for c in sheet[2]]
    assert "Đã chấp nhận" in header and not any("tiêu chí" in str(h) for h in header)
    total = [c.value for c in sheet[sheet.max_row - 2]]
    assert total[0] == "Tổng cộng" and total[header.index("Đã chấp nhận")] == 1
    assert total[header.index("Trả lại để bổ sung")] == 1


def test_the_dashboard_of_the_province_era(app, world):
    with time_machine.travel(AFTER_REFORM, tick=True):
        dash = dashboard(world["people"]["province_viewer"], 2026, PLAN)
        assert dash.total.by_state == {"submitted": 1}
        r = _login(app, world["people"]["province_viewer"]).get(f"/dashboard?kind={REQUEST}&year=2026")
        assert r.status_code == 200 and 'data-state="draft">1<' in r.get_data(as_text=True)


def test_the_monthly_report_moves_overdue_and_downloads(app, world):
    viewer = world["people"]["viewer"]
    client = _login(app, viewer)
    html = client.get("/reports/monthly?month=2024-04").get_data(as_text=True)
    assert PLAN_LABEL in html and REQUEST_LABEL in html
    # The month's acceptances are counted under each kind, in its words (April 2024 had some).
    def moved(kind: str, event: str) -> str:
        moves = re.search(rf'class="moves-summary" data-kind="{kind}">(.*?)</p>', html, re.S)
        return re.search(rf'data-event="{event}">([^<]*): <strong>(\d+)', moves.group(1)).groups()

    assert int(moved(REQUEST, "accept")[1]) >= 1 and int(moved(PLAN, "submit")[1]) >= 1
    assert moved(PLAN, "submit")[0] == "Nộp kế hoạch lên huyện"  # the road of April 2024
    plan_accept = engine().definition(PLAN).events["accept"].labels["vi"]
    request_accept = engine().definition(REQUEST).events["accept"].labels["vi"]
    assert plan_accept != request_accept
    assert (moved(PLAN, "accept")[0], moved(REQUEST, "accept")[0]) == (plan_accept, request_accept)
    # Overdue today: the plan submitted on 24/04/2024 (10 working days), and Giang Ma's
    # plan never filed by 30/04; Sơn Bình's amended plan was filed: not "unfiled".
    late = overdue_summary(scope_of(viewer, progress=True), date(2025, 6, 11))
    codes = {r.code: r for r in late.rows}
    assert world["nt_plan"].code in codes and codes[world["nt_plan"].code].day_unit == "working"
    assert world["gm_plan"].code in codes and codes[world["gm_plan"].code].due_on == date(2024, 4, 30)
    assert world["sb_plan"].code not in codes and world["tl_request"].code not in codes
    assert "huyện" in codes[world["nt_plan"].code].who and "xã" in codes[world["gm_plan"].code].who
    overdue = client.get("/reports/monthly/overdue?month=2024-04").get_data(as_text=True)
    assert world["nt_plan"].code in overdue and world["gm_plan"].code in overdue
    moves = client.get("/reports/monthly/moves?month=2024-04").get_data(as_text=True)
    assert world["nt_request"].code in moves and "Bổ sung biên bản họp bản" in moves

    r = client.get("/reports/monthly.xlsx?month=2024-04")
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(r.data))
    cells = {str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row if c.value is not None}
    assert PLAN_LABEL in cells and world["nt_plan"].code in cells
    r = client.get("/reports/monthly.pdf?month=2024-04")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-", "-"], input=r.data, capture_output=True, check=True).stdout.decode()
    assert "xi măng" in " ".join(text.split()).lower()


def test_the_work_queue_of_each_side(app, world):
    p = world["people"]
    district = queue_page(p["district"])
    mine = {i.dossier.id: (i.actions, i.secondary) for i in district.items}
    assert mine == {world["nt_plan"].id: (["accept"], ["return"])}
    officer = {i.dossier.id: i.actions for i in queue_page(p["gm"]).items}
    assert officer == {world["gm_plan"].id: ["submit", "edit_lines"]}
    preparer = {i.dossier.id: i.actions for i in queue_page(p["gm_prep"]).items}
    assert preparer == {world["gm_plan"].id: ["edit_lines"]}
    returned = {i.dossier.id: i.actions for i in queue_page(p["tl"]).items}
    assert returned == {world["tl_request"].id: ["submit", "edit_lines"]}
    html = _login(app, p["district"]).get("/").get_data(as_text=True)
    assert world["nt_plan"].code in html and "Chấp nhận kế hoạch" in html
    with time_machine.travel(AFTER_REFORM, tick=True):
        province = {i.dossier.id: i.actions for i in queue_page(p["province"]).items}
        assert province == {world["tl26_plan"].id: ["accept"]}
        html = _login(app, p["bb26"]).get("/").get_data(as_text=True)
        assert world["bb26_request"].code in html and "Sửa các dòng đăng ký" in html
        assert "quá hạn" in html.lower()  # the 2026 request is a draft after 15/04/2026


def test_the_list_filters_by_the_new_kinds(app, world):
    client = _login(app, world["people"]["viewer"])
    html = client.get(f"/dossiers?kind={REQUEST}").get_data(as_text=True)
    assert world["nt_request"].code in html and world["tl_request"].code in html
    assert world["nt_plan"].code not in html
    assert re.search(rf'<option value="{PLAN}"[^>]*>{re.escape(PLAN_LABEL)}</option>', html)
    assert f'<option value="{REQUEST}" selected' in html
    html = client.get(f"/dossiers?kind={PLAN}&state=draft&year=2024").get_data(as_text=True)
    assert world["gm_plan"].code in html and world["sb_plan"].code in html and world["nt_plan"].code not in html
    with time_machine.travel(AFTER_REFORM, tick=True):
        html = _login(app, world["people"]["province_viewer"]).get(f"/dossiers?kind={PLAN}").get_data(as_text=True)
        assert world["tl26_plan"].code in html


def _messages() -> list[OutboxMessage]:
    """The filing reminders queued so far (the return's own message left out)."""
    return db.session.execute(db.select(OutboxMessage).where(OutboxMessage.kind.like("filing%"))
                              .order_by(OutboxMessage.id)).scalars().all()


def test_filing_deadline_reminders_for_communes_that_have_not_filed(app, world):
    p = world["people"]
    # 12/04/2024, three days before the cement deadline: Giang Ma (two people who may
    # create or file) and Sơn Bình have no request; Nà Tăm and Tả Lèng filed theirs.
    assert queue_filing_reminders(date(2024, 4, 12)) == 3
    db.session.commit()
    sent = _messages()
    assert {(m.to_user_id, m.kind, m.step) for m in sent} == {
        (p["gm"].id, "filing_soon", REQUEST), (p["gm_prep"].id, "filing_soon", REQUEST),
        (p["sb"].id, "filing_soon", REQUEST)}
    assert all(m.dossier_id is None and "15/04/2024" in m.subject and "còn 3 ngày" in m.body for m in sent)
    assert queue_filing_reminders(date(2024, 4, 12)) == 0  # once a day
    # After the deadline: late, for ten days.
    assert queue_filing_reminders(date(2024, 4, 17)) == 3
    db.session.commit()
    assert {m.kind for m in _messages()[3:]} == {"filing_late"}
    assert "đã quá hạn 2 ngày" in _messages()[-1].body
    # 26/04, four days before the plans' deadline: Giang Ma's draft (linked) and Tả Lèng
    # without a plan; Nà Tăm and Sơn Bình filed (Sơn Bình's amended plan was filed once).
    assert queue_filing_reminders(date(2024, 4, 26)) == 3
    db.session.commit()
    plans = _messages()[6:]
    assert {m.to_user_id for m in plans} == {p["gm"].id, p["gm_prep"].id, p["tl"].id}
    linked = [m for m in plans if m.dossier_id == world["gm_plan"].id]
    assert len(linked) == 2 and f"/dossiers/{world['gm_plan'].id}" in linked[0].body
    assert queue_filing_reminders(date(2024, 5, 20)) == 0  # past the reminders' days
    # The district's officials and the village head are never reminded of a commune's filing.
    assert not {m.to_user_id for m in _messages()} & {p["district"].id, p["viewer"].id, p["head"].id}


def test_pages_answer_or_refuse_as_they_should(app, world):
    p = world["people"]
    pages = ["/", "/dossiers", f"/dossiers?kind={PLAN}", f"/dashboard?kind={PLAN}&year=2024",
             f"/dashboard.xlsx?kind={REQUEST}&year=2024", "/reports/monthly?month=2024-04",
             "/reports/monthly.xlsx?month=2024-04", "/reports/monthly.pdf?month=2024-04",
             "/reports/monthly/moves?month=2024-04", "/reports/monthly/overdue?month=2024-04",
             "/decisions?year=2024", "/committee/office"]
    expected = {"viewer": 200, "district": 200, "nt": 200, "head": 403}
    for who, status in expected.items():
        client = _login(app, p[who])
        for url in pages:
            got = client.get(url).status_code
            want = 200 if url in ("/", "/dossiers", f"/dossiers?kind={PLAN}", "/decisions?year=2024") else status
            if url == "/committee/office":
                want = 200 if who == "district" else 403  # the office that leads the appraisal
            assert got == want, (who, url, got)
    with time_machine.travel(AFTER_REFORM, tick=True):
        for who in ("province", "province_viewer", "tl26", "bb26"):
            client = _login(app, p[who])
            for url in ("/", f"/dossiers?kind={REQUEST}", f"/dashboard?kind={REQUEST}&year=2026",
                        "/reports/monthly", "/reports/monthly.pdf"):
                assert client.get(url).status_code == 200, (who, url)
    assert verify_chains()[1] is None  # every record of the plans and requests chains


def test_statements_stay_bounded_with_more_plans(app, world, make_user):
    p = world["people"]

    def counts() -> dict[str, int]:
        a, b = _login(app, p["viewer"]), _login(app, p["district"])
        out = {}
        for name, client, url in [("queue", b, "/"), ("list", a, f"/dossiers?kind={PLAN}"),
                                  ("dashboard", a, f"/dashboard?kind={PLAN}&year=2024"),
                                  ("monthly", a, "/reports/monthly?month=2024-04")]:
            db.session.remove()
            with statements() as seen:
                assert client.get(url).status_code == 200
            out[name] = len(seen)
        return out

    small = counts()
    a = _login(app, p["viewer"])
    db.session.remove()
    with statements() as seen:
        assert a.get("/dashboard?year=2024").status_code == 200
    village = len(seen)  # the criteria kind's dashboard in the same world (with overdue rows)
    for commune in ("ban-bo", "ban-giang", "ban-hon", "binh-lu", "ho-thau", "khun-ha"):
        officer = make_user("submitter", commune)
        dossier = _made("2024-04-22T14:00:00", officer, PLAN, commune, 2024, [plan_line(), plan_line("Mương")])
        _step("2024-04-23T09:00:00", officer, dossier, "submit")
    large = counts()
    assert all(large[k] <= BOUNDS[k] for k in ("queue", "list", "monthly")), large
    assert large["dashboard"] <= village, (large, village)  # no more than a kind with criteria
    assert all(large[k] <= small[k] for k in small), (small, large)


def test_a_receipt_for_a_plan_names_the_district_and_renders(app, world):
    """The definitions declare no receipt for plans; the receipt effect, run on one
    (as a definition adding `effects: [issue_receipt]` would), has no criteria to list
    and still names the receiving district and renders."""
    p, dossier = world["people"], world["nt_plan"]
    d = definition_of(dossier)
    assert not any(e.effects and "issue_receipt" in e.effects for e in d.events.values())
    with at("2024-04-24T10:00:00"):
        cap = capacities(p["nt"], dossier.unit, d.events["submit"].by)[0]
        (doc,) = issue_receipt(Act(p["nt"], cap, [dossier], d, "submit", None))
        db.session.commit()
    assert doc.issuer.code == "tam-duong" and doc.data["facts"]["criteria"] == []
    ensure_pdf(doc)
    text = subprocess.run(["pdftotext", "-", "-"], input=path_of(doc.pdf_key).read_bytes(), capture_output=True,
                          check=True).stdout.decode()
    assert dossier.code in text and "Tam Đường" in text
