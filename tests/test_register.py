"""The numbering register (sổ đăng ký): JSON, XLSX and page agree with the
database; numbers run 1..n with no gap through recognitions and a revocation;
a reader outside the issuer's tree sees nothing of it."""
from __future__ import annotations

import io
import re
from datetime import datetime

import frozen_clock
import pytest
from helpers import dossier_in, fire, statements
from openpyxl import load_workbook

from workflow_app.extensions import db
from workflow_app.models import Decision, Unit
from workflow_app.services import fire_batch
from workflow_app.services.core.reference import find_unit
from workflow_app.services.reporting import register
from workflow_app.services.reporting.register import HEADINGS, SHEET_TITLE, gaps, register_rows

pytestmark = pytest.mark.db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YEAR = frozen_clock.YEAR  # numbers are assigned at signing: the year of today


@pytest.fixture
def issued(app, make_user, api_as):
    """Three recognitions (one listing two villages) and one revocation, through the API
    and the batch service; returns (approver API client, {name: dossier id})."""
    preparer = make_user("preparer", "na-tam")
    approver_user = make_user("approver", "tam-duong", name="Trần Quốc Khánh", capacity="vice_chairman")
    approver = api_as(approver_user)
    ids = {}
    for village in ("na-tam-01", "na-tam-02"):
        dossier = dossier_in(preparer, village, 2024, "appraised")
        r = fire(approver, dossier.id, "recognize")
        assert r.status_code == 200, r.json
        ids[village] = dossier.id
    pair = [dossier_in(preparer, v, 2024, "appraised") for v in ("na-tam-03", "na-tam-04")]
    fire_batch(approver_user, [(d, None) for d in pair], "recognize")
    db.session.commit()
    ids.update({"na-tam-03": pair[0].id, "na-tam-04": pair[1].id})
    r = fire(approver, ids["na-tam-02"], "revoke", "Tiêu chí 8 (Thu nhập) không còn đạt")
    assert r.status_code == 200, r.json
    return approver, ids


def _session(app, username: str):
    client = app.test_client()
    with app.app_context():
        r = client.post("/login", data={"username": username, "password": "pw-123456"})
    assert r.status_code == 302
    return client


def _get(app, client, url):
    with app.app_context():  # a fresh context per request, as in production
        return client.get(url)


def _db_rows():
    district = find_unit("tam-duong")
    return list(db.session.execute(db.select(Decision).where(Decision.issuer_id == district.id,
                                                             Decision.year == YEAR)
                                   .order_by(Decision.number)).scalars())


def test_numbers_run_one_to_n_without_gaps(app, issued):
    approver, _ = issued
    rows = _db_rows()
    assert [d.number for d in rows] == [1, 2, 3, 4]
    assert [d.type for d in rows] == ["recognition", "recognition", "recognition", "revocation"]
    assert gaps(find_unit("tam-duong"), YEAR) == []
    # The revoked decision keeps its number; the revocation cites it.
    assert rows[1].status == "revoked" and rows[3].revokes_id == rows[1].id


def test_gaps_names_a_missing_number(app, issued):
    """gaps() is a real check, not a constant: remove a row and it names the number."""
    moved = _db_rows()[2]
    moved.number = 13  # as if numbers 3 and 5..12 had been lost
    db.session.commit()
    assert gaps(find_unit("tam-duong"), YEAR) == [3, 5, 6, 7, 8, 9, 10, 11, 12]


def test_json_register_agrees_with_the_database(app, issued):
    approver, ids = issued
    r = approver.get(f"/api/v1/decisions?issuer=tam-duong&year={YEAR}")
    assert r.status_code == 200
    items = r.json["items"]
    rows = _db_rows()
    assert len(items) == len(rows) == 4
    for item, d in zip(items, rows, strict=True):
        # The CONTRACT's keys stay, with the database's values.
        assert item["number"] == d.number and item["symbol"] == d.symbol
        assert item["issued_on"] == d.issued_on.isoformat() and item["type"] == d.type
        assert item["status"] == d.status and item["signer"] == d.signer_name == "Trần Quốc Khánh"
        assert item["sha256"] == d.pdf_sha256 and item["verify_url"].endswith(f"/verify/{d.verify_token}")
        assert sorted(x["id"] for x in item["dossiers"]) == sorted(x.id for x in d.dossiers)
        assert "token" not in item  # only inside verify_url
    first, revoked, pair, revocation = items
    assert revoked["status"] == "revoked" and revoked["revoked_by"][0]["symbol"] == revocation["symbol"]
    assert [u["code"] for u in revoked["revoked_by"][0]["units"]] == ["na-tam-02"]
    assert revocation["revokes"]["symbol"] == revoked["symbol"] and revocation["reason"].startswith("Tiêu chí 8")
    assert first["revoked_by"] == [] and first["revokes"] is None
    assert sorted(u["unit"]["code"] for u in pair["dossiers"]) == ["na-tam-03", "na-tam-04"]


