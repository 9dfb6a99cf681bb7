"""Every page of every role of the present on a 360x740 phone: the same checks as
test_every_page.py (conftest.Visit: no sideways scrolling, tap targets of 44 px,
axe-core's A/AA rules, the skip link), against a second live server whose clock
stands at frozen_clock.AFTER_REFORM (December 2026). There are no districts:
the villages submit to the new communes, the communes to the province, and the
demo's people of that road act there (their roles begin on 01/07/2025, so at
the suite's clock they could not). Screenshots are named "today-...".

The server has its own database (the package's live server keeps the district
era's), and the clock returns to the suite's when the module is done."""
from __future__ import annotations

import pytest
import time_machine
from frozen_clock import AFTER_REFORM

from tests.conftest import throwaway_pg_database
from workflow_app.extensions import db
from workflow_app.models import Dossier, Unit
from workflow_app.models.decisions import Decision

from .conftest import PHONE, Visit, Web, demo_server

pytestmark = [pytest.mark.browser, pytest.mark.db]

# One person for each kind of work of the present (services/admin/demo.py, demo_story.py),
# and the pages that person must reach besides the top bar's (conftest.Visit.role_pages).
# "commune-dossier" is Tả Lèng's commune dossier of 2026, under appraisal at the province.
ROLES = {
    # Giang Ma 04 drafts its 2027 dossier; the village head also files it, so the
    # cover request's number (a field of the draft) is theirs to write.
    "truongban.giangma04": {"queue", "list", "new", "password", "dossier-draft", "self-assessment", "fields"},
    "truongban.sonbinh06": {"dossier-returned", "self-assessment", "fields"},
    "truongban.giangma10": {"dossier-appraised"},
    "truongban.taleng06": {"dossier-submitted"},
    "canbo.taleng": {"queue", "new", "commune-dossier", "dossier-recognized"},
    "thamdinh.taleng": {"queue", "dossier-submitted", "appraisal", "register", "dossier-recognized"},
    "chutich.taleng": {"queue", "dossier-appraised", "batch", "register"},
    "thamdinh.tinh": {"queue", "commune-dossier", "appraisal"},
    "chutich.tinh": {"queue", "commune-dossier", "batch", "register", "dossier-recognized"},
    "xem.tinh": {"list", "dashboard", "monthly", "register", "dossier-rejected", "dossier-revoked"},
    # Dossiers made of lines: the province's finance department and a commune's officer.
    "taichinh.tinh": {"queue", "summaries", "lines-submitted"},
    "canbo.binhlu": {"queue", "new", "lines-draft"},
    "quantri": {"admin-users", "outbox"},
}


@pytest.fixture(scope="module")
def today_server(chromium, tmp_path_factory):
    """The demo served at AFTER_REFORM (the clock ticks on from there, in the server's
    thread too), from its own database."""
    traveller = time_machine.travel(AFTER_REFORM, tick=True)
    traveller.start()
    try:
        with throwaway_pg_database() as pg_url, demo_server(tmp_path_factory.mktemp("today"), pg_url) as server:
            yield server
    finally:
        traveller.stop()


@pytest.fixture
def today_web(chromium, today_server, tmp_path):
    web = Web(chromium, today_server, "today", tmp_path)
    yield web
    web.close()


def _commune_dossier_id() -> int:
    """Tả Lèng's own NTM dossier of 2026 (the unit is the new commune, not one of its villages;
    the commune also files a funding plan and a cement request that year)."""
    return db.session.execute(db.select(Dossier.id).join(Unit, Dossier.unit_id == Unit.id)
                              .where(Unit.code == "ta-leng-2025", Dossier.year == 2026,
                                     Dossier.kind == "commune_ntm")).scalar_one()


def _lines_dossier(unit: str, kind: str, year: int) -> tuple[int, int]:
    """(id, its first line's id) of the demo's dossier of lines of `unit`, `kind`, `year`."""
    dossier = db.session.execute(db.select(Dossier).join(Unit, Dossier.unit_id == Unit.id)
                                 .where(Unit.code == unit, Dossier.kind == kind, Dossier.year == year)).scalar_one()
    return dossier.id, dossier.current_lines()[0].id


def _a_2026_verify_token() -> str:
    return db.session.execute(db.select(Decision.verify_token).where(Decision.year == 2026)
                              .order_by(Decision.id)).scalars().first()


@pytest.mark.parametrize("who", list(ROLES))
def test_every_page_of_a_role_today_fits_a_phone(today_web, today_server, axe_source, who):
    page = today_web.new_page(PHONE)
    page.goto("/login")
    today_web.login(page, who)
    wanted = ROLES[who]
    visit = Visit(today_web, page, who, axe_source)
    visit.role_pages(wanted)
    if "commune-dossier" in wanted:
        visit.check("commune-dossier", f"/dossiers/{today_server.run(_commune_dossier_id)}")
    if "summaries" in wanted:
        for kind in ("cement_request", "funding_plan"):
            visit.check("summaries" if kind == "cement_request" else f"summaries-{kind}",
                        f"/summaries/{kind}?issuer=lai-chau&year=2026")
    if "lines-submitted" in wanted:  # Bản Bo's amended plan, waiting for the province
        dossier_id, _ = today_server.run(_lines_dossier, "ban-bo-2025", "funding_plan", 2026)
        visit.check("lines-submitted", f"/dossiers/{dossier_id}")
        visit.check("lines-submitted-v1", f"/dossiers/{dossier_id}?round=1")
    if "lines-draft" in wanted:  # Bình Lư's 2027 plan: the add form, a line's edit page
        dossier_id, line_id = today_server.run(_lines_dossier, "binh-lu-2025", "funding_plan", 2027)
        visit.check("lines-draft", f"/dossiers/{dossier_id}")
        visit.check("line-edit", f"/dossiers/{dossier_id}/lines/{line_id}")
    visit.assert_clean(wanted)
    today_web.assert_guards()


def test_public_pages_today_fit_a_phone(today_web, today_server, axe_source):
    """Signed out: the log-in page and the verification page of a 2026 decision."""
    page = today_web.new_page(PHONE)
    visit = Visit(today_web, page, "signed-out", axe_source)
    visit.check("login", "/login")
    token = today_server.run(_a_2026_verify_token)
    assert token, "the demo has no decision of 2026"
    visit.check("verify-2026", f"/verify/{token}")
    visit.assert_clean(set())
    today_web.assert_guards()
