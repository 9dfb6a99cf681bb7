"""The receiving level's summary of a kind made of lines across its communes
(services/reporting/line_summary.py): the sums per commune and per breakdown value
add up, communes that filed nothing are listed, each year is read in its own tree
(2024: the district's 12 communes; 2026: the province's new communes), the issuer's
dossiers must be the caller's to read, and the JSON, the workbook, the PDF and the
page say the same."""
from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

import frozen_clock
import pytest
import time_machine
from helpers import statements
from openpyxl import load_workbook
from sqlalchemy import update

from workflow_app.clock import VN_TZ
from workflow_app.extensions import db
from workflow_app.models import Dossier
from workflow_app.services import create_dossier, fire_event
from workflow_app.services.core.lines import add_line
from workflow_app.services.reporting.line_summary import summary
from workflow_app.workflow.errors import NotFound, NotPermitted, RuleRefused

pytestmark = pytest.mark.db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
OLD_COMMUNES = {"ban-bo", "ban-giang", "ban-hon", "binh-lu", "giang-ma", "ho-thau", "khun-ha", "na-tam",
                "nung-nang", "son-binh", "ta-leng", "then-sin"}
NEW_COMMUNES = {"ban-bo-2025", "binh-lu-2025", "ta-leng-2025", "khun-ha-2025", "sin-suoi-ho-2025"}
ON_TIME = datetime(2025, 4, 10, 9, 0, tzinfo=VN_TZ)  # before the 2025 deadlines (15/04 cement, 30/04 funds)


def cement(village, work, tonnes, **kw):
    return {"village": village, "work": work, "quantity": 100, "unit_of_measure": "m", "cement_tonnes": tonnes,
            "households": 10, **kw}


def funds(item, source, amount, village=None):
    values = {"item": item, "source": source, "amount_vnd": amount}
    if village:
        values["village"] = village
    return values


@pytest.fixture
def people(make_user):
    return {
        "na_tam": make_user("submitter", "na-tam", name="Lò Văn Nộp"),
        "son_binh": make_user("submitter", "son-binh"),
        "giang_ma": make_user("preparer", "giang-ma"),
        "appraiser": make_user("appraiser", "tam-duong", name="Hoàng Thị Lan"),
        "district_viewer": make_user("viewer", "tam-duong"),
        "province": make_user("viewer", "lai-chau"),
    }


def _filed(user, kind, commune, year, lines, *, at=None):
    """A dossier of `commune` with `lines`, submitted at `at` (today when None)."""
    with time_machine.travel(at or frozen_clock.NOW, tick=False):
        dossier = create_dossier(user, kind, commune, year)
        made = [add_line(user, dossier, values) for values in lines]
        fire_event(user, dossier, "submit")
        db.session.commit()
    return dossier, made


@pytest.fixture
def cement_2025(people):
    """Nà Tăm filed on time and was granted part of one line; Sơn Bình filed late (its
    first dossier of the year was replaced by a second one); Giang Má has a draft."""
    na_tam, lines = _filed(people["na_tam"], "cement_request", "na-tam", 2025,
                           [cement("na-tam-01", "Đường bản 01", 12.5), cement("na-tam-02", "Đường bản 02", 7.3),
                            cement("na-tam-01", "Sân nhà văn hoá", 3)], at=ON_TIME)
    fire_event(people["appraiser"], na_tam, "accept", granted={str(lines[0].id): 10})
    old, _ = _filed(people["son_binh"], "cement_request", "son-binh", 2025, [cement("son-binh-01", "Cũ", 99)])
    db.session.execute(update(Dossier).where(Dossier.id == old.id).values(open_key=None))
    db.session.commit()
    son_binh, _ = _filed(people["son_binh"], "cement_request", "son-binh", 2025,
                         [cement("son-binh-01", "Kênh mương", 5)])
    draft = create_dossier(people["giang_ma"], "cement_request", "giang-ma", 2025)
    add_line(people["giang_ma"], draft, cement("giang-ma-02", "Đường nội đồng", 4))
    db.session.commit()
    return {"na-tam": na_tam, "son-binh": son_binh, "giang-ma": draft, "replaced": old}


