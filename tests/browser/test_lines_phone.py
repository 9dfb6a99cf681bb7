"""A commune officer's cement request on a phone (360×740): created from the "new
dossier" page, two works added through the form below the table (the second one put
first in the priority order), the table and the totals per village read back, and
the page never scrolls sideways; every control is a tap target of 44 px."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import PHONE, overflow, small_targets

pytestmark = [pytest.mark.browser, pytest.mark.db]

YEAR = "2023"  # a year of its own: the demo files na-tam's cement request for 2024


def test_lines_phone_cement_request_two_works_in_priority_order(web):
    page = web.new_page(PHONE)
    web.login(page, "canbo.natam")
    page.goto("/dossiers/new")
    page.select_option("#kind", "cement_request")
    page.select_option("#unit", "na-tam")
    page.select_option("#year", YEAR)
    web.submit(page, page.locator("main button[type=submit]"))
    expect(page.locator("#h-lines")).to_contain_text("Các dòng")
    expect(page.locator("#no-lines")).to_be_visible()

    def add(village: str, work: str, quantity: str, unit: str, tonnes: str, priority: str = "") -> None:
        form = page.locator("#add-line")
        form.locator("#line-village").select_option(village)
        form.locator("#line-work").fill(work)
        form.locator("#line-quantity").fill(quantity)
        form.locator("#line-unit_of_measure").select_option(unit)
        form.locator("#line-cement_tonnes").fill(tonnes)
        form.locator("#line-priority").fill(priority)
        web.submit(page, form.get_by_role("button", name="Thêm dòng"))
        expect(page.locator(".flash").first).to_have_text("Đã thêm một dòng.")

    add("na-tam-01", "Đường bê tông nội bản", "1.250", "m", "12,5")
    add("na-tam-02", "Kênh mương nội đồng", "30,5", "m3", "7", priority="1")

    rows = page.locator("#lines-table tbody tr")
    expect(rows).to_have_count(2)
    # On a phone each line is a card: its cells under their column's name.
    first = rows.nth(0)
    expect(first.locator("td[data-label='Công trình']")).to_have_text("Kênh mương nội đồng")
    expect(first.locator("td[data-label='Thứ tự ưu tiên']")).to_have_text("1")
    expect(first.locator("td[data-label='Đơn vị tính']")).to_have_text("m³")
    second = rows.nth(1)
    expect(second.locator("td[data-label='Công trình']")).to_have_text("Đường bê tông nội bản")
    expect(second.locator("td[data-label='Thứ tự ưu tiên']")).to_have_text("2")
    expect(second.locator("td[data-label='Khối lượng (chiều dài hoặc thể tích)']")).to_have_text("1.250")
    assert page.locator("#lines-table thead").evaluate("e => e.getBoundingClientRect().height") <= 1
    totals = page.locator("#totals-table tbody tr")
    expect(totals).to_have_count(3)
    expect(totals.nth(0)).to_contain_text("Bản 02 (Nà Tăm)")
    expect(totals.nth(0)).to_contain_text("7")
    expect(totals.nth(1)).to_contain_text("12,5")
    expect(totals.nth(2)).to_contain_text("Cộng")
    expect(totals.nth(2)).to_contain_text("19,5")

    assert overflow(page) is None, f"the page scrolls sideways by {overflow(page)} px at 360"
    assert small_targets(page) == []
    web.shot(page, "cement-request")

    # A refused line on the phone: the message at its cell, what was typed kept.
    form = page.locator("#add-line")
    form.locator("#line-village").select_option("na-tam-03")
    form.locator("#line-work").fill("Cầu tràn")
    form.locator("#line-quantity").fill("12")
    form.locator("#line-unit_of_measure").select_option("m")
    form.locator("#line-cement_tonnes").fill("0")
    web.submit(page, form.get_by_role("button", name="Thêm dòng"))
    expect(page.locator("#line-cement_tonnes-error")).to_contain_text("phải lớn hơn 0")
    expect(page.locator("#line-work")).to_have_value("Cầu tràn")
    expect(page.locator("#lines-table tbody tr")).to_have_count(2)
    assert overflow(page) is None
    web.assert_guards()


def test_lines_phone_province_summary_of_cement_requests(web):
    """The province's finance department reads the communes' cement requests of 2026 on a
    phone: every new commune a row (Tả Lèng's tonnes asked and granted), the table scrolls
    inside its box, the page never sideways, and the PDF to sign is a real PDF."""
    page = web.new_page(PHONE)
    web.login(page, "taichinh.tinh")
    page.goto("/summaries/cement_request?issuer=lai-chau&year=2026")
    table = page.locator("#summary")
    expect(table).to_contain_text("Xã Tả Lèng")
    expect(table).to_contain_text("Xã Bản Bo")
    expect(page.locator("#about")).to_contain_text("15/04/2026")
    assert overflow(page) is None, f"the page scrolls sideways by {overflow(page)} px at 360"
    web.shot(page, "cement-summary")
    pdf = page.request.get(page.locator("#pdf").get_attribute("href"))
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF-")
    web.assert_guards()
