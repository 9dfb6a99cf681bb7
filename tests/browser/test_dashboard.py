"""The progress dashboard and the monthly report in a real browser, on the demo
district: the SVG charts are drawn and visible, the figures are those of the
service, the downloads open, and no page asks another host for anything (the
PageGuard also holds every page under 200 KB)."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from workflow_app.services.core.users import find_user
from workflow_app.services.reporting.dashboard import dashboard
from workflow_app.services.reporting.progress_export import DASHBOARD_SHEETS, MONTHLY_SHEETS

pytestmark = [pytest.mark.browser, pytest.mark.db]

DESKTOP = {"width": 1280, "height": 900}


def _figures(username: str, year: int) -> dict:
    dash = dashboard(find_user(username), year)
    return {"communes": {c.code: (c.with_dossier, c.recognized) for c in dash.communes},
            "criteria": len(dash.criteria), "weakest": dash.criteria[0].code, "total": dash.total.with_dossier}


def test_dashboard_renders_its_charts_without_external_requests(web, live_server):
    page = web.new_page(DESKTOP)
    page.goto("/login")
    web.login(page, "xem")
    page.get_by_role("link", name="Tiến độ").click()
    page.wait_for_url("**/dashboard")
    page.goto("/dashboard?year=2024&kind=village_ntm")
    expect(page.locator("h1")).to_have_text("Tiến độ xây dựng nông thôn mới năm 2024")

    want = live_server.run(_figures, "xem", 2024)
    states_chart = page.locator("svg#chart-states")
    criteria_chart = page.locator("svg#chart-criteria")
    for chart in (states_chart, criteria_chart):
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box["width"] > 300 and box["height"] > 100
        assert chart.locator("title").first.text_content()
    assert states_chart.locator("g.row").count() == len(want["communes"]) == 12
    assert states_chart.locator("rect[width]").count() > 0
    assert criteria_chart.locator("g.row").count() == want["criteria"] == 14
    # The figures on the page are the service's.
    na_tam = page.locator("#xa-na-tam")
    expect(na_tam.locator('td[data-state="recognized"]')).to_have_text(str(want["communes"]["na-tam"][1]))
    expect(page.locator("#criteria tbody tr").first).to_have_id(f"tc-{want['weakest']}")
    expect(page.locator("#glance")).to_contain_text("3/9")
    web.shot(page, "desktop")

    with page.expect_download() as info:
        page.locator("#xlsx").click()
    wb = load_workbook(io.BytesIO(info.value.path().read_bytes()))
    assert tuple(wb.sheetnames) == DASHBOARD_SHEETS

    phone = web.new_page()
    phone.goto("/login")
    web.login(phone, "xem")
    phone.goto("/dashboard?year=2024")
    expect(phone.locator("svg#chart-states")).to_be_visible()
    web.shot(phone, "phone")
    web.assert_guards()


def test_dashboard_monthly_report_downloads(web, live_server):
    page = web.new_page(DESKTOP)
    page.goto("/login")
    web.login(page, "xem")
    page.goto("/dashboard?year=2024")
    page.locator("#monthly").click()
    page.wait_for_url("**/reports/monthly")
    expect(page.locator("h1")).to_contain_text("Báo cáo tiến độ xây dựng nông thôn mới tháng")
    expect(page.locator("#summary table").first).to_be_visible()
    expect(page.locator("#reports-summary")).to_contain_text("Đã nhận")
    web.shot(page, "monthly")
    with page.expect_download() as info:
        page.locator("#xlsx").click()
    assert tuple(load_workbook(io.BytesIO(info.value.path().read_bytes())).sheetnames) == MONTHLY_SHEETS
    with page.expect_download() as info:
        page.locator("#pdf").click()
    assert info.value.path().read_bytes()[:5] == b"%PDF-"
    # A month that does not exist: a page that says what to enter, not an error trace.
    response = page.goto("/reports/monthly?month=2024-13")
    assert response.status == 400
    expect(page.locator("main")).to_contain_text("month=2024-09")
    web.assert_guards()


def test_dashboard_commune_officer_sees_own_commune(web, live_server):
    page = web.new_page()
    page.goto("/login")
    web.login(page, "canbo.natam")
    page.goto("/dashboard?year=2024")
    expect(page.locator("#communes tbody tr")).to_have_count(1)
    expect(page.locator("#xa-na-tam")).to_be_visible()
    web.shot(page, "commune")
    web.assert_guards()
