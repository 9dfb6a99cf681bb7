"""The pages of a dossier made of lines (funding_plan, cement_request): the table and
its totals on the dossier page, the add / edit / remove forms (each refused cell next
to its input, what was typed kept, nothing saved), the Excel template and import (all
or nothing, every row's problem named), earlier versions read only, and the
acceptance that grants per line."""
from __future__ import annotations

import html
import re
from datetime import date, datetime
from io import BytesIO

import pytest
from openpyxl import Workbook, load_workbook
from test_forms_keep_input import assert_flagged, control, page_of, selected, value
from test_web_input import fingerprint, sign_in

from workflow_app.extensions import db
from workflow_app.models import Dossier
from workflow_app.services import create_dossier, fire_event
from workflow_app.services.core.lines import add_line

pytestmark = pytest.mark.db

YEAR = 2025


@pytest.fixture
def people(app, make_user):
    class People:
        preparer = make_user("preparer", "na-tam")
        submitter = make_user("submitter", "na-tam")
        appraiser = make_user("appraiser", "tam-duong")
    return People


def cement(people) -> Dossier:
    dossier = create_dossier(people.preparer, "cement_request", "na-tam", YEAR)
    db.session.commit()
    return dossier


def fresh(dossier_id: int) -> Dossier:
    db.session.expire_all()
    return db.session.get(Dossier, dossier_id)


def line_form(dossier: Dossier, **cells) -> dict:
    form = {"version": str(dossier.version)}
    form.update({f"line-{k}": v for k, v in cells.items()})
    return form


GOOD = {"village": "na-tam-01", "work": "Đường bê tông nội bản", "quantity": "1.250", "unit_of_measure": "m",
        "cement_tonnes": "12,5", "priority": "", "households": "40"}


def visible(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", text))


def table_rows(text: str, ident: str) -> list[list[str]]:
    table = re.search(rf'<table[^>]*id="{ident}".*?</table>', text, re.DOTALL).group(0)
    body = table.split("<tbody>")[1]
    return [[" ".join(visible(td).split()) for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.DOTALL)]
            for tr in re.findall(r"<tr[^>]*>(.*?)</tr>", body, re.DOTALL)]


# --------------------------------------------------------------------------- creating

def test_commune_users_create_lines_dossiers_from_the_new_page(app, people):
    client = sign_in(app, people.preparer)
    text = page_of(client.get("/dossiers/new"), 200)
    options = dict(re.findall(r'<option[^>]*value="([^"]*)"[^>]*>([^<]*)<', control(text, "kind")))
    assert options.get("cement_request") == "Đăng ký nhu cầu xi măng"
    assert options.get("funding_plan") == "Kế hoạch sử dụng vốn nông thôn mới"
    r = client.post("/dossiers/new", data={"kind": "cement_request", "unit": "na-tam", "year": str(YEAR)})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    page = page_of(client.get(r.headers["Location"]), 200)
    assert 'id="h-lines"' in page and "Chưa có dòng nào." in page
    assert 'id="h-criteria"' not in page  # no checklist of criteria for a table of lines
    assert 'id="add-line"' in page and 'id="template-link"' in page
    # The unit column offers the commune's villages, alive today; the choice column its labels.
    villages = dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]*)<', control(page, "line-village")))
    assert villages["na-tam-01"] == "Bản 01 (Nà Tăm)" and all(code.startswith("na-tam-") for code in villages)
    assert "m³" in control(page, "line-unit_of_measure")
    assert 'inputmode="decimal"' in control(page, "line-cement_tonnes")


# --------------------------------------------------------------------------- the forms

