"""The whole road of a dossier, clicked through the pages on a phone-sized
window by the people who walk it, each signing in and out through the form."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.db]

YEAR = "2025"  # the demo district's dossiers are all 2024: a free slot


def _create(web, page, kind: str, unit: str) -> int:
    page.get_by_role("navigation").get_by_role("link", name="Tạo hồ sơ").click()
    page.wait_for_url("**/dossiers/new")
    page.select_option("select[name=kind]", kind)
    page.select_option("select[name=unit]", unit)
    page.select_option("select[name=year]", YEAR)
    web.submit(page, page.locator("main").get_by_role("button", name="Tạo hồ sơ"))
    assert re.search(r"/dossiers/\d+$", page.url), page.url
    expect(page.locator("#state")).to_have_text("Đang soạn")
    return int(page.url.rsplit("/", 1)[1])


def _criteria(page) -> list[str]:
    return [i.removeprefix("c-") for i in page.locator("div.crit[id^=c-]").evaluate_all("els => els.map(e => e.id)")]


def _upload(web, page, code: str, name: str) -> None:
    crit = page.locator(f"#c-{code}")
    crit.locator(f"#file-{code}").set_input_files(web.pdf(name, f"Minh chung tieu chi {code}: {name}"))
    web.submit(page, crit.get_by_role("button", name="Tải lên", exact=True))
    expect(page.locator(".flash")).to_have_text(f"Đã tải lên {name}.")
    expect(page.locator(f"#c-{code}").get_by_role("link", name=name)).to_be_visible()


def _self_assess_all(web, page) -> None:
    page.get_by_role("link", name="Tự đánh giá các tiêu chí").click()
    page.wait_for_url("**/self-assessment")
    web.shot(page, "self-assessment")
    for select in page.locator("select[name^=sa-]").all():
        select.select_option("met")
    page.fill("#note-1", "Đã có quy hoạch chi tiết được phê duyệt.")
    web.submit(page, page.get_by_role("button", name="Lưu tự đánh giá"))
    expect(page.locator(".flash")).to_have_text("Đã lưu tự đánh giá.")


def _appraise(web, page, verdicts: dict[str, tuple[str, str]], default: str | None = "pass",
              shot: str | None = None) -> None:
    page.get_by_role("link", name="Thẩm định các tiêu chí").click()
    page.wait_for_url("**/appraisal")
    if shot:
        web.shot(page, shot)
    for select in page.locator("select[name^=verdict-]").all():
        code = select.get_attribute("name").removeprefix("verdict-")
        if code in verdicts:
            verdict, note = verdicts[code]
            select.select_option(verdict)
            page.fill(f"#note-{code}", note)
        elif default and not select.input_value():
            select.select_option(default)
    web.submit(page, page.get_by_role("button", name="Lưu kết quả thẩm định"))
    expect(page.locator(".flash")).to_have_text("Đã lưu kết quả thẩm định.")


def _set_fields(web, page, values: dict[str, str], shot: str | None = None) -> None:
    page.get_by_role("link", name="Cập nhật thông tin").click()
    page.wait_for_url("**/fields")
    for name, value in values.items():
        page.fill(f"#field-{name}", value)
    if shot:
        web.shot(page, shot)
    web.submit(page, page.get_by_role("button", name="Lưu"))
    expect(page.locator(".flash")).to_have_text("Đã lưu thông tin.")


def _open_from_queue(page, dossier_id: int, action: str) -> None:
    """The dossier is in the user's work queue with what they must do."""
    row = page.locator("tr", has=page.locator(f"a[href='/dossiers/{dossier_id}']"))
    expect(row).to_contain_text(action)
    row.locator(f"a[href='/dossiers/{dossier_id}']").first.click()  # the code; the main step's button leads there too
    page.wait_for_url(f"**/dossiers/{dossier_id}")


def _timeline(page) -> list[str]:
    return [" ".join(t.split()) for t in page.locator("ol.timeline li.move").all_inner_texts()]


