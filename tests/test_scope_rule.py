"""The scope rule is written once (workflow_app/permissions.py) and every list obeys it.

- Parity: on the two-era fixture of tests/test_reports_across_eras.py, the Python
  predicate `in_scope` and the SQL clause `scope_clause` agree for every user x unit, and
  `meets_clause` ("the unit's subtree holds a unit in scope") agrees with a plain
  reading of the paths, in any period and on a day of each era.
- One rule: no other module of workflow_app/ writes the rule by hand.
- Lists: for an outsider (an officer of another commune) and a village head, no list
  offers anything outside their subtree: the /dossiers dropdowns, the dashboard and the
  monthly report, the register's issuers, the work queue, the batch page, the outbox and
  the committee pages (with a second, test-only district for the standing office)."""
from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
import time_machine
from frozen_clock import AFTER_REFORM, YEAR
from helpers import PDF
from sqlalchemy import select, update
from test_reports_across_eras import build_eras, login  # noqa: F401  (the two-era fixture)

from workflow_app.clock import local_today
from workflow_app.extensions import db
from workflow_app.models import CommitteeMember, Dossier, Unit, UnitLink, User
from workflow_app.models.progress import OutboxMessage
from workflow_app.permissions import Scope, in_scope, meets_clause, scope_clause, scope_of
from workflow_app.services import attach_evidence, create_dossier, self_assess
from workflow_app.services.core.common import engine
from workflow_app.services.core.reference import find_unit
from workflow_app.services.reading.lists import batch_candidates, work_queue
from workflow_app.services.reporting.dashboard import campaign_facts, dashboard
from workflow_app.services.reporting.monthly_report import monthly_report
from workflow_app.services.reporting.register import readable_issuers

pytestmark = pytest.mark.db


@pytest.fixture
def eras(app, make_user, api_as):
    """The two-era data of tests/test_reports_across_eras.py, in this test's own app
    (these tests change data)."""
    return build_eras(make_user, api_as)


# ----------------------------------------------------------------------------- parity

def _sql_ids(clause) -> set[int]:
    return set(db.session.execute(select(Unit.id).where(clause)).scalars())


def _meets_by_paths(scope: Scope, units: list[Unit], day: date | None) -> set[int]:
    """The definition read literally: some place of the unit (on `day`) begins some place
    (on `day`) of a unit in scope."""
    def places(unit: Unit) -> list[str]:
        if day is None:
            return [link.path for link in unit.links]
        return [link.path for link in unit.links if link.relation == "parent" and link.covers(day)]
    held = [p for u in units if in_scope(scope, u) for p in places(u)]
    return {u.id for u in units if any(h.startswith(mine) for mine in places(u) for h in held)}


def test_in_scope_and_scope_clause_agree_for_every_user_and_unit(eras):
    with time_machine.travel(AFTER_REFORM, tick=True):
        users = list(db.session.execute(select(User)).scalars())
        units = list(db.session.execute(select(Unit)).scalars())
        assert len(users) > 10 and len(units) > 90
        for user in users:
            for scope in (user, scope_of(user, progress=True)):
                python = {u.id for u in units if in_scope(scope, u)}
                assert python == _sql_ids(scope_clause(Unit.id, scope)), user.username
                # The probing form (`= ANY(ARRAY(...))` on PostgreSQL) selects the same units.
                assert python == _sql_ids(scope_clause(Unit.id, scope, probe=True)), user.username
        # The era cases are in the fixture: the abolished district reads the moved villages,
        # the successor commune reads their 2024 history, the province reads everything.
        by_code = {u.code: u for u in units}
        district, successor = eras["users"]["district"], eras["users"]["successor"]
        assert in_scope(district, by_code["giang-ma-01"]) and in_scope(successor, by_code["giang-ma-01"])
        assert not in_scope(successor, by_code["na-tam-01"])
        assert all(in_scope(eras["users"]["province"], u) for u in units)