@pytest.fixture
def funding_2025(people):
    plan, _ = _filed(people["na_tam"], "funding_plan", "na-tam", 2025,
                     [funds("Nhà văn hoá bản 02", "central", 250_000_000, "na-tam-02"),
                      funds("Đường nội bản", "province", 100_000_000),
                      funds("Kênh mương", "central", 50_000_000)], at=ON_TIME)
    fire_event(people["appraiser"], plan, "accept")
    other, _ = _filed(people["son_binh"], "funding_plan", "son-binh", 2025,
                      [funds("Tu sửa trường", "commune", 20_000_000)], at=ON_TIME)
    db.session.commit()
    return {"na-tam": plan, "son-binh": other}


def _rows(s):
    return {r.code: r for r in s.rows}


# ----------------------------------------------------------------------------- the numbers

def test_cement_requested_and_granted_add_up_per_commune_and_village(app, people, cement_2025):
    s = summary("cement_request", "tam-duong", 2025, people["appraiser"])
    assert s.layout == "rows" and s.grants and s.issuer_level == "district"
    rows = _rows(s)
    assert set(rows) == OLD_COMMUNES  # every commune of the district, not only those that filed
    na_tam = rows["na-tam"]
    assert (na_tam.dossier_code, na_tam.state, na_tam.late) == (cement_2025["na-tam"].code, "accepted", False)
    assert na_tam.filed_on.isoformat() == "2025-04-10"
    assert [(p.key, p.amount, p.granted) for p in na_tam.parts] == [("na-tam-01", 15.5, 13), ("na-tam-02", 7.3, 7.3)]
    assert (na_tam.total, na_tam.granted) == (22.8, 20.3)
    assert na_tam.parts[0].label == "Bản 01 (Nà Tăm)"

    son_binh = rows["son-binh"]  # its latest dossier only: 5 t, not the 99 t of the replaced one
    assert son_binh.dossier_id == cement_2025["son-binh"].id
    assert (son_binh.total, son_binh.granted, son_binh.state, son_binh.late) == (5, None, "submitted", True)
    assert son_binh.days_late == (frozen_clock.TODAY - datetime(2025, 4, 15).date()).days

    giang_ma = rows["giang-ma"]
    assert (giang_ma.state, giang_ma.filed_on, giang_ma.total, giang_ma.late) == ("draft", None, 4, True)
    for code in OLD_COMMUNES - {"na-tam", "son-binh", "giang-ma"}:
        assert (rows[code].dossier_id, rows[code].state_label, rows[code].total) == (None, "Chưa lập", 0)
    assert (s.total, s.granted) == (31.8, 20.3)
    assert [r.name for r in s.rows][:5] == ["Xã Bản Bo", "Xã Bản Giang", "Xã Bản Hon", "Xã Bình Lư", "Xã Giang Ma"]


def test_funds_add_up_per_source_in_the_definitions_order(app, people, funding_2025):
    s = summary("funding_plan", "tam-duong", 2025, people["district_viewer"], "en")
    assert s.layout == "columns" and not s.grants and s.money
    assert [(c.key, c.label, c.amount) for c in s.columns] == [
        ("central", "Central budget", 300_000_000), ("province", "Provincial budget", 100_000_000),
        ("commune", "Commune budget", 20_000_000)]
    rows = _rows(s)
    assert {p.key: p.amount for p in rows["na-tam"].parts} == {"central": 300_000_000, "province": 100_000_000}
    assert rows["na-tam"].state_label == "Accepted" and rows["ban-bo"].state_label == "Not started"
    assert rows["son-binh"].total == 20_000_000 and isinstance(rows["son-binh"].total, int)
    assert s.total == 420_000_000 and s.granted is None


