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
    """Tả Lèng's own dossier of 2026 (the unit is the new commune, not one of its villages)."""
    return db.session.execute(db.select(Dossier.id).join(Unit, Dossier.unit_id == Unit.id)
                              .where(Unit.code == "ta-leng-2025", Dossier.year == 2026)).scalar_one()


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