def test_meets_agrees_with_the_paths_in_any_period_and_on_a_day(eras):
    with time_machine.travel(AFTER_REFORM, tick=True):
        users = list(db.session.execute(select(User)).scalars())
        units = list(db.session.execute(select(Unit)).scalars())
        for day in (None, date(2024, 9, 10), AFTER_REFORM.date()):
            for user in users:
                scope = scope_of(user)
                assert _sql_ids(meets_clause(Unit.id, scope, day)) == _meets_by_paths(scope, units, day), \
                    (user.username, day)
        successor = scope_of(eras["users"]["successor"])
        met = {u.code for u in units if u.id in _sql_ids(meets_clause(Unit.id, successor))}
        assert {"tam-duong", "lai-chau", "giang-ma", "ta-leng-2025"} <= met and "na-tam" not in met


def test_an_inactive_or_roleless_user_has_an_empty_scope(app, make_user):
    user = make_user("viewer", "tam-duong")
    user.active = False
    assert scope_of(user) == Scope(()) and _sql_ids(scope_clause(Unit.id, user)) == set()
    assert _sql_ids(meets_clause(Unit.id, user)) == set()
    assert not in_scope(user, find_unit("na-tam-01"))


# ----------------------------------------------------------------------------- one rule

HAND_WRITTEN = [
    r"\bunit_ids_under\b", r"\bvisible_unit_paths\b", r"\bscope_paths\b", r"\bmeets_on\b",
    r"UnitLink\.path\.startswith", r"\.startswith\(p\)", r"\bp\.startswith\(", r"\b_live\b",
    r"\.all_paths\(\)", r"\bdef in_scope\b", r"\bdef scope_clause\b",
]


def test_no_module_but_permissions_writes_the_scope_rule():
    root = Path(__file__).resolve().parents[1] / "workflow_app"
    exempt = {root / "permissions.py", root / "models" / "units.py"}  # the rule; the unit's own paths
    found = []
    for path in sorted(root.rglob("*.py")):
        if path in exempt:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for pattern in HAND_WRITTEN:
                if re.search(pattern, line):
                    found.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    assert not found, "the scope rule is written outside permissions.py:\n  " + "\n  ".join(found)


# ----------------------------------------------------------------------------- lists

def _draft(user: User, kind: str, village: str, ready: bool = False) -> Dossier:
    db.session.execute(update(Dossier).values(open_key=None))
    dossier = create_dossier(user, kind, village, YEAR)
    if ready:
        for entry in list(dossier.current_criteria()):
            attach_evidence(user, dossier, f"minh-chung-{entry.code}.pdf", PDF, entry.code)
            self_assess(user, dossier, entry.code, "met", "Đạt")
    db.session.commit()
    return dossier


def _other_district() -> tuple[Unit, Unit]:
    """A second district with one commune, only for these tests (the reference data has one)."""
    province = find_unit("lai-chau")
    since = date(2020, 1, 1)
    district = Unit(code="huyen-khac", name="Huyện Khác", level="district", parent=province,
                    path=f"{province.path}huyen-khac/", valid_from=since)
    district.links.append(UnitLink(parent=province, relation="parent", path=district.path, valid_from=since))
    commune = Unit(code="xa-khac", name="Xã Khác", level="commune", parent=district,
                   path=f"{district.path}xa-khac/", valid_from=since)
    commune.links.append(UnitLink(parent=district, relation="parent", path=commune.path, valid_from=since))
    db.session.add_all([district, commune])
    db.session.commit()
    return district, commune