def test_an_amended_plan_is_read_from_its_current_round(app, people, funding_2025):
    plan = funding_2025["na-tam"]
    fire_event(people["na_tam"], plan, "amend", "Bổ sung vốn lồng ghép")
    add_line(people["na_tam"], plan, funds("Đường nội đồng", "integrated", 30_000_000))
    db.session.commit()
    rows = _rows(summary("funding_plan", "tam-duong", 2025, people["appraiser"]))
    assert rows["na-tam"].state == "draft"
    assert {p.key: p.amount for p in rows["na-tam"].parts} == {
        "central": 300_000_000, "province": 100_000_000, "integrated": 30_000_000}


# ----------------------------------------------------------------------------- the tree of each year

def test_2024_is_the_districts_table_over_its_twelve_communes(app, people):
    s = summary("cement_request", "tam-duong", 2024, people["province"])
    assert {r.code for r in s.rows} == OLD_COMMUNES and len(s.rows) == 12
    assert s.day.isoformat() == "2024-04-15" and all(r.dossier_id is None for r in s.rows)
    with pytest.raises(RuleRefused) as refused:
        summary("cement_request", "lai-chau", 2024, people["province"])
    assert "Huyện Tam Đường" in refused.value.message("vi")


def test_2026_is_the_provinces_table_over_the_new_communes(app, make_user, people):
    officer, appraiser = make_user("submitter", "ta-leng-2025"), make_user("appraiser", "lai-chau")
    with time_machine.travel(frozen_clock.AFTER_REFORM, tick=False):
        dossier, lines = _filed(officer, "cement_request", "ta-leng-2025", 2026,
                                [cement("giang-ma-01", "Đường bản", 8)], at=frozen_clock.AFTER_REFORM)
        fire_event(appraiser, dossier, "accept", granted={str(lines[0].id): 6})
        db.session.commit()
        s = summary("cement_request", "lai-chau", 2026, people["province"])
        assert {r.code for r in s.rows} == NEW_COMMUNES
        row = _rows(s)["ta-leng-2025"]
        assert (row.state, row.total, row.granted, row.late) == ("accepted", 8, 6, True)
        assert [(p.key, p.amount, p.granted) for p in row.parts] == [("giang-ma-01", 8, 6)]
        assert (s.total, s.granted) == (8, 6)
        with pytest.raises(RuleRefused):  # no district any more: the province receives
            summary("cement_request", "tam-duong", 2026, people["province"])


# ----------------------------------------------------------------------------- who may read it

def test_refusals(app, make_user, people):
    with pytest.raises(NotPermitted):  # a commune reads its own dossier, not the district's table
        summary("cement_request", "tam-duong", 2025, people["na_tam"])
    with pytest.raises(NotPermitted):
        summary("cement_request", "lai-chau", 2026, people["appraiser"])
    with pytest.raises(NotFound):
        summary("cement_request", "no-such-unit", 2025, people["appraiser"])
    with pytest.raises(NotFound):
        summary("no_such_kind", "tam-duong", 2025, people["appraiser"])
    with pytest.raises(RuleRefused):  # made of criteria: no lines to add up
        summary("village_ntm", "tam-duong", 2025, people["appraiser"])
    with pytest.raises(RuleRefused):  # a commune is not the receiving level
        summary("cement_request", "na-tam", 2025, people["appraiser"])