def _history(page) -> list[str]:
    return [" ".join(t.split()) for t in page.locator("ol.timeline li").all_inner_texts()]


def _one(steps: list[str], *parts: str) -> str:
    """The history line holding all parts (the last, when several do)."""
    found = [s for s in steps if all(p in s for p in parts)]
    assert found, f"no history line with {parts}:\n" + "\n".join(steps)
    return found[-1]


def _decision_matches_verification(web, page) -> str:
    with page.expect_download() as info:
        page.get_by_role("link", name="Tải quyết định (PDF)").first.click()  # the confirmation links to it too
    download = info.value
    data = Path(download.path()).read_bytes()
    assert data.startswith(b"%PDF-") and b"%%EOF" in data[-1024:], download.suggested_filename
    assert download.suggested_filename.endswith(".pdf")
    digest = hashlib.sha256(data).hexdigest()
    page.get_by_role("link", name="Trang xác minh").first.click()
    page.wait_for_url("**/verify/**")
    expect(page.locator("#status")).to_have_text("Còn hiệu lực")
    expect(page.locator("dd code")).to_have_text(digest)
    return digest


def test_village_dossier_whole_road_with_return_round(web):
    page = web.new_page()
    page.goto("/")
    page.wait_for_url("**/login?next=%2F")
    web.shot(page, "login")

    # The village head opens the dossier, uploads a PDF per criterion and self-assesses.
    web.login(page, "truongban")
    expect(page.locator("h1")).to_have_text("Việc cần làm")
    web.shot(page, "queue-truongban")
    dossier_id = _create(web, page, "village_ntm", "na-tam-01")
    dossier_code = page.locator("dl.facts dt:text-is('Mã hồ sơ') + dd").inner_text()
    assert dossier_code.startswith("TD-"), dossier_code
    codes = _criteria(page)
    assert len(codes) == 14
    web.shot(page, "dossier-draft-empty")
    for code in codes:
        _upload(web, page, code, f"minh-chung-tieu-chi-{code}.pdf")
    _self_assess_all(web, page)
    for code in codes:
        expect(page.locator(f"#c-{code} .v-pass").first).to_have_text("Đạt")
    # Submitting is the commune officer's step: the village head sees why not, not a button.
    expect(page.locator("#event-submit form")).to_have_count(0)
    expect(page.locator("#event-submit .reasons")).to_contain_text("cán bộ UBND xã")
    web.shot(page, "dossier-draft-ready")
    web.logout(page)

    # The commune officer records the cover request and submits.
    web.login(page, "canbo.natam")
    web.shot(page, "queue-officer")
    page.get_by_role("navigation").get_by_role("link", name="Hồ sơ", exact=True).click()
    page.wait_for_url("**/dossiers")
    row = page.locator("tr", has=page.get_by_role("link", name=dossier_code, exact=True))
    expect(row).to_contain_text("Đang soạn")
    web.shot(page, "list")
    page.go_back()
    _open_from_queue(page, dossier_id, "Nộp hồ sơ lên huyện")
    _set_fields(web, page, {"request_ref": "Tờ trình số 31/TTr-UBND ngày 05/9/2025"}, shot="fields-cover-request")
    expect(page.locator("#h-fields + dl")).to_contain_text("Tờ trình số 31/TTr-UBND ngày 05/9/2025")
    web.fire(page, "submit", "Kính trình huyện thẩm định.")
    expect(page.locator("#state")).to_have_text("Đã nộp")
    web.shot(page, "dossier-submitted")
    web.logout(page)

    # The district appraiser fails criterion 7 and returns the dossier with reasons.
    web.login(page, "thamdinh")
    _open_from_queue(page, dossier_id, "Thẩm định tiêu chí")
    _appraise(web, page, {"7": ("fail", "Thiếu danh sách lao động có việc làm thường xuyên.")},
              shot="appraisal-round1")
    expect(page.locator("#event-appraise form")).to_have_count(0)  # criterion 7 has not passed
    return_box = page.locator("#event-return textarea")
    expect(return_box).to_contain_text("Thiếu danh sách lao động có việc làm thường xuyên.")  # prefilled
    reason = "Bổ sung danh sách lao động có việc làm thường xuyên (tiêu chí 7)."
    web.fire(page, "return", reason)
    expect(page.locator("#state")).to_have_text("Trả lại để bổ sung")
    # A new round: 7 must be appraised again; its row still says what failed in round 1.
    expect(page.locator("#c-7 .prev-verdict .v-fail")).to_have_text("Không đạt")
    expect(page.locator("#c-7")).to_contain_text("chưa thẩm định lại")
    web.shot(page, "dossier-returned")
    web.logout(page)

    # The officer adds evidence for criterion 7 and resubmits.
    web.login(page, "canbo.natam")
    _open_from_queue(page, dossier_id, "Nộp hồ sơ lên huyện")
    expect(page.locator("ol.timeline")).to_contain_text(reason)
    _upload(web, page, "7", "bo-sung-tieu-chi-7.pdf")
    web.fire(page, "submit", "Đã bổ sung minh chứng tiêu chí 7.")
    expect(page.locator("#state")).to_have_text("Đã nộp")
    expect(page.locator("#h-criteria")).to_contain_text("vòng 2")
    web.logout(page)

    # The appraiser passes criterion 7 (the others stayed passed) and marks it appraised.
    web.login(page, "thamdinh")
    _open_from_queue(page, dossier_id, "Thẩm định tiêu chí")
    passed = page.locator("div.crit", has_text=re.compile(r"Thẩm định:\s*Đạt"))
    expect(passed).to_have_count(13)  # round 1's passes stand; only 7 is open again
    _appraise(web, page, {"7": ("pass", "Đã đủ danh sách.")}, default=None, shot="appraisal-round2")
    web.fire(page, "appraise")
    expect(page.locator("#state")).to_have_text("Đã thẩm định")
    web.shot(page, "dossier-appraised")
    web.logout(page)

    # The district vice-chairman recognises; the PDF verifies.
    web.login(page, "chutich")
    _open_from_queue(page, dossier_id, "Công nhận và ban hành quyết định")
    web.fire(page, "recognize")
    expect(page.locator("#state")).to_have_text("Đã công nhận")
    web.shot(page, "dossier-recognized")
    _decision_matches_verification(web, page)
    web.shot(page, "verify")
    page.go_back()
    page.wait_for_url(f"**/dossiers/{dossier_id}")

    timeline = _timeline(page)
    expected = [
        ("Tạo hồ sơ: Đang soạn", "Lò Văn Hùng", ""),
        ("Nộp hồ sơ lên huyện: Đang soạn → Đã nộp", "Tao Thị Mai", "Kính trình huyện thẩm định."),
        ("Trả lại để bổ sung: Đã nộp → Trả lại để bổ sung", "Nguyễn Văn Bình", reason),
        ("Nộp hồ sơ lên huyện: Trả lại để bổ sung → Đã nộp", "Tao Thị Mai", "Đã bổ sung minh chứng tiêu chí 7."),
        ("Hoàn thành thẩm định: Đã nộp → Đã thẩm định", "Nguyễn Văn Bình", ""),
        ("Công nhận và ban hành quyết định: Đã thẩm định → Đã công nhận", "Trần Quốc Khánh", ""),
    ]
    assert len(timeline) == len(expected), timeline
    for line, (step, who, comment) in zip(timeline, expected, strict=True):
        assert line.startswith(step) and who in line and comment in line, (line, step, who, comment)
    # Steps that do not move the dossier are in the history too, with who did them.
    steps = _history(page)
    assert _one(steps, "Tải minh chứng", "Tiêu chí 7", "bo-sung-tieu-chi-7.pdf", "Tao Thị Mai")
    assert _one(steps, "Tự đánh giá", "Tiêu chí 14", "Lò Văn Hùng")
    assert _one(steps, "Cập nhật thông tin", "Tờ trình số 31/TTr-UBND", "Tao Thị Mai")
    assert _one(steps, "Thẩm định tiêu chí", "Tiêu chí 7", "Nguyễn Văn Bình")
    web.logout(page)
    web.assert_guards()


