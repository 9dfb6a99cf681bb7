"""Every page of every role on a 360x740 phone, in the demo district: no page
scrolls sideways, every tap target in the main content is at least 44x44 px
(the rule: conftest.SMALL_TARGETS_JS), and axe-core finds no WCAG 2.0/2.1 A or
AA violation; the words of a chart are drawn at 12 px or more. Each page is also
checked for sideways scrolling at 1280x800, and photographed full-length into
test-artifacts/screenshots/: at 360 px for every role, at 1280 px once per page.

One log-in per role; the pages are found as a user finds them: the links of
the top bar, the dossier list filtered by state, the links of a dossier page."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from workflow_app.extensions import db
from workflow_app.models.decisions import Decision

from .conftest import (
    PHONE,
    axe_violations,
    overflow,
    skip_link_problem,
    small_chart_text,
    small_targets,
)

pytestmark = [pytest.mark.browser, pytest.mark.db]

DESKTOP = {"width": 1280, "height": 800}
FORMS = {"self-assessment": r"/dossiers/\d+/self-assessment$", "appraisal": r"/dossiers/\d+/appraisal$",
         "fields": r"/dossiers/\d+/fields$"}
# Pages that are not in the top bar, by name.
EXTRA = {"monthly": "/reports/monthly", "batch": "/decisions/batch", "committee-office": "/committee/office",
         "admin-committee": "/admin/committee"}
NAV = {  # top-bar link -> page name; every role visits each of these it is offered
    "/": "queue", "/dossiers": "list", "/dossiers/new": "new", "/decisions": "register", "/dashboard": "dashboard",
    "/committee": "committee", "/outbox": "outbox", "/admin/users": "admin-users", "/password": "password",
}
# One person for each kind of work (services/demo.py), and the pages that person
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
STATES = ("draft", "submitted", "returned", "appraised", "recognized", "rejected", "revoked")
_photographed_wide: set[str] = set()  # one 1280 px picture per page name is enough


class Visit:
    """The pages one person visits, and what was wrong on each."""

    def __init__(self, web, page, who: str, axe: str) -> None:
        self.web, self.page, self.who, self.axe = web, page, who, axe
        self.seen: dict[str, str] = {}  # page name -> url
        self.problems: list[str] = []

    def check(self, name: str, url: str, status: int = 200) -> None:
        page, where = self.page, f"{self.who} {name} {url}"
        response = page.goto(url)
        self.seen[name] = url
        if response.status != status:
            self.problems.append(f"{where}: answered {response.status}, expected {status}")
        if (extra := overflow(page)) is not None:
            self.problems.append(f"{where}: scrolls sideways by {extra} px at 360")
        self.problems += [f"{where}: tap target under 44 px: {t}" for t in small_targets(page)]
        self.problems += [f"{where}: chart text under 12 px: {t}" for t in small_chart_text(page)]
        if skipped := skip_link_problem(page):
            self.problems.append(f"{where}: {skipped}")
        self.problems += [f"{where}: axe: {v}" for v in axe_violations(page, self.axe)]
        shot = f"{self.who.replace('.', '-')}-{name}"
        self.web.shot(page, f"{shot}-360")
        page.set_viewport_size(DESKTOP)
        if (extra := overflow(page)) is not None:
            self.problems.append(f"{where}: scrolls sideways by {extra} px at 1280")
        if name not in _photographed_wide:
            _photographed_wide.add(name)
            self.web.shot(page, f"{shot}-1280")
        page.set_viewport_size(PHONE)

    def hrefs(self, selector: str) -> list[str]:
        return [urlsplit(h).path + (f"?{urlsplit(h).query}" if urlsplit(h).query else "")
                for h in self.page.eval_on_selector_all(selector, "els => els.map(e => e.getAttribute('href'))")]


def _dossier_pages(visit: Visit, wanted: set[str]) -> None:
    """The dossier pages and forms the role must reach, found through its dossier list."""
    forms = {name for name in FORMS if name in wanted}
    for state in STATES:
        if f"dossier-{state}" not in wanted and not forms:
            continue
        visit.page.goto(f"/dossiers?state={state}")
        for n, link in enumerate(visit.hrefs("main table a[href^='/dossiers/']")):
            if n == 0 and f"dossier-{state}" in wanted:
                visit.check(f"dossier-{state}", link)
            elif forms:
                visit.page.goto(link)
            else:
                break
            for href in visit.hrefs("main a[href]"):
                name = next((f for f in forms if re.search(FORMS[f], href)), None)
                if name:
                    forms.discard(name)
                    visit.check(name, href)
                    visit.page.goto(link)


@pytest.mark.parametrize("who", list(ROLES))
def test_every_page_of_a_role_fits_a_phone(web, axe_source, who):
    page = web.new_page(PHONE)
    page.goto("/login")
    web.login(page, who)
    wanted = ROLES[who]
    visit = Visit(web, page, who, axe_source)
    nav = set(visit.hrefs("header a[href]"))
    for path, name in NAV.items():
        if path in nav:
            visit.check(name, path)
    for name, path in EXTRA.items():
        if name in wanted:
            visit.check(name, path)
    _dossier_pages(visit, wanted)
    if who == "truongban":  # the error pages, once
        visit.check("404", "/dossiers/99999999", status=404)
        visit.check("403", "/admin/users", status=403)

    missing = wanted - set(visit.seen)
    if missing:
        visit.problems.append(f"{who} did not reach {sorted(missing)}; saw {sorted(visit.seen)}")
    assert not visit.problems, f"{len(visit.problems)} problems:\n  " + "\n  ".join(visit.problems)
    web.assert_guards()


def test_public_pages_fit_a_phone(web, axe_source, live_server):
    """Signed out: the log-in page, a decision's verification page and its 404."""
    page = web.new_page(PHONE)
    visit = Visit(web, page, "signed-out", axe_source)
    visit.check("login", "/login")
    token = live_server.run(_a_verify_token)
    visit.check("verify", f"/verify/{token}")
    visit.check("verify-404", "/verify/khong-co-ma-nay", status=404)
    assert not visit.problems, f"{len(visit.problems)} problems:\n  " + "\n  ".join(visit.problems)
    web.assert_guards()


def _a_verify_token() -> str:
    return db.session.execute(db.select(Decision.verify_token).order_by(Decision.id)).scalars().first()