def test_add_lines_in_vietnamese_numbers_priority_order_and_totals(app, people):
    dossier = cement(people)
    client = sign_in(app, people.preparer)
    r = client.post(f"/dossiers/{dossier.id}/lines", data=line_form(dossier, **GOOD))
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    first = fresh(dossier.id).current_lines()[0]
    assert first.values["quantity"] == 1250 and first.values["cement_tonnes"] == 12.5
    assert first.values["households"] == 40 and first.values["priority"] == 1
    # A second line asks to go first: the first one moves down.
    d = fresh(dossier.id)
    r = client.post(f"/dossiers/{dossier.id}/lines",
                    data=line_form(d, **{**GOOD, "village": "na-tam-02", "work": "Kênh mương", "cement_tonnes": "7",
                                         "priority": "1", "unit_of_measure": "m3", "quantity": "30,5"}))
    assert r.status_code == 302
    page = page_of(client.get(f"/dossiers/{dossier.id}"), 200)
    rows = table_rows(page, "lines-table")
    assert [row[1] for row in rows] == ["Kênh mương", "Đường bê tông nội bản"]
    assert rows[0][:6] == ["Bản 02 (Nà Tăm)", "Kênh mương", "30,5", "m³", "7", "1"]
    assert rows[1][:6] == ["Bản 01 (Nà Tăm)", "Đường bê tông nội bản", "1.250", "m (mét dài)", "12,5", "2"]
    totals = table_rows(page, "totals-table")
    assert totals == [["Bản 02 (Nà Tăm)", "7"], ["Bản 01 (Nà Tăm)", "12,5"], ["Cộng", "19,5"]]
    assert "Được cấp" not in visible(page)  # nothing granted yet


def test_refused_cells_are_named_next_to_their_inputs_and_kept(app, people):
    dossier = cement(people)
    client = sign_in(app, people.preparer)
    before = fingerprint()
    bad = {**GOOD, "village": "son-binh-01", "work": "", "cement_tonnes": "0", "quantity": "mười", "households": "-2"}
    text = page_of(client.post(f"/dossiers/{dossier.id}/lines", data=line_form(dossier, **bad)), 422)
    assert fingerprint() == before
    assert_flagged(text, "line-work", "Chưa nhập 'Công trình'")
    assert_flagged(text, "line-cement_tonnes", "phải lớn hơn 0")
    assert_flagged(text, "line-quantity", "phải là số")
    assert_flagged(text, "line-households", "phải từ 0")
    assert_flagged(text, "line-village", "Hãy chọn trong danh sách")
    assert value(text, "line-cement_tonnes") == "0" and value(text, "line-quantity") == "mười"
    assert value(text, "line-households") == "-2" and selected(text, "line-unit_of_measure") == "m"
    assert 'aria-invalid' not in control(text, "line-unit_of_measure")


def test_a_stale_version_is_409_with_the_values_kept(app, people):
    dossier = cement(people)
    seen = line_form(dossier, **GOOD)
    add_line(people.submitter, dossier, {"village": "na-tam-03", "work": "Cầu tràn", "quantity": 12,
                                         "unit_of_measure": "m", "cement_tonnes": 3})
    db.session.commit()
    client = sign_in(app, people.preparer)
    before = fingerprint()
    text = page_of(client.post(f"/dossiers/{dossier.id}/lines", data={**seen, "line-work": "Sân nhà văn hoá"}), 409)
    assert fingerprint() == before
    assert value(text, "line-work") == "Sân nhà văn hoá" and value(text, "line-cement_tonnes") == "12,5"
    assert f'name="version" value="{fresh(dossier.id).version}"' in text  # sending again saves it