def test_town_dossier_with_satisfaction_and_council_vote(web):
    page = web.new_page()
    page.goto("/login")

    # Town staff prepare: evidence, self-assessment, a satisfaction rate below the bar.
    web.login(page, "vanthu.thitran")
    dossier_id = _create(web, page, "town_civilized", "tt-tam-duong")
    codes = _criteria(page)
    assert len(codes) == 9
    for code in codes:
        _upload(web, page, code, f"minh-chung-tt-{code}.pdf")
    _self_assess_all(web, page)
    # Vietnamese decimal comma
    _set_fields(web, page, {"resident_satisfaction_pct": "85,5"}, shot="fields-satisfaction")
    expect(page.locator("#h-fields + dl")).to_contain_text("85,5")
    web.logout(page)

    # The town officer cannot submit at 85.5 %; at 92.5 % they can.
    web.login(page, "canbo.thitran")
    page.goto(f"/dossiers/{dossier_id}")
    expect(page.locator("#event-submit form")).to_have_count(0)
    expect(page.locator("#event-submit .reasons")).to_contain_text("90")
    web.shot(page, "dossier-draft-satisfaction-low")
    _set_fields(web, page, {"resident_satisfaction_pct": "92,5",
                            "request_ref": "Tờ trình số 52/TTr-UBND ngày 10/9/2025"})
    web.fire(page, "submit", "Đề nghị huyện thẩm định.")
    expect(page.locator("#state")).to_have_text("Đã nộp")
    web.logout(page)

    # The appraiser passes every criterion; appraising waits for the council vote.
    web.login(page, "thamdinh")
    page.goto(f"/dossiers/{dossier_id}")
    _appraise(web, page, {})
    expect(page.locator("#event-appraise form")).to_have_count(0)
    expect(page.locator("#event-appraise .reasons")).not_to_be_empty()
    _set_fields(web, page, {"council_members": "9", "council_present": "7", "council_in_favour": "6"},
                shot="fields-council-vote")
    facts = page.locator("#h-fields + dl")
    for label, value in (("Số thành viên Hội đồng thẩm định", "9"), ("Số thành viên có mặt", "7"),
                         ("Số thành viên tán thành", "6"), ("Tỷ lệ người dân hài lòng (%)", "92,5")):
        expect(facts.locator("dt", has_text=label).locator("+ dd")).to_have_text(value)
    web.fire(page, "appraise")
    expect(page.locator("#state")).to_have_text("Đã thẩm định")
    web.logout(page)

    web.login(page, "chutich")
    page.goto(f"/dossiers/{dossier_id}")
    web.fire(page, "recognize")
    expect(page.locator("#state")).to_have_text("Đã công nhận")
    web.shot(page, "dossier-recognized")
    _decision_matches_verification(web, page)
    page.go_back()
    page.wait_for_url(f"**/dossiers/{dossier_id}")
    timeline = _timeline(page)
    assert [line.split(":")[0] for line in timeline] == [
        "Tạo hồ sơ", "Nộp hồ sơ lên huyện", "Hoàn thành thẩm định (Hội đồng đã biểu quyết)",
        "Công nhận và ban hành quyết định"]
    for line, who in zip(timeline, ("Vàng Thị Thu", "Đèo Văn Sơn", "Nguyễn Văn Bình", "Trần Quốc Khánh"), strict=True):
        assert who in line, (line, who)
    steps = _history(page)
    assert _one(steps, "Cập nhật thông tin", "92,5", "Đèo Văn Sơn")
    vote = _one(steps, "Cập nhật thông tin", "Nguyễn Văn Bình")
    assert all(re.search(rf": {n}\b", vote) for n in (9, 7, 6)), vote
    web.logout(page)
    web.assert_guards()