def test_api_answers_and_refusals(app, api_as, people, cement_2025):
    api = api_as(people["appraiser"])
    r = api.get("/api/v1/summaries/cement_request?issuer=tam-duong&year=2025")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["issuer"] == {"code": "tam-duong", "name": "Huyện Tam Đường", "level": "district"}
    assert body["layout"] == "rows" and body["measure"]["name"] == "cement_tonnes" and body["on"] == "2025-04-15"
    communes = {c["unit"]["code"]: c for c in body["communes"]}
    assert len(communes) == 12 and communes["ban-bo"]["dossier"] is None
    assert communes["na-tam"]["dossier"]["filed_on"] == "2025-04-10"
    assert communes["na-tam"]["breakdown"][0] == {"key": "na-tam-01", "label": "Bản 01 (Nà Tăm)",
                                                  "amount": 15.5, "granted": 13}
    assert body["totals"]["total"] == 31.8 and body["totals"]["granted"] == 20.3
    assert {c["key"] for c in body["columns"]} == {"na-tam-01", "na-tam-02", "son-binh-01", "giang-ma-02"}

    commune = api_as(people["na_tam"], "en")
    refused = commune.get("/api/v1/summaries/cement_request?issuer=tam-duong&year=2025")
    assert refused.status_code == 403 and "may not read" in refused.json["error"]["message"]
    assert api.get("/api/v1/summaries/nothing?issuer=tam-duong&year=2025").status_code == 404
    assert api.get("/api/v1/summaries/cement_request?issuer=nowhere&year=2025").status_code == 404
    assert api.get("/api/v1/summaries/village_ntm?issuer=tam-duong&year=2025").status_code == 422
    assert api.get("/api/v1/summaries/cement_request?issuer=lai-chau&year=2025").status_code == 403
    province = api_as(people["province"])  # reads the province, which did not receive the 2025 requests
    assert province.get("/api/v1/summaries/cement_request?issuer=lai-chau&year=2025").status_code == 422
    assert api.get("/api/v1/summaries/cement_request?year=2025").status_code == 400
    assert api.get("/api/v1/summaries/cement_request?issuer=tam-duong&year=abc").status_code == 400
    assert api.get("/api/v1/summaries/cement_request?issuer=tam-duong&year=1999").status_code in (400, 422)
    anonymous = app.test_client().get("/api/v1/summaries/cement_request?issuer=tam-duong&year=2025")
    assert anonymous.status_code == 401
    spec = app.test_client().get("/api/v1/openapi.json").json
    assert {"/api/v1/summaries/{kind}", "/api/v1/summaries/{kind}.xlsx"} <= set(spec["paths"])


# ----------------------------------------------------------------------------- the workbook and the paper

def test_workbook_cells(app, api_as, people, cement_2025, funding_2025):
    api = api_as(people["appraiser"])
    r = api.get("/api/v1/summaries/funding_plan.xlsx?issuer=tam-duong&year=2025")
    assert r.status_code == 200 and r.mimetype == XLSX
    assert "tong-hop-funding-plan-tam-duong-2025.xlsx" in r.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.data))["Tổng hợp"]
    assert ws["A1"].value.startswith("BẢNG TỔNG HỢP KẾ HOẠCH SỬ DỤNG VỐN NÔNG THÔN MỚI NĂM 2025")
    headings = [c.value for c in ws[2]]
    assert headings[:3] == ["STT", "Xã", "Mã hồ sơ"]
    assert headings[6:] == ["Ngân sách trung ương", "Ngân sách tỉnh", "Ngân sách xã", "Tổng cộng: Số tiền (đồng)"]
    assert ws.freeze_panes == "A3"
    rows = {row[1].value: row for row in ws.iter_rows(min_row=3) if row[1].value}
    na_tam = rows["Xã Nà Tăm"]
    assert [c.value for c in na_tam[6:10]] == [300_000_000, 100_000_000, None, 400_000_000]
    assert na_tam[6].number_format == "#,##0" and na_tam[4].value.date().isoformat() == "2025-04-10"
    assert na_tam[3].value == "Đã chấp nhận" and na_tam[5].value == "Đúng hạn"
    assert rows["Xã Bản Bo"][3].value == "Chưa lập"
    assert [c.value for c in rows["Tổng cộng"][6:10]] == [300_000_000, 100_000_000, 20_000_000, 420_000_000]

    r = api.get("/api/v1/summaries/cement_request.xlsx?issuer=tam-duong&year=2025")
    ws = load_workbook(io.BytesIO(r.data)).active
    assert [c.value for c in ws[2]][-2:] == ["Xi măng (tấn)", "Xi măng (tấn) được chấp nhận"]
    values = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    at = next(i for i, row in enumerate(values) if row[1] == "Xã Nà Tăm")
    assert values[at][-2:] == [22.8, 20.3]
    assert [row[1].strip() for row in values[at + 1:at + 3]] == ["Bản 01 (Nà Tăm)", "Bản 02 (Nà Tăm)"]
    assert [row[-2:] for row in values[at + 1:at + 3]] == [[15.5, 13], [7.3, 7.3]]
    total = next(row for row in values if row[1] == "Tổng cộng")
    assert total[-2:] == [31.8, 20.3]