def test_edit_and_remove_a_line_on_its_page(app, people):
    dossier = cement(people)
    a = add_line(people.preparer, dossier, {"village": "na-tam-01", "work": "A", "quantity": 10,
                                            "unit_of_measure": "m", "cement_tonnes": 2.5})
    b = add_line(people.preparer, dossier, {"village": "na-tam-02", "work": "B", "quantity": 10,
                                            "unit_of_measure": "m", "cement_tonnes": 4})
    db.session.commit()
    client = sign_in(app, people.preparer)
    url = f"/dossiers/{dossier.id}/lines/{a.id}"
    text = page_of(client.get(url), 200)
    assert value(text, "line-work") == "A" and value(text, "line-cement_tonnes") == "2,5"
    assert selected(text, "line-village") == "na-tam-01"
    # A refused edit: the message at the cell, what was typed kept, nothing saved.
    form = {"version": str(fresh(dossier.id).version), "line-work": "A mới", "line-cement_tonnes": "-1",
            "line-priority": "2"}
    text = page_of(client.post(url, data=form), 422)
    assert_flagged(text, "line-cement_tonnes", "phải lớn hơn 0")
    assert value(text, "line-work") == "A mới"
    assert fresh(dossier.id).current_lines()[0].values["work"] == "A"
    r = client.post(url, data={**form, "line-cement_tonnes": "3,75"})
    assert r.status_code == 302
    got = {ln.values["work"]: ln.values for ln in fresh(dossier.id).current_lines()}
    assert got["A mới"]["cement_tonnes"] == 3.75 and got["A mới"]["priority"] == 2 and got["B"]["priority"] == 1
    # Removing asks for the confirmation box.
    remove = f"/dossiers/{dossier.id}/lines/{b.id}/remove"
    text = page_of(client.post(remove, data={"version": str(fresh(dossier.id).version)}), 422)
    assert_flagged(text, "remove-confirm", "Tôi xác nhận xoá dòng này")
    assert len(fresh(dossier.id).current_lines()) == 2
    r = client.post(remove, data={"version": str(fresh(dossier.id).version), "confirm": "y"})
    assert r.status_code == 302
    left = fresh(dossier.id).current_lines()
    assert [(ln.values["work"], ln.values["priority"]) for ln in left] == [("A mới", 1)]
    # Someone of another unit, or an appraiser, gets no form.
    assert sign_in(app, people.appraiser).get(url).status_code == 403


def test_funding_plan_money_choices_and_totals_per_source(app, people):
    plan = create_dossier(people.submitter, "funding_plan", "na-tam", YEAR)
    db.session.commit()
    client = sign_in(app, people.submitter)
    for item, source, amount in (("Nhà văn hoá", "province", "1.250.000.000"), ("Đường nội đồng", "people", "75000000"),
                                 ("Sân thể thao", "province", "250.000.000")):
        r = client.post(f"/dossiers/{plan.id}/lines",
                        data=line_form(fresh(plan.id), item=item, village="", source=source, amount_vnd=amount,
                                       starts_on="2025-03-01", ends_on="2025-09-30"))
        assert r.status_code == 302, r.get_data(as_text=True)[:600]
    assert sorted(ln.values["amount_vnd"] for ln in fresh(plan.id).current_lines()) == \
        [75_000_000, 250_000_000, 1_250_000_000]
    page = page_of(client.get(f"/dossiers/{plan.id}"), 200)
    rows = table_rows(page, "lines-table")
    assert rows[0][:6] == ["Nhà văn hoá", "—", "Ngân sách tỉnh", "1.250.000.000 đ", "01/03/2025", "30/09/2025"]
    assert table_rows(page, "totals-table") == [["Ngân sách tỉnh", "1.500.000.000 đ"],
                                                ["Nhân dân đóng góp", "75.000.000 đ"], ["Cộng", "1.575.000.000 đ"]]
    assert 'type="date"' in control(page, "line-starts_on")
    # The end before the start: said at the end date.
    text = page_of(client.post(f"/dossiers/{plan.id}/lines",
                               data=line_form(fresh(plan.id), item="X", source="central", amount_vnd="1.000",
                                              starts_on="2025-05-01", ends_on="2025-04-01")), 422)
    assert_flagged(text, "line-ends_on", "không được trước 'Ngày bắt đầu'")
    assert value(text, "line-amount_vnd") == "1.000"


# --------------------------------------------------------------------------- Excel