def test_xlsx_agrees_with_the_database(app, issued):
    approver, _ = issued
    r = approver.get(f"/api/v1/decisions.xlsx?issuer=tam-duong&year={YEAR}")
    assert r.status_code == 200 and r.mimetype == XLSX
    assert f"so-dang-ky-tam-duong-{YEAR}.xlsx" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data))
    assert wb.sheetnames == [SHEET_TITLE] == ["Sổ đăng ký"]
    ws = wb[SHEET_TITLE]
    assert "TAM ĐƯỜNG" in ws["A1"].value and str(YEAR) in ws["A1"].value
    headings = [c.value for c in ws[2]]
    assert headings == list(HEADINGS)
    assert headings[:3] == ["Số", "Ký hiệu", "Ngày ban hành"] and headings[3] == "Loại"
    assert ws.freeze_panes == "A3"
    body = [[c.value for c in row] for row in ws.iter_rows(min_row=3)]
    rows = _db_rows()
    assert len(body) == len(rows) == 4  # one row per number
    for line, d in zip(body, rows, strict=True):
        number, symbol, issued_on, kind, subject, units, signer, status, links = line
        assert (number, symbol, subject, signer) == (d.number, d.symbol, d.subject, d.signer_name)
        assert isinstance(issued_on, datetime) and issued_on.date() == d.issued_on  # a real date cell
        assert kind == {"recognition": "Công nhận", "revocation": "Thu hồi"}[d.type]
        for x in d.dossiers:
            assert x.unit.name in units
    assert [line[7] for line in body] == ["Còn hiệu lực", "Đã thu hồi", "Còn hiệu lực", "Còn hiệu lực"]
    assert body[1][8].startswith(f"Thu hồi bởi QĐ {rows[3].symbol}")
    assert body[3][8].startswith(f"Thu hồi QĐ {rows[1].symbol}")
    assert ws.column_dimensions["E"].width >= 40  # the subject column is wide


def test_the_page_and_its_xlsx_link(app, issued, make_user):
    make_user("viewer", "tam-duong", username="xem")
    client = _session(app, "xem")
    page = _get(app, client, "/decisions")  # defaults: the user's issuer, this year
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Sổ đăng ký quyết định" in html and 'href="/decisions"' in html  # in the navigation too
    for d in _db_rows():
        assert f'id="so-{d.number}"' in html and f'href="/verify/{d.verify_token}"' in html
    assert "Tải Excel (XLSX)" in html and f'href="/decisions.xlsx?issuer=tam-duong&amp;year={YEAR}"' in html
    assert 'id="gaps"' not in html and "<script" not in html
    x = _get(app, client, f"/decisions.xlsx?issuer=tam-duong&year={YEAR}")
    assert x.status_code == 200 and x.mimetype == XLSX
    assert load_workbook(io.BytesIO(x.data))[SHEET_TITLE].max_row == 2 + 4
    empty = _get(app, client, "/decisions?issuer=tam-duong&year=2021").get_data(as_text=True)
    assert "Chưa có quyết định nào được cấp số trong năm này." in empty


def test_the_page_in_english(app, issued, make_user):
    make_user("approver", "tam-duong", username="ky")
    client = _session(app, "ky")
    with app.app_context():
        client.get("/lang/en")
    html = _get(app, client, f"/decisions?issuer=tam-duong&year={YEAR}").get_data(as_text=True)
    assert "Decision register" in html and "Download Excel (XLSX)" in html and "Revoked" in html