def _session(app, username: str):
    client = app.test_client()
    r = client.post("/login", data={"username": username, "password": "pw-123456"})
    assert r.status_code == 302
    return client


def _pdf_text(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "summary.pdf"
        path.write_bytes(data)
        out = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True)
    return " ".join(out.stdout.split())


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed (make deps)")
def test_pdf_has_the_header_the_totals_and_the_signatures(app, people, cement_2025, funding_2025):
    client = _session(app, people["appraiser"].username)
    r = client.get("/summaries/cement_request.pdf?issuer=tam-duong&year=2025")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = _pdf_text(r.data)
    for phrase in ("ỦY BAN NHÂN DÂN", "HUYỆN TAM ĐƯỜNG", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
                   "Tam Đường, ngày 11 tháng 6 năm 2025",
                   "BẢNG TỔNG HỢP ĐĂNG KÝ NHU CẦU XI MĂNG NĂM 2025", "Xã Nà Tăm", "Bản 01 (Nà Tăm)",
                   "Tổng cộng", "31,8", "20,3", "NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ", "Hoàng Thị Lan"):
        assert phrase in text, phrase
    r = client.get("/summaries/funding_plan.pdf?issuer=tam-duong&year=2025")
    text = _pdf_text(r.data)
    assert "KẾ HOẠCH SỬ DỤNG VỐN NÔNG THÔN MỚI NĂM 2025" in text
    assert "420.000.000" in text and "300.000.000" in text and "đơn vị tính: đồng" in text


def test_page_for_a_district_appraiser(app, people, cement_2025):
    client = _session(app, people["appraiser"].username)
    page = client.get("/summaries/cement_request?issuer=tam-duong&year=2025")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="summary"' in html and "Xã Nà Tăm" in html and "Chưa lập" in html
    assert "22,8" in html and "20,3" in html and "31,8" in html and "Bản 02 (Nà Tăm)" in html
    assert "/summaries/cement_request.xlsx?issuer=tam-duong&amp;year=2025" in html
    assert "/summaries/cement_request.pdf?issuer=tam-duong&amp;year=2025" in html
    default = client.get("/summaries/cement_request?year=2025")  # the user's own unit
    assert default.status_code == 200 and "Xã Nà Tăm" in default.get_data(as_text=True)
    assert client.get("/summaries/cement_request.xlsx?issuer=tam-duong&year=2025").mimetype == XLSX
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/summaries/cement_request"' in dashboard and 'href="/summaries/funding_plan"' in dashboard

    commune = _session(app, people["na_tam"].username)
    assert commune.get("/summaries/cement_request?issuer=tam-duong&year=2025").status_code == 403
    assert "/summaries/" not in commune.get("/dashboard").get_data(as_text=True)


# ----------------------------------------------------------------------------- a bounded cost

def test_statements_do_not_grow_with_communes_dossiers_or_lines(app, make_user, people, cement_2025):
    with statements() as few:
        summary("cement_request", "tam-duong", 2025, people["appraiser"])
    for commune in ("ban-bo", "khun-ha", "nung-nang"):
        _filed(make_user("submitter", commune), "cement_request", commune, 2025,
               [cement(f"{commune}-01", f"Việc {i}", 1 + i) for i in range(4)])
    db.session.expire_all()
    with statements() as many:
        s = summary("cement_request", "tam-duong", 2025, people["appraiser"])
    assert sum(r.dossier_id is not None for r in s.rows) == 6
    assert s.total == 31.8 + 3 * 10
    assert len(many) == len(few) <= 12, many
