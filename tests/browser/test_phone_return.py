"""The village head's road on a phone (360×740): a returned dossier opens with
the return's reasons on the first screen, as the appraiser wrote them; the
village head follows the link to the failed criterion, replaces the wrong file
(a refused file is explained at its form first) and the commune officer
resubmits; the appraiser then sees which criteria to appraise again."""
from __future__ import annotations

import pytest
from helpers import PDF
from playwright.sync_api import expect

from workflow_app.extensions import db
from workflow_app.models import User
from workflow_app.services import (
    appraise_criterion,
    attach_evidence,
    create_dossier,
    fire_event,
    self_assess,
)

from .conftest import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.db]

YEAR = 2022  # a free slot of na-tam-01 (the demo's is 2024, other browser tests take 2023 and 2025)
NOTE = "Danh sách lao động chưa có xác nhận của UBND xã."
REASONS = ("Đề nghị bổ sung:\n- Danh sách lao động có việc làm có xác nhận của UBND xã (tiêu chí 7).\n"
           "- Ảnh chụp hiện trạng nhà văn hóa bản.")


def _returned() -> tuple[int, str]:
    """Set-up through the services: na-tam-01's dossier, submitted by the commune,
    criterion 7 failed by the district's appraiser with a note, returned."""
    user = {u.username: u for u in db.session.execute(db.select(User)).scalars()}
    head, officer, appraiser = user["truongban"], user["canbo.natam"], user["thamdinh"]
    dossier = create_dossier(head, "village_ntm", "na-tam-01", YEAR)
    for entry in list(dossier.current_criteria()):
        attach_evidence(head, dossier, f"minh-chung-{entry.code}.pdf", PDF, entry.code)
        self_assess(head, dossier, entry.code, "met", None)
    fire_event(officer, dossier, "submit")
    for entry in list(dossier.current_criteria()):
        appraise_criterion(appraiser, dossier, entry.code, "fail" if entry.code == "7" else "pass",
                           NOTE if entry.code == "7" else None)
    fire_event(appraiser, dossier, "return", REASONS)
    return dossier.id, dossier.code


def test_phone_return_reasons_first_fix_and_resubmit(web, live_server):
    dossier_id, _ = live_server.run(_returned)
    url = f"/dossiers/{dossier_id}"

    # The village head opens the returned dossier on a phone.
    page = web.new_page(PHONE)
    web.login(page, "truongban")
    page.goto(url)
    expect(page.locator("#state")).to_have_text("Trả lại để bổ sung")
    letter = page.locator("#return-letter")
    expect(letter).to_be_visible()
    assert page.evaluate("window.scrollY") == 0
    box = letter.bounding_box()
    assert box is not None and box["y"] < PHONE["height"], f"the reasons start at {box['y']} px"
    body = letter.locator(".letter-body")
    assert body.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-line"
    assert body.inner_text().splitlines() == REASONS.splitlines()  # the line breaks as written
    expect(letter).to_contain_text(NOTE)
    # No sideways scroll on the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    web.shot(page, "returned")

    # The failed criterion's link leads to its row, where the note shows too.
    letter.get_by_role("link", name="Tiêu chí 7.", exact=False).click()
    page.wait_for_url(f"**{url}#c-7")
    row = page.locator("#c-7")
    expect(row).to_contain_text("Vòng 1:")
    expect(row).to_contain_text(NOTE)
    expect(row.locator(".prev-verdict")).to_be_in_viewport()

    # A wrong file type is refused at the replace form, which stays open and says what is accepted.
    item = row.locator("ul.evidence li").first
    item.locator("summary").click()
    text_file = web.tmp / "ghi-chu.txt"
    text_file.write_text("ghi chú")
    item.locator("input[type=file]").set_input_files(text_file)
    web.submit(page, item.get_by_role("button", name="Thay tệp"))
    refused = page.locator("#c-7 #upload-error")
    expect(refused).to_contain_text("Chỉ nhận:")
    expect(page.locator("#c-7 details.replace[open]")).to_have_count(1)
    expect(page.locator("#c-7 ul.evidence")).to_contain_text("minh-chung-7.pdf")

    # The right file replaces the old one; the old one stays listed as removed.
    item = page.locator("#c-7 ul.evidence li").first
    item.locator("input[type=file]").set_input_files(web.pdf("ds-lao-dong-co-xac-nhan.pdf", "Danh sach lao dong"))
    web.submit(page, item.get_by_role("button", name="Thay tệp"))
    expect(page.locator(".flash").first).to_have_text("Đã thay tệp minh chứng bằng ds-lao-dong-co-xac-nhan.pdf.")
    row = page.locator("#c-7")
    expect(row.locator("ul.evidence").get_by_role("link", name="ds-lao-dong-co-xac-nhan.pdf")).to_be_visible()
    expect(row.locator(".removed")).to_contain_text("minh-chung-7.pdf")
    expect(page.locator("#h-history").locator("xpath=..")).to_contain_text("Gỡ minh chứng")
    web.shot(page, "replaced")
    web.logout(page)

    # The commune officer resubmits from the same phone.
    web.login(page, "canbo.natam")
    page.goto(url)
    expect(page.locator("#return-letter")).to_be_visible()
    web.fire(page, "submit", "Đã bổ sung danh sách lao động có xác nhận của UBND xã.")
    expect(page.locator("#state")).to_have_text("Đã nộp")
    web.logout(page)

    # The appraiser sees the criterion to appraise again, and what was asked.
    web.login(page, "thamdinh")
    page.goto(url)
    marked = page.locator("div.crit:has(h3 .badge.again)")
    expect(marked).to_have_count(1)
    assert marked.get_attribute("id") == "c-7"
    expect(page.locator("#return-letter")).to_contain_text("Lần trả lại gần nhất (vòng 1)")
    page.goto(f"{url}/appraisal")
    expect(page.get_by_role("link", name="ds-lao-dong-co-xac-nhan.pdf")).to_be_visible()
    web.assert_guards()
