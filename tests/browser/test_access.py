"""What a browser user may not reach or do stays out of reach: another
commune's dossier by URL, a button the user may not use (and its forced POST),
and the language switch that keeps the user where they are."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from workflow_app.extensions import db
from workflow_app.models import Dossier
from workflow_app.services import (
    attach_evidence,
    create_dossier,
    fire_event,
    self_assess,
)
from workflow_app.services.admin.demo import demo_evidence_pdf
from workflow_app.services.core.reference import find_unit
from workflow_app.services.core.users import create_user, find_user

pytestmark = [pytest.mark.browser, pytest.mark.db]


def _seeded(unit_code: str, year: int = 2024) -> tuple[int, str]:
    unit = find_unit(unit_code)
    d = db.session.execute(db.select(Dossier).where(Dossier.unit_id == unit.id, Dossier.year == year)).scalar_one()
    return d.id, d.code


def _state_and_version(dossier_id: int) -> tuple[str, int]:
    d = db.session.get(Dossier, dossier_id)
    return d.state, d.version


def _submitted_village_dossier() -> int:
    """Set-up through the services: na-tam-01's 2023 dossier, submitted."""
    head, officer = find_user("truongban"), find_user("canbo.natam")
    dossier = create_dossier(head, "village_ntm", "na-tam-01", 2023)
    for entry in list(dossier.current_criteria()):
        attach_evidence(head, dossier, f"minh-chung-{entry.code}.pdf", demo_evidence_pdf(), entry.code)
        self_assess(head, dossier, entry.code, "met", None)
    fire_event(officer, dossier, "submit")
    return dossier.id


def test_other_commune_cannot_reach_a_dossier_by_url(web, live_server):
    # Bản Bo has no demo dossiers: its officer's list is empty.
    live_server.run(create_user, "canbo.banbo.cu", "pw-12345678", "submitter", "ban-bo")
    submitted_id, submitted_code = live_server.run(_seeded, "ta-leng-06", 2026)  # the demo's, under appraisal
    recognized_id, _ = live_server.run(_seeded, "na-tam-01")

    page = web.new_page()
    page.goto("/login")
    web.login(page, "canbo.banbo.cu", "pw-12345678")

    response = page.goto(f"/dossiers/{submitted_id}")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Không tìm thấy")
    expect(page.locator("main")).to_contain_text("bạn không có quyền xem hồ sơ này")
    web.shot(page, "error-404")
    # Nor its sub-pages or files: the same answer as for a dossier that does not exist.
    for path in (f"/dossiers/{submitted_id}/self-assessment", f"/dossiers/{recognized_id}/decision.pdf",
                 "/dossiers/999999"):
        assert page.goto(path).status == 404, path

    page.get_by_role("navigation").get_by_role("link", name="Hồ sơ", exact=True).click()
    page.wait_for_url("**/dossiers")
    expect(page.locator("main")).to_contain_text("Tìm thấy 0 hồ sơ.")
    expect(page.locator("main a[href^='/dossiers/']")).to_have_count(0)
    page.fill("#q", submitted_code)
    web.submit(page, page.get_by_role("button", name="Lọc"))
    expect(page.locator("main")).to_contain_text("Tìm thấy 0 hồ sơ.")
    web.shot(page, "list-empty")
    web.logout(page)
    web.assert_guards()


def test_button_not_allowed_is_absent_and_forced_post_is_refused(web, live_server):
    dossier_id = live_server.run(_submitted_village_dossier)
    before = live_server.run(_state_and_version, dossier_id)
    assert before[0] == "submitted"

    page = web.new_page()
    page.goto("/login")
    web.login(page, "truongban")
    page.goto(f"/dossiers/{dossier_id}")
    expect(page.locator("#state")).to_have_text("Đã nộp")
    # The village head may do nothing to a submitted dossier: no event form at all,
    # and the district's steps are listed with who takes them instead of buttons.
    expect(page.locator("form input[name=event]")).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("Công nhận|Hoàn thành thẩm định|Trả lại"))).to_have_count(0)
    expect(page.locator("#event-appraise .reasons")).to_contain_text("cán bộ thẩm định")
    web.shot(page, "dossier-submitted-as-preparer")
    token = page.locator("input[name=csrf_token]").first.input_value()
    version = str(before[1])  # the page shows no version: send the one it was rendered from
    url = f"/dossiers/{dossier_id}/events"

    # Forced through the browser's own session and CSRF token: refused, 403.
    for event in ("recognize", "appraise", "return"):
        r = page.request.post(url, form={"csrf_token": token, "event": event, "version": version,
                                         "comment": "Thử ép thao tác.", "confirm": "y"})
        assert r.status == 403, (event, r.status, r.text()[:300])
        r.dispose()
    # Without the token the same POST is stopped before it reaches the rules.
    r = page.request.post(url, form={"event": "recognize", "version": version, "confirm": "y"})
    assert r.status == 400, r.status
    r.dispose()

    # A form injected into the page and sent by the browser: the user sees a 403 page.
    with page.expect_navigation() as navigation:
        page.evaluate("""([action, token, version]) => {
            const form = document.createElement('form');
            form.method = 'post';
            form.action = action;
            for (const [name, value] of Object.entries({csrf_token: token, event: 'recognize',
                                                        version: version, confirm: 'y'})) {
                const input = document.createElement('input');
                input.type = 'hidden'; input.name = name; input.value = value;
                form.appendChild(input);
            }
            document.body.appendChild(form);
            form.submit();
        }""", [url, token, version])
    assert navigation.value.status == 403
    expect(page.locator("h1")).to_have_text("Bạn không có quyền")
    web.shot(page, "error-403")

    page.goto(f"/dossiers/{dossier_id}")
    expect(page.locator("#state")).to_have_text("Đã nộp")
    assert live_server.run(_state_and_version, dossier_id) == before
    web.logout(page)
    web.assert_guards()


def test_language_switch_to_english_and_back(web, live_server):
    recognized_id, _ = live_server.run(_seeded, "na-tam-01")
    page = web.new_page()
    page.goto("/login")
    expect(page.locator("h1")).to_have_text("Đăng nhập")

    page.get_by_role("link", name="English").click()
    page.wait_for_url("**/login**")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Sign in")
    expect(page.locator("label[for=username]")).to_have_text("Username")
    expect(page.locator("label[for=password]")).to_have_text("Password")
    web.shot(page, "login-en")

    web.login(page, "xem")  # the choice survives signing in
    expect(page.locator("h1")).to_have_text("My tasks")
    nav = page.get_by_role("navigation")
    expect(nav.get_by_role("link", name="Dossiers", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.goto(f"/dossiers/{recognized_id}")
    expect(page.locator("#state")).to_have_text("Recognized")
    expect(page.locator("#h-actions")).to_have_text("Actions")
    expect(page.locator("#h-history")).to_have_text("Processing history")
    expect(page.get_by_role("link", name="Download the decision (PDF)")).to_be_visible()
    web.shot(page, "dossier-recognized-en")

    page.get_by_role("link", name="Tiếng Việt").click()
    page.wait_for_url(f"**/dossiers/{recognized_id}")  # back where the user was
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("#state")).to_have_text("Đã công nhận")
    expect(page.locator("#h-actions")).to_have_text("Thao tác")
    expect(page.get_by_role("link", name="English")).to_be_visible()
    web.logout(page)
    web.assert_guards()