def workbook(rows: list[list], header: list[str]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(client, dossier: Dossier, data: bytes, name: str = "bang.xlsx"):
    return client.post(f"/dossiers/{dossier.id}/lines/import", content_type="multipart/form-data",
                       data={"version": str(dossier.version), "file": (BytesIO(data), name)})


PLAN_HEADER = ["STT", "Dự án, hạng mục", "Thôn, bản", "Nguồn vốn", "Số tiền (đồng)", "Ngày bắt đầu", "ends_on"]


def test_import_a_workbook_by_labels_and_names_with_vietnamese_cells(app, people):
    plan = create_dossier(people.submitter, "funding_plan", "na-tam", YEAR)
    add_line(people.submitter, plan, {"item": "cũ", "source": "central", "amount_vnd": 5})
    db.session.commit()
    client = sign_in(app, people.submitter)
    data = workbook([
        [1, "Nhà văn hoá", "Bản 01 (Nà Tăm)", "Ngân sách tỉnh", "1.250.000", datetime(2025, 3, 1), "30/09/2025"],
        [None, None, None, None, None, None, None],  # a blank row is left out
        [2, "Đường nội đồng", "na-tam-02", "people", 75000000, "2025-04-01", date(2025, 10, 1)],
    ], PLAN_HEADER)
    r = upload(client, fresh(plan.id), data)
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    got = [ln.values for ln in fresh(plan.id).current_lines()]
    assert got == [
        {"item": "Nhà văn hoá", "village": "na-tam-01", "source": "province", "amount_vnd": 1_250_000,
         "starts_on": "2025-03-01", "ends_on": "2025-09-30"},
        {"item": "Đường nội đồng", "village": "na-tam-02", "source": "people", "amount_vnd": 75_000_000,
         "starts_on": "2025-04-01", "ends_on": "2025-10-01"}]


def test_a_bad_workbook_names_each_row_and_column_and_changes_nothing(app, people):
    plan = create_dossier(people.submitter, "funding_plan", "na-tam", YEAR)
    add_line(people.submitter, plan, {"item": "cũ", "source": "central", "amount_vnd": 5})
    db.session.commit()
    client = sign_in(app, people.submitter)
    data = workbook([
        [1, "Tốt", None, "Ngân sách tỉnh", "1.000", None, None],
        [2, "", "son-binh-01", "Ngân sách tỉnh", "một triệu", None, None],
        [3, "Ngày sai", None, "Vàng bạc", 10, "31/02/2025", None],
    ], PLAN_HEADER)
    before = fingerprint()
    text = page_of(upload(client, fresh(plan.id), data), 422)
    assert fingerprint() == before
    problems = [" ".join(visible(li).split()) for li in
                re.findall(r"<li>(.*?)</li>", re.search(r'id="import-problems">(.*?)</ul>', text, re.DOTALL).group(1))]
    assert "Dòng 3: Chưa nhập 'Dự án, hạng mục'." in problems
    assert any(p.startswith("Dòng 3: 'Thôn, bản': không có đơn vị mã 'son-binh-01'") for p in problems)
    assert "Dòng 3: 'Số tiền (đồng)' phải là số." in problems
    assert any(p.startswith("Dòng 4: 'Nguồn vốn' phải là một trong") for p in problems)
    assert any(p.startswith("Dòng 4: 'Ngày bắt đầu' phải là một ngày có thật") for p in problems)
    assert not any(p.startswith("Dòng 2") for p in problems)
    # Not a workbook: 415, said at the file input; an unknown column: 422 naming it.
    text = page_of(upload(client, fresh(plan.id), b"%PDF-1.4 not a table", "bang.pdf"), 415)
    assert_flagged(text, "import-file", "")
    text = page_of(upload(client, fresh(plan.id), b"PK\x03\x04 broken", "bang.xlsx"), 422)
    text = page_of(upload(client, fresh(plan.id), workbook([["x", 1]], ["Dự án, hạng mục", "Màu sắc"])), 422)
    assert "không có cột 'màu sắc'" in visible(text)
    text = page_of(upload(client, fresh(plan.id), workbook([[1]], ["Số tiền (đồng)"])), 422)
    assert "Tệp thiếu cột bắt buộc: 'Dự án, hạng mục', 'Nguồn vốn'." in visible(text)
    assert fingerprint() == before


def test_the_template_opens_in_excel_and_comes_back_filled(app, people):
    dossier = cement(people)
    client = sign_in(app, people.preparer)
    r = client.get(f"/dossiers/{dossier.id}/lines/template.xlsx")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in r.headers["Content-Disposition"]
    wb = load_workbook(BytesIO(r.data))
    ws = wb["Các dòng"]
    labels = [c.value for c in ws[1]]
    assert labels == ["Thôn, bản", "Công trình", "Khối lượng (chiều dài hoặc thể tích)", "Đơn vị tính",
                      "Xi măng (tấn)", "Thứ tự ưu tiên", "Số hộ góp công"]
    assert [c.value for c in ws[2]] == ["village", "work", "quantity", "unit_of_measure", "cement_tonnes",
                                        "priority", "households"]
    assert ws.row_dimensions[2].hidden
    lists = wb["Danh mục"]
    assert lists.sheet_state == "hidden"
    by_column = {str(v.sqref).split(":")[0][0]: v.formula1 for v in ws.data_validations.dataValidation}
    assert set(by_column) == {"A", "D"}  # the village and the unit of measure
    villages = [c.value for c in next(col for col in lists.iter_cols() if col[0].value == "Thôn, bản")[1:]]
    assert "Bản 01 (Nà Tăm)" in villages and all("Nà Tăm" in v for v in villages)
    units = [c.value for c in next(col for col in lists.iter_cols() if col[0].value == "Đơn vị tính")[1:] if c.value]
    assert units == ["m (mét dài)", "km", "m²", "m³"]
    guide = wb["Hướng dẫn"]
    rows = {r[1]: r for r in guide.iter_rows(min_row=5, values_only=True)}
    assert rows["cement_tonnes"][2] == "Có" and "lớn hơn 0" in rows["cement_tonnes"][3]
    assert "m³" in rows["unit_of_measure"][3]
    # Filled in as a commune does (a drop-down's name, text numbers) and imported.
    ws.append(["Bản 02 (Nà Tăm)", "Đường bê tông", "1.200", "m", "15,5", 2, 30])
    ws.append(["Bản 01 (Nà Tăm)", "Kênh mương", 40, "m³", 4, 1, None])
    out = BytesIO()
    wb.save(out)
    r = upload(client, fresh(dossier.id), out.getvalue(), "mau-da-dien.xlsx")
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    got = sorted((ln.values["priority"], ln.values["work"], ln.values["village"], ln.values["cement_tonnes"])
                 for ln in fresh(dossier.id).current_lines())
    assert got == [(1, "Kênh mương", "na-tam-01", 4), (2, "Đường bê tông", "na-tam-02", 15.5)]
    assert fresh(dossier.id).current_lines()[0].values["quantity"] == 1200


# --------------------------------------------------------------------------- rounds, events

def test_an_earlier_version_is_read_only_with_what_became_of_it(app, people):
    plan = create_dossier(people.submitter, "funding_plan", "na-tam", YEAR)
    add_line(people.submitter, plan, {"item": "Nhà văn hoá", "source": "central", "amount_vnd": 100_000_000})
    fire_event(people.submitter, plan, "submit")
    fire_event(people.appraiser, plan, "accept")
    fire_event(people.submitter, plan, "amend", "Bổ sung hạng mục")
    db.session.commit()
    client = sign_in(app, people.submitter)
    # The new version is a draft again, editable; the accepted one is linked.
    page = page_of(client.get(f"/dossiers/{plan.id}"), 200)
    assert 'id="add-line"' in page and f'href="/dossiers/{plan.id}?round=1#lines"' in page
    assert "Phiên bản 1 (đã chấp nhận; Điều chỉnh kế hoạch (lập phiên bản mới)" in visible(page)
    old = page_of(client.get(f"/dossiers/{plan.id}?round=1"), 200)
    banner = " ".join(visible(re.search(r'id="round-banner">(.*?)</p>', old, re.DOTALL).group(1)).split())
    assert banner.startswith("Phiên bản 1 (đã chấp nhận;") and "chỉ xem; phiên bản hiện tại là 2" in banner
    assert 'id="add-line"' not in old and "/lines/" not in old and 'name="event"' not in old
    assert table_rows(old, "lines-table")[0][:4] == ["Nhà văn hoá", "—", "Ngân sách trung ương", "100.000.000 đ"]
    assert client.get(f"/dossiers/{plan.id}?round=7").status_code == 404


def test_accept_grants_per_line_and_return_needs_a_reason(app, people):
    dossier = cement(people)
    a = add_line(people.preparer, dossier, {"village": "na-tam-01", "work": "A", "quantity": 10,
                                            "unit_of_measure": "m", "cement_tonnes": 12.5})
    b = add_line(people.preparer, dossier, {"village": "na-tam-02", "work": "B", "quantity": 10,
                                            "unit_of_measure": "m", "cement_tonnes": 4})
    fire_event(people.submitter, dossier, "submit")
    db.session.commit()
    client = sign_in(app, people.appraiser)
    page = page_of(client.get(f"/dossiers/{dossier.id}"), 200)
    assert value(page, f"granted-{a.id}") == "12,5" and value(page, f"granted-{b.id}") == "4"
    assert 'id="add-line"' not in page
    # A return without a reason: said at the reason.
    form = {"event": "return", "version": str(dossier.version), "comment": "", "confirm": "y"}
    text = page_of(client.post(f"/dossiers/{dossier.id}/events", data=form), 422)
    assert 'aria-invalid="true"' in control(text, "comment-return")
    # A granted amount that is not a number: at its input, the others kept.
    before = fingerprint()
    form = {"event": "accept", "version": str(dossier.version), "confirm": "y",
            f"granted-{a.id}": "mười", f"granted-{b.id}": "3,5"}
    text = page_of(client.post(f"/dossiers/{dossier.id}/events", data=form), 422)
    assert_flagged(text, f"granted-{a.id}", "phải là số")
    assert value(text, f"granted-{b.id}") == "3,5"
    # More than asked: the service refuses, nothing granted.
    text = page_of(client.post(f"/dossiers/{dossier.id}/events", data={**form, f"granted-{a.id}": "13"}), 422)
    assert "từ 0 đến 12,5" in visible(text)
    assert fingerprint() == before
    r = client.post(f"/dossiers/{dossier.id}/events", data={**form, f"granted-{a.id}": "10"})
    assert r.status_code == 302, r.get_data(as_text=True)[:800]
    assert {ln.values["work"]: ln.granted for ln in fresh(dossier.id).current_lines()} == {"A": 10, "B": 3.5}
    page = page_of(client.get(f"/dossiers/{dossier.id}"), 200)
    assert "Chấp nhận một phần" in visible(page)
    assert [row[-1] for row in table_rows(page, "lines-table")] == ["10", "3,5"]
    assert table_rows(page, "totals-table")[-1] == ["Cộng", "16,5", "13,5"]


def test_a_dossier_of_criteria_keeps_its_checklist_and_has_no_table(app, people, make_user):
    village = create_dossier(make_user("preparer", "na-tam-01"), "village_ntm", "na-tam-01", YEAR)
    db.session.commit()
    page = page_of(sign_in(app, people.submitter).get(f"/dossiers/{village.id}"), 200)
    assert 'id="h-criteria"' in page and 'href="#h-criteria"' in page
    assert 'id="h-lines"' not in page and "granted-" not in page