@pytest.fixture
def lists(app, make_user):
    kind = engine().kinds_by_level()[0]  # the village kind
    _other_district()
    head, outsider = make_user("preparer", "na-tam-01"), make_user("submitter", "giang-ma")
    officer = make_user("submitter", "na-tam")
    mine = _draft(head, kind, "na-tam-01", ready=True)
    sibling = _draft(officer, kind, "na-tam-02", ready=True)
    theirs = _draft(outsider, kind, "giang-ma-01", ready=True)
    users = {"head": head, "outsider": outsider, "officer": officer,
             "office": make_user("appraiser", "tam-duong"), "other_office": make_user("appraiser", "huyen-khac"),
             "approver": make_user("approver", "tam-duong"), "other_approver": make_user("approver", "huyen-khac"),
             "admin": make_user("admin", "lai-chau"), "commune_admin": make_user("admin", "giang-ma")}
    na_tam_member = make_user("viewer", "tam-duong", name="Lò Văn An")
    other_member = make_user("viewer", "huyen-khac", name="Lò Văn Bình")
    db.session.add_all([
        CommitteeMember(user_id=na_tam_member.id, title="Thành viên A", criteria={kind: ["1"]}, communes=["na-tam"]),
        CommitteeMember(user_id=other_member.id, title="Thành viên B", criteria={kind: ["1"]}, communes=["xa-khac"])])
    for n, (to, dossier) in enumerate([(head, mine), (officer, sibling), (outsider, theirs)]):
        db.session.add(OutboxMessage(kind="returned", dedupe_key=f"test:{n}", to_user_id=to.id, dossier_id=dossier.id,
                                     day=local_today(), subject=f"Hồ sơ {dossier.code}", body=dossier.code))
    db.session.commit()
    return {"users": users, "mine": mine, "sibling": sibling, "theirs": theirs, "kind": kind,
            "members": {"na-tam": na_tam_member.name, "xa-khac": other_member.name}}


def _options(html: str, select_id: str) -> list[str] | None:
    found = re.search(rf'<select id="{select_id}" name="{select_id}">(.*?)</select>', html, re.DOTALL)
    return None if found is None else re.findall(r'<option value="([a-z0-9-]+)"', found.group(1))


def test_the_dossier_list_offers_only_communes_and_villages_that_meet_the_subtree(app, lists):
    head = login(app, lists["users"]["head"])
    html = head.get("/dossiers").get_data(as_text=True)
    # Their commune, above their village, in every period (after the reform: Bản Bo).
    assert _options(html, "commune") == ["ban-bo-2025", "na-tam"]
    html = head.get("/dossiers?commune=na-tam").get_data(as_text=True)
    assert _options(html, "village") == ["na-tam-01"]  # not the sibling villages
    html = head.get("/dossiers?commune=giang-ma").get_data(as_text=True)
    assert not _options(html, "village")
    outsider = login(app, lists["users"]["outsider"])
    html = outsider.get("/dossiers").get_data(as_text=True)
    assert _options(html, "commune") == ["giang-ma", "ta-leng-2025"]  # Tả Lèng holds Giang Ma after the reform
    html = head.get(f"/dossiers?year={YEAR}").get_data(as_text=True)
    assert set(_options(html, "commune")) <= {"ban-bo-2025", "na-tam"}
    html = outsider.get("/dossiers?commune=na-tam").get_data(as_text=True)
    assert not _options(html, "village") and "Tìm thấy 0 hồ sơ" in html
    html = outsider.get("/dossiers?commune=giang-ma").get_data(as_text=True)
    offered = _options(html, "village")
    assert "giang-ma-01" in offered and not any(v.startswith("na-tam") for v in offered)


def test_no_page_shows_the_outsider_or_the_village_head_anything_of_another_subtree(app, lists):
    pages = ["/", "/dossiers", "/dossiers?q=a", "/decisions/batch", "/outbox", "/dashboard", "/reports/monthly",
             "/committee/office", "/admin/committee", "/decisions"]
    others = {"head": [lists["sibling"], lists["theirs"]], "outsider": [lists["mine"], lists["sibling"]]}
    names = {"head": ["Giang Ma", "Bản 02 (Nà Tăm)", "na-tam-02"], "outsider": ["Nà Tăm", "na-tam"]}
    for who in ("head", "outsider"):
        client = login(app, lists["users"][who])
        for page in pages:
            r = client.get(page)
            assert r.status_code in (200, 403), (who, page, r.status_code)
            html = r.get_data(as_text=True)
            for dossier in others[who]:
                assert dossier.code not in html, (who, page, dossier.code)
            for name in names[who]:
                assert name not in html, (who, page, name)


