"""Every page of every role on a 360x740 phone, in the demo district: no page
scrolls sideways, every tap target in the main content is at least 44x44 px
(the rule: conftest.SMALL_TARGETS_JS), and axe-core finds no WCAG 2.0/2.1 A or
AA violation; the words of a chart are drawn at 12 px or more. Each page is also
checked for sideways scrolling at 1280x800, and photographed full-length into
test-artifacts/screenshots/: at 360 px for every role, at 1280 px once per page.

One log-in per role; the pages are found as a user finds them: the links of
the top bar, the dossier list filtered by state, the links of a dossier page."""
from __future__ import annotations

import pytest

from workflow_app.extensions import db
from workflow_app.models.decisions import Decision

from .conftest import PHONE, Visit

pytestmark = [pytest.mark.browser, pytest.mark.db]

# One person for each kind of work (services/admin/demo.py), and the pages that person
# must reach besides the top bar's: "dossier-<state>" is the first dossier in that
# state in their list, a form name is the first such form any of their dossiers
# links to. The suite's clock is 11/06/2025: the district's road is in force.
ROLES = {
    "truongban": {"queue", "list", "new", "password", "dossier-recognized"},
    "truongban.giangma04": {"dossier-draft", "self-assessment"},
    "truongban.sonbinh06": {"dossier-returned"},
    "canbo.natam": {"queue", "new", "dossier-revoked"},
    "thamdinh": {"queue", "dossier-submitted", "appraisal", "register", "committee"},
    "chutich": {"queue", "dossier-appraised", "batch", "register"},
    "xem": {"list", "dashboard", "monthly", "register", "dossier-rejected"},
    "bcd.hatang": {"committee"},
    "quantri": {"admin-users", "outbox", "admin-committee"},
}

@pytest.mark.parametrize("who", list(ROLES))
def test_every_page_of_a_role_fits_a_phone(web, axe_source, who):
    page = web.new_page(PHONE)
    page.goto("/login")
    web.login(page, who)
    wanted = ROLES[who]
    visit = Visit(web, page, who, axe_source)
    visit.role_pages(wanted)
    if who == "truongban":  # the error pages, once
        visit.check("404", "/dossiers/99999999", status=404)
        visit.check("403", "/admin/users", status=403)
    visit.assert_clean(wanted)
    web.assert_guards()


def test_public_pages_fit_a_phone(web, axe_source, live_server):
    """Signed out: the log-in page, a decision's verification page and its 404."""
    page = web.new_page(PHONE)
    visit = Visit(web, page, "signed-out", axe_source)
    visit.check("login", "/login")
    token = live_server.run(_a_verify_token)
    visit.check("verify", f"/verify/{token}")
    visit.check("verify-404", "/verify/khong-co-ma-nay", status=404)
    visit.assert_clean(set())
    web.assert_guards()


def _a_verify_token() -> str:
    return db.session.execute(db.select(Decision.verify_token).order_by(Decision.id)).scalars().first()