def test_navigation_offers_the_register_to_officials_only(app, make_user):
    make_user("appraiser", "tam-duong", username="td")
    make_user("preparer", "na-tam-01", username="tb")
    assert 'href="/decisions"' in _get(app, _session(app, "td"), "/").get_data(as_text=True)
    assert 'href="/decisions"' not in _get(app, _session(app, "tb"), "/").get_data(as_text=True)


def test_another_district_sees_nothing(app, issued, make_user, api_as):
    province = find_unit("lai-chau")
    db.session.add(Unit(code="phong-tho", name="Huyện Phong Thổ", level="district", parent=province,
                        path=f"{province.path}phong-tho/"))
    db.session.commit()
    other = make_user("viewer", "phong-tho", username="xem.phongtho")
    api = api_as(other)
    for url in (f"/api/v1/decisions?issuer=tam-duong&year={YEAR}",
                f"/api/v1/decisions.xlsx?issuer=tam-duong&year={YEAR}"):
        r = api.get(url)
        assert r.status_code == 403 and r.json["error"]["code"] == "forbidden", url
    assert api.get(f"/api/v1/decisions?issuer=no-such-unit&year={YEAR}").status_code == 404
    client = _session(app, "xem.phongtho")
    assert _get(app, client, f"/decisions?issuer=tam-duong&year={YEAR}").status_code == 403
    assert _get(app, client, f"/decisions.xlsx?issuer=tam-duong&year={YEAR}").status_code == 403
    page = _get(app, client, "/decisions")  # its own defaults: nothing of Tam Đường
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Tam Đường" not in html.split("<main>")[1]
    assert not any(d.verify_token in html for d in _db_rows())


def test_a_bad_query_is_400(app, issued):
    approver, _ = issued
    assert approver.get("/api/v1/decisions.xlsx?issuer=tam-duong").status_code == 400
    assert approver.get("/api/v1/decisions.xlsx?issuer=tam-duong&year=abc").status_code == 400


def test_the_register_costs_the_same_statements_however_many_decisions(app, issued, make_user, api_as):
    """Revocations, revoked decisions and units come with the decisions, not one
    decision at a time."""
    approver, _ = issued
    district = find_unit("tam-duong")

    def count() -> int:
        db.session.expire_all()
        with statements() as seen:
            rows = register_rows(district, YEAR)
        assert len(rows) == len(_db_rows())
        return len(seen)

    before = count()
    preparer = make_user("preparer", "na-tam")
    for village in ("na-tam-05", "na-tam-06"):
        dossier = dossier_in(preparer, village, 2024, "appraised")
        assert fire(approver, dossier.id, "recognize").status_code == 200
        assert fire(approver, dossier.id, "revoke", "Tiêu chí 8 không còn đạt").status_code == 200
    assert count() == before


# ----------------------------------------------------------------------------- pages of numbers

def _numbers_up_to(top: int) -> None:
    """Numbers 5..top for Tam Đường this year, as rows beside the four issued: copies of
    number 1 with their own number, symbol and token (the register reads rows)."""
    one = _db_rows()[0]
    for n in range(len(_db_rows()) + 1, top + 1):
        db.session.add(Decision(issuer_id=one.issuer_id, year=one.year, number=n, symbol=f"{n}/QĐ-UBND",
                                type="recognition", issued_on=one.issued_on, signed_at=one.signed_at,
                                signer_id=one.signer_id, signer_name=one.signer_name, subject=f"Quyết định số {n}",
                                pdf_key=one.pdf_key, pdf_sha256=one.pdf_sha256, verify_token=f"tok-{n:06d}",
                                status="valid"))
    db.session.commit()


