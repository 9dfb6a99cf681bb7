"""A citizen on a 360-pixel phone checks a decision: the verification page, its
404, and the page after uploading a file (long SHA-256 digests and codes) never
scroll sideways, and nothing on them leads into the signed-in app."""
from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from workflow_app.extensions import db
from workflow_app.models import Decision
from workflow_app.services.core.storage import path_of

pytestmark = [pytest.mark.browser, pytest.mark.db]

PHONE = {"width": 360, "height": 740}
PUBLIC_PATHS = ("/verify/", "/lang/", "/static/")


def _a_decision() -> tuple[str, str]:
    decision = db.session.execute(db.select(Decision).order_by(Decision.id)).scalars().first()
    return decision.verify_token, str(path_of(decision.pdf_key))


def _no_sideways_scroll(page, what: str) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{what}: the page scrolls sideways ({width} > {inner} px)"


def _links_stay_public(page, what: str) -> None:
    hrefs = page.eval_on_selector_all("a[href], form[action]",
                                      "els => els.map(e => e.getAttribute('href') || e.getAttribute('action'))")
    inside = [h for h in hrefs if not h.startswith("#") and not urlsplit(h).path.startswith(PUBLIC_PATHS)]
    assert not inside, f"{what}: links into the signed-in app: {inside}"


def test_public_verify_on_a_phone(web, live_server, tmp_path):
    token, pdf_path = live_server.run(_a_decision)
    page = web.new_page(PHONE)

    response = page.goto(f"/verify/{token}")
    assert response.status == 200
    assert page.locator("#about h2").inner_text() == "Mã xác minh là gì, tìm ở đâu?"
    _no_sideways_scroll(page, "verify")
    _links_stay_public(page, "verify")
    web.shot(page, "verify-phone")

    # The issued file matches; its digest (64 hex digits) wraps.
    page.set_input_files("#verify-file", pdf_path)
    web.submit(page, page.locator("#check button[type=submit]"))
    assert "Khớp" in page.locator("#check-result").inner_text()
    _no_sideways_scroll(page, "verify after a matching upload")
    _links_stay_public(page, "verify after a matching upload")
    web.shot(page, "verify-phone-match")

    # Another PDF does not match: the answer and both digests fit too.
    other = web.pdf("khac.pdf", "Ban sao khong phai quyet dinh")
    page.set_input_files("#verify-file", str(other))
    web.submit(page, page.locator("#check button[type=submit]"))
    assert "Không khớp" in page.locator("#check-result").inner_text()
    _no_sideways_scroll(page, "verify after a mismatching upload")

    # An unknown code: a public 404 that explains where the code is printed.
    response = page.goto("/verify/ma-khong-co-that-su-dai-" + "x" * 30)
    assert response.status == 404
    assert "Nơi nhận" in page.locator("#about").inner_text()
    _no_sideways_scroll(page, "verify 404")
    _links_stay_public(page, "verify 404")
    web.shot(page, "verify-phone-404")
    web.assert_guards()
