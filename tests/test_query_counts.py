"""Statements per page, counted at the cursor (SQLAlchemy "before_cursor_execute"):
every page runs at most a fixed number of statements, and the number does not grow
when the number of dossiers triples (no statement per row: the N+1 check).

The world: village dossiers of Tam Đường put straight into a state (helpers.dossier_in),
some submitted through the API so they have filings; the district's approver and
appraiser and a commune officer read the pages."""
from __future__ import annotations

import pytest
from helpers import dossier_in, fire, statements

from workflow_app.clock import local_today
from workflow_app.extensions import db
from workflow_app.models import Unit
from workflow_app.services.reading.lists import queue_page, search_dossiers

# Measured on SQLite and PostgreSQL (the larger of the two), with a little room; a
# page over its bound, or a page whose count grows with the data, fails.
BOUNDS = {"queue": 16, "list": 14, "list_deep": 14, "list_search": 14, "dossier": 40,
          "dashboard": 16, "monthly": 40, "register": 25}




def _login(app, user):
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": "pw-123456"}).status_code == 302
    return client


def _statements(client, url: str) -> int:
    db.session.remove()  # nothing cached from the seeding: the page loads what it needs
    with statements() as seen:
        r = client.get(url)
    assert r.status_code == 200, (url, r.status_code)
    return len(seen)


def _villages() -> list[tuple[str, str]]:
    """(village, its commune today) of the district's villages, na-tam's first."""
    today = local_today()
    found = []
    for unit in db.session.execute(db.select(Unit).where(Unit.level == "village").order_by(Unit.code)).scalars():
        parent = unit.parent_on(today)
        if parent is not None and parent.live_on(today) and "/tam-duong/" in (unit.path_on(today) or ""):
            found.append((unit.code, parent.code))
    return sorted(found, key=lambda x: x[1] != "na-tam")


class World:
    """Seeds dossiers in batches, each applicant and year at most once, each by an
    officer of its commune."""

    def __init__(self, officer, make_user, api_as):
        self.make_user, self.api_as = make_user, api_as
        self.officers = {"na-tam": officer}
        self.free = [(v, c, y) for v, c in _villages() for y in (2024, 2025)]
        self.dossiers = []

    def add(self, n: int) -> None:
        for _ in range(n):
            unit, commune, year = self.free.pop(0)
            officer = self.officers.get(commune) or self.officers.setdefault(
                commune, self.make_user("submitter", commune))
            state = ("appraised", "submitted", "draft")[len(self.dossiers) % 3]
            if state == "submitted":  # a real filing: the filing status has a day to read
                d = dossier_in(officer, unit, year, "draft")
                assert fire(self.api_as(officer), d.id, "submit").status_code == 200
            else:
                d = dossier_in(officer, unit, year, state)
            self.dossiers.append(d.id)


def _pages(app, users, world) -> dict[str, int]:
    approver, appraiser, officer = users
    first = world.dossiers[0]
    a, b, c = _login(app, approver), _login(app, appraiser), _login(app, officer)
    counts = {
        "queue": max(_statements(a, "/"), _statements(b, "/"), _statements(c, "/")),
        "list": max(_statements(a, "/dossiers"), _statements(c, "/dossiers")),
        "list_deep": _statements(a, f"/dossiers?page=3&after={first + 5}"),
        "list_search": _statements(a, "/dossiers?q=b%E1%BA%A3n"),
        "dossier": max(_statements(a, f"/dossiers/{first}"), _statements(c, f"/dossiers/{first}")),
        "dashboard": _statements(a, "/dashboard"),
        "monthly": _statements(a, "/reports/monthly"),
        "register": _statements(a, "/decisions"),
    }
    return counts


@pytest.fixture
def users(make_user):
    officer = make_user("submitter", "na-tam")
    return make_user("approver", "tam-duong"), make_user("appraiser", "tam-duong"), officer


def test_pages_run_a_fixed_number_of_statements(app, users, make_user, api_as, capsys):
    world = World(users[2], make_user, api_as)
    world.add(12)
    small = _pages(app, users, world)
    world.add(24)  # three times as many dossiers
    large = _pages(app, users, world)
    with capsys.disabled():
        print(f"\nstatements per page, 12 -> 36 dossiers ({db.engine.dialect.name}):")
        for page in small:
            print(f"  {page:12} {small[page]:4} -> {large[page]:4}  (bound {BOUNDS[page]})")
    over = {p: n for p, n in large.items() if n > BOUNDS[p]}
    grows = {p: (small[p], large[p]) for p in small if large[p] > small[p]}
    assert not over, f"over the bound: {over}"
    assert not grows, f"grows with the number of dossiers (a statement per row): {grows}"


def test_the_queue_pages_and_every_page_is_reachable(app, users, make_user, api_as):
    approver, appraiser, officer = users
    world = World(officer, make_user, api_as)
    world.add(12)
    seen, cursor = [], None
    while True:
        page = queue_page(appraiser, cursor, per_page=2)
        assert len(page.items) <= 2
        seen += [i.dossier.id for i in page.items]
        cursor = page.after
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == page.total == 4  # every submitted dossier once, oldest first
    client = _login(app, approver)
    html = client.get("/").get_data(as_text=True)
    assert "Có 4 hồ sơ đang chờ bạn xử lý" in html and 'id="queue-next"' not in html


def test_keyset_pages_of_the_list_meet_the_offset_pages(app, users, make_user, api_as):
    approver, _appraiser, officer = users
    world = World(officer, make_user, api_as)
    world.add(12)
    by_offset = [d.id for p in (1, 2, 3) for d in search_dossiers(approver, page=p, per_page=5).items]
    walked, page = [], search_dossiers(approver, per_page=5)
    walked += [d.id for d in page.items]
    while page.after:
        page = search_dossiers(approver, per_page=5, after=page.after, page=page.page + 1)
        walked += [d.id for d in page.items]
    assert walked == by_offset == sorted(world.dossiers, reverse=True)
    back = search_dossiers(approver, per_page=5, before=page.before, page=page.page - 1)
    assert [d.id for d in back.items] == by_offset[5:10]
    found = search_dossiers(approver, q="Bản 0", per_page=50)
    assert found.total == len(found.items) and found.total > 0


def test_every_offset_page_holds_its_slice_from_either_end(app, users, make_user, api_as):
    """Pages past the middle are read from the oldest end: each still holds its slice of
    the newest-first order, the last one the remainder, and a page beyond the end nothing."""
    approver, _appraiser, officer = users
    world = World(officer, make_user, api_as)
    world.add(11)
    newest_first = sorted(world.dossiers, reverse=True)
    for per_page in (2, 3, 5, 11, 20):
        pages = -(-len(newest_first) // per_page)
        for page in range(1, pages + 2):
            got = search_dossiers(approver, page=page, per_page=per_page)
            assert [d.id for d in got.items] == newest_first[(page - 1) * per_page:page * per_page], (per_page, page)
            assert (got.total, got.pages) == (11, pages)
            if got.items:
                assert (got.before is not None) == (page > 1) and (got.after is not None) == (page < pages)