def _shown(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="so-(\d+)"', html)]


def test_the_page_shows_fifty_numbers_a_page_and_jumps_to_a_number(app, issued, make_user):
    _numbers_up_to(120)
    make_user("viewer", "tam-duong", username="xem")
    client = _session(app, "xem")
    base = f"/decisions?issuer=tam-duong&year={YEAR}"
    first = _get(app, client, base).get_data(as_text=True)
    assert _shown(first) == list(range(1, 51))
    assert "120 số đã cấp" in first and "Trang 1 / 3" in first and 'rel="prev"' not in first
    assert f'href="/decisions?issuer=tam-duong&amp;year={YEAR}&amp;page=2" rel="next"' in first
    assert 'id="jump"' in first and 'name="number"' in first and 'max="120"' in first
    last = _get(app, client, base + "&page=3").get_data(as_text=True)
    assert _shown(last) == list(range(101, 121)) and "Trang 3 / 3" in last and 'rel="next"' not in last
    assert _shown(_get(app, client, base + "&page=9").get_data(as_text=True)) == list(range(101, 121))
    jump = _get(app, client, base + "&number=77")
    assert jump.status_code == 302
    assert jump.headers["Location"].endswith(f"/decisions?issuer=tam-duong&year={YEAR}&page=2#so-77")
    assert _shown(_get(app, client, base + "&page=2").get_data(as_text=True)) == list(range(51, 101))
    # The query-string rule (docs/security.md): out of range 400, not a whole number 422.
    for bad, status in (("&page=0", 400), ("&number=-3", 400), ("&page=abc", 422), ("&number=x", 422),
                        ("&number=²", 422)):
        assert _get(app, client, base + bad).status_code == status, bad
    # The XLSX stays whole.
    book = load_workbook(io.BytesIO(_get(app, client, f"/decisions.xlsx?issuer=tam-duong&year={YEAR}").data))
    assert [row[0].value for row in book[SHEET_TITLE].iter_rows(min_row=3)] == list(range(1, 121))


def test_a_page_costs_the_same_statements_on_a_long_register(app, issued, make_user):
    make_user("viewer", "tam-duong", username="xem")
    client = _session(app, "xem")
    url = f"/decisions?issuer=tam-duong&year={YEAR}"

    def count(page: int) -> int:
        db.session.remove()
        with statements() as seen:
            assert _get(app, client, f"{url}&page={page}").status_code == 200
        return len(seen)

    short = count(1)
    _numbers_up_to(400)
    assert count(1) == short  # 4 numbers or 400: the first page reads the same
    assert count(5) <= short  # numbers 201..250 (rows without dossiers: fewer to load)


def test_gaps_reads_the_numbers_only_when_count_and_max_disagree(app, issued):
    district = find_unit("tam-duong")
    with statements() as seen:
        assert gaps(district, YEAR) == []
    assert len([s for s in seen if "FROM decisions" in s]) == 1  # count, min and max agree with 1..n
    rows = _db_rows()
    rows[0].number = 0  # four numbers 0, 2, 3, 4: count 4 = max 4, yet 1 is missing
    db.session.commit()
    assert gaps(district, YEAR) == [1]
    rows[0].number = 1
    rows[2].number = 9
    db.session.commit()
    with statements() as seen:
        assert gaps(district, YEAR) == [3, 5, 6, 7, 8]
    assert len([s for s in seen if "FROM decisions" in s]) == 2  # then the numbers


def test_the_api_pages_the_register_on_request_and_is_whole_without(app, issued):
    approver, _ = issued
    url = f"/api/v1/decisions?issuer=tam-duong&year={YEAR}"
    whole = approver.get(url).json
    assert [i["number"] for i in whole["items"]] == [1, 2, 3, 4] and whole["next"] is None
    seen, nxt = [], f"{url}&limit=3"
    while nxt:
        page = approver.get(nxt.replace("http://localhost", ""))
        assert page.status_code == 200, page.json
        seen.append([i["number"] for i in page.json["items"]])
        nxt = page.json["next"]
    assert seen == [[1, 2, 3], [4]]
    assert [i["number"] for i in approver.get(f"{url}&after=2").json["items"]] == [3, 4]
    assert approver.get(f"{url}&after=2").json["items"] == whole["items"][2:]
    for bad in ("&limit=0", "&limit=1001", "&after=-1", "&limit=x"):
        assert approver.get(url + bad).status_code == 400, bad


def test_the_xlsx_is_read_in_batches(app, issued, monkeypatch):
    """Rows of a long register come EXPORT_BATCH numbers at a time, in order, none twice."""
    _numbers_up_to(23)
    monkeypatch.setattr(register, "EXPORT_BATCH", 5)
    with statements() as seen:
        rows = list(register.all_register_rows(find_unit("tam-duong"), YEAR))
    assert [r["number"] for r in rows] == list(range(1, 24))
    batches = [s for s in seen if "FROM decisions" in s and "ORDER BY decisions.number" in s]
    assert len(batches) == 6  # 5+5+5+5+3, then an empty read