def test_the_services_list_nothing_outside_the_subtree(lists):
    users = lists["users"]
    head, outsider = users["head"], users["outsider"]
    assert {i.dossier.id for i in work_queue(head)} <= {lists["mine"].id}
    assert {i.dossier.id for i in work_queue(outsider)} == {lists["theirs"].id}
    for user in (head, outsider):
        assert all(in_scope(user, x.unit) for xs in batch_candidates(user).values() for x in xs)
    dash = dashboard(outsider, YEAR)
    assert [c.code for c in dash.communes] == ["giang-ma"] and dash.total.dossiers == 1
    report = monthly_report(outsider, None, local_today())
    assert [c.code for c in report.communes] == ["giang-ma"]
    assert {r.code for r in report.overdue} <= {lists["theirs"].code}
    assert all(r.commune != "Xã Nà Tăm" for r in report.reports)
    # The register is read whole (decisions are public), but only the registers of issuers
    # above or in the subtree are offered: not the other district's.
    assert [u.code for u in readable_issuers(outsider)] == ["tam-duong"]
    assert [u.code for u in readable_issuers(head)] == ["tam-duong"]
    assert "huyen-khac" in [u.code for u in readable_issuers(users["admin"])]


def test_the_register_of_another_district_is_refused(app, lists):
    for who in ("head", "outsider"):
        assert login(app, lists["users"][who]).get("/decisions?issuer=huyen-khac").status_code == 403


def test_an_administrator_reads_the_outbox_of_their_own_scope(app, lists):
    users = lists["users"]

    def subjects(user) -> set[str]:
        html = login(app, user).get("/outbox").get_data(as_text=True)
        return {x.code for x in (lists["mine"], lists["sibling"], lists["theirs"]) if x.code in html}
    assert subjects(users["head"]) == {lists["mine"].code}
    assert subjects(users["outsider"]) == {lists["theirs"].code}
    assert subjects(users["commune_admin"]) == {lists["theirs"].code}
    assert subjects(users["admin"]) == {lists["mine"].code, lists["sibling"].code, lists["theirs"].code}


def test_a_standing_office_sees_the_members_and_reports_of_its_own_district(app, lists):
    users, members = lists["users"], lists["members"]
    for office, own, other in (("office", "na-tam", "xa-khac"), ("other_office", "xa-khac", "na-tam")):
        client = login(app, users[office])
        for page in ("/admin/committee", "/committee/office"):
            html = client.get(page).get_data(as_text=True)
            assert members[own] in html and members[other] not in html, (office, page)
    html = login(app, users["admin"]).get("/admin/committee").get_data(as_text=True)
    assert members["na-tam"] in html and members["xa-khac"] in html


def test_the_dashboard_counts_registered_villages_in_scope_only(eras):
    """A row shown as the 2024 parent of the successor's villages counts, as registered, only
    the registered villages in the successor's scope, like its village count."""
    successor = eras["users"]["successor"]
    day = date(2024, 12, 31)
    with time_machine.travel(AFTER_REFORM, tick=True):
        dash = dashboard(successor, 2024)
        registered = campaign_facts(dash.kind, 2024, day)
        assert registered is not None and registered.registered, "the 2024 campaign file registers villages"
        scope = scope_of(successor, progress=True)
        expected: dict[str, int] = {}
        for code in registered.registered:
            unit = find_unit(code)
            if unit is not None and in_scope(scope, unit) and unit.parent_on(day) is not None:
                expected[unit.parent_on(day).code] = expected.get(unit.parent_on(day).code, 0) + 1
        # One registered village as the scope: its commune counts 1, not all its registered villages.
        everyone = registered.registered_by_commune
        commune = max(everyone, key=everyone.get)
        village = next(u for u in map(find_unit, registered.registered) if u.parent_on(day).code == commune)
        alone = campaign_facts(dash.kind, 2024, day, Scope.of_unit(village)).registered_by_commune
    got = {c.code: c.registered for c in dash.communes}
    assert got == {code: expected.get(code, 0) for code in got}
    assert all(c.registered <= c.villages for c in dash.communes)
    assert everyone[commune] > 1 and alone == {commune: 1}
