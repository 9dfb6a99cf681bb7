"""The demo tells the real story: the district's 2024 campaign, the takeover at the
2025 reform, the 2026 campaign of the new communes and the province, every step on
its own date through the ordinary services, and nothing late that the story does
not call late. One seeded database for the module (seeding renders ~10 decisions)."""
from __future__ import annotations

import re
import uuid
from datetime import date

import pytest
import time_machine
from helpers import dispose_engines
from sqlalchemy import create_engine, text

from tests import frozen_clock
from tests.conftest import PG_URL
from workflow_app.app import create_app
from workflow_app.clock import local_date
from workflow_app.extensions import db
from workflow_app.models import AuditRecord, Decision, Dossier, Unit, User
from workflow_app.services.admin.demo import DEMO_USERS, seed_demo
from workflow_app.services.admin.takeover import authority_on
from workflow_app.services.core.campaigns import filing_status
from workflow_app.services.core.clocks import clock_from_transitions, step_clocks
from workflow_app.services.core.common import definition_of
from workflow_app.services.reading.lists import work_queue
from workflow_app.workdays import load_calendar

pytestmark = pytest.mark.db

TODAY = date(2026, 12, 6)   # the day the demo was written for; AFTER_REFORM is the tests' present


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """`flask seed-demo` on an empty database (no tables), as `make run` does, in December 2026."""
    tmp = tmp_path_factory.mktemp("demo")
    admin, name = None, None
    if PG_URL:
        name = f"ntm_demo_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tmp / 'demo.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t",
                      "STORAGE_DIR": str(tmp / "storage"), "SIGNING_DIR": str(tmp / "signing"),
                      "PUBLIC_BASE_URL": "http://ntm.test"})
    with time_machine.travel(frozen_clock.AFTER_REFORM, tick=True):
        result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    created = int(re.search(r"\((\d+) new dossiers\)", result.output).group(1))
    with app.app_context():
        yield app, created
        db.session.remove()
        dispose_engines()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _dossier(unit_code: str, year: int, kind: str | None = None) -> Dossier:
    """The one dossier of the applicant and year (of `kind`: a commune also files plans)."""
    stmt = (db.select(Dossier).join(Unit, Dossier.unit_id == Unit.id)
            .where(Unit.code == unit_code, Dossier.year == year))
    return db.session.execute(stmt.where(Dossier.kind == kind) if kind else stmt).scalar_one()


def _decision(dossier: Dossier, kind: str = "recognition") -> Decision:
    return db.session.execute(db.select(Decision).where(Decision.type == kind, Decision.dossiers.any(
        Dossier.id == dossier.id))).scalar_one()


def _counts() -> tuple[int, ...]:
    return tuple(db.session.scalar(db.select(db.func.count()).select_from(model))
                 for model in (Dossier, Decision, AuditRecord, User))


def test_seeding_again_adds_nothing(seeded):
    app, created = seeded
    assert created > 10
    before = _counts()
    with time_machine.travel(frozen_clock.AFTER_REFORM, tick=True):
        _, again = seed_demo()
        db.session.commit()
    assert again == 0 and _counts() == before
    with time_machine.travel(frozen_clock.AFTER_REFORM, tick=True):
            result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "0 new dossiers" in result.output and "chutich.taleng" in result.output
    assert _counts() == before


def test_the_district_signed_2024_in_october_to_december_numbered_without_gaps(seeded):
    decisions = db.session.execute(db.select(Decision).where(Decision.year == 2024)
                                   .order_by(Decision.number)).scalars().all()
    assert {d.issuer.code for d in decisions} == {"tam-duong"}
    assert [d.number for d in decisions] == list(range(1, len(decisions) + 1)) and len(decisions) >= 4
    assert [d.symbol for d in decisions][:2] == ["01/QĐ-UBND", "02/QĐ-UBND"]
    assert all(date(2024, 10, 1) <= d.issued_on <= date(2024, 12, 31) for d in decisions)
    assert [d.issued_on for d in decisions] == sorted(d.issued_on for d in decisions)
    assert max(len(d.dossiers) for d in decisions) == 3  # one decision for three Giang Ma villages
    town = _dossier("tt-tam-duong", 2024)
    assert town.state == "recognized" and _decision(town).issued_on.year == 2024
    # The revoked one: a district revocation of 2025, its reason free of demo markers.
    revocation = db.session.execute(db.select(Decision).where(Decision.type == "revocation")).scalar_one()
    assert revocation.issuer.code == "tam-duong" and revocation.issued_on.year == 2025
    assert "mẫu" not in revocation.reason.lower()
    assert _dossier("na-tam-05", 2024).state == "rejected"
    returned = db.session.execute(db.select(AuditRecord).where(
        AuditRecord.dossier_id == _dossier("na-tam-04", 2024).id, AuditRecord.to_state == "returned")).scalars().all()
    assert len(returned) == 1


def test_the_commune_of_2025_went_through_the_district_check_and_the_province(seeded):
    dossier = _dossier("giang-ma", 2025, "commune_ntm")
    steps = db.session.execute(db.select(AuditRecord).where(AuditRecord.dossier_id == dossier.id,
                                                           AuditRecord.is_transition)
                               .order_by(AuditRecord.seq)).scalars().all()
    assert [r.to_state for r in steps] == ["draft", "submitted", "verified", "appraised", "recognized"]
    decision = _decision(dossier)
    assert decision.issuer.code == "lai-chau" and decision.issued_on < date(2025, 7, 1)


def test_the_dossier_open_at_the_reform_was_taken_over_and_decided_by_the_new_commune(seeded):
    dossier = _dossier("na-tam-06", 2025)
    takeover = db.session.execute(db.select(AuditRecord).where(
        AuditRecord.dossier_id == dossier.id, AuditRecord.action == "takeover")).scalar_one()
    assert local_date(takeover.at) == date(2025, 7, 1)
    assert takeover.data["from"] == "tam-duong" and takeover.data["to"] == "ban-bo-2025"
    assert "1670/NQ-UBTVQH15" in takeover.comment
    submitted = db.session.execute(db.select(AuditRecord).where(
        AuditRecord.dossier_id == dossier.id, AuditRecord.is_transition,
        AuditRecord.to_state == "submitted")).scalar_one()
    assert date(2025, 6, 1) <= local_date(submitted.at) <= date(2025, 6, 30)
    assert dossier.state == "recognized"
    decision = _decision(dossier)
    assert decision.issuer.code == "ban-bo-2025" and decision.number == 1 and decision.issued_on.year == 2025
    # Only dossiers open on the eve were handed over; those opened under the new communes were not.
    later = db.session.execute(db.select(AuditRecord).join(Dossier, AuditRecord.dossier_id == Dossier.id).where(
        AuditRecord.action == "takeover", Dossier.year == 2026)).scalars().all()
    assert later == []


def test_2026_decisions_are_the_new_communes_each_starting_at_01(seeded):
    decisions = db.session.execute(db.select(Decision).where(Decision.year == 2026)).scalars().all()
    assert {d.issuer.code for d in decisions} == {"ta-leng-2025", "ban-bo-2025"}
    assert all(d.number == 1 and d.symbol == "01/QĐ-UBND" for d in decisions)
    states = {d.unit.code: d.state for d in db.session.execute(
        db.select(Dossier).where(Dossier.year == 2026)).scalars() if d.unit.level == "village"}
    assert {"recognized", "appraised", "submitted", "returned"} <= set(states.values())


def test_the_commune_dossier_of_2026_sits_at_the_province(seeded):
    dossier = _dossier("ta-leng-2025", 2026, "commune_ntm")
    assert dossier.kind == "commune_ntm" and dossier.state == "submitted"
    assert len(dossier.current_criteria()) == 10
    assert authority_on(dossier, frozen_clock.AFTER_REFORM.date()).code == "lai-chau"
    verdicts = db.session.execute(db.select(AuditRecord).where(
        AuditRecord.dossier_id == dossier.id, AuditRecord.action == "appraise_criterion")).scalars().all()
    assert verdicts and {r.actor.username for r in verdicts} == {"thamdinh.tinh"}
    assert any(e.verdict is None for e in dossier.current_criteria())  # still being appraised


@pytest.mark.parametrize("today", [TODAY, frozen_clock.AFTER_REFORM.date()], ids=str)
def test_nothing_is_late_today(seeded, today):
    dossiers = db.session.execute(db.select(Dossier)).scalars().all()
    clocks = step_clocks(dossiers, today)
    late = [d.code for d in dossiers if clocks[d.id] is not None and clocks[d.id].overdue]
    assert late == []
    filed_late = [d.code for d in dossiers if (f := filing_status(d, today)) is not None and f.late]
    assert filed_late == []
    assert sum(1 for c in clocks.values() if c is not None) >= 3  # the open ones do have running clocks


def test_every_step_was_on_a_working_day_and_within_its_time_limit(seeded):
    calendar = load_calendar()
    for dossier in db.session.execute(db.select(Dossier)).scalars():
        records = db.session.execute(db.select(AuditRecord).where(AuditRecord.dossier_id == dossier.id)
                                     .order_by(AuditRecord.seq)).scalars().all()
        transitions = []
        for r in records:
            day = local_date(r.at)
            assert calendar.is_working_day(day), (dossier.code, r.action, day)
            if r.is_transition and r.to_state:
                if transitions:  # the state it leaves was not overdue on leaving
                    left = transitions[-1][0]
                    d = definition_of(dossier, day)
                    st = d.states.get(left)
                    if st is not None and st.time_limit is not None:
                        clock = clock_from_transitions(transitions, left, st.time_limit, day, calendar=calendar,
                                                       paused=getattr(d, "paused_states", None) or ("returned",))
                        assert clock is None or not clock.overdue, (dossier.code, left, day)
                transitions.append((r.to_state, day))


def test_demo_texts_carry_no_demo_markers(seeded):
    comments = db.session.execute(db.select(AuditRecord.comment).where(AuditRecord.comment.is_not(None))).scalars()
    assert not [c for c in comments if "dữ liệu mẫu" in c or "(mẫu)" in c]


def test_district_era_people_read_but_todays_people_act(seeded):
    today = {u.username for u in DEMO_USERS if u.today}
    ended = {u.username for u in DEMO_USERS if not u.today}
    assert {"chutich", "thamdinh", "canbo.natam"} <= ended
    assert {"chutich.taleng", "thamdinh.tinh", "chutich.tinh", "xem.tinh", "quantri"} <= today
    for username in ended:
        user = db.session.execute(db.select(User).where(User.username == username)).scalar_one()
        assert user.active and all(ra.unit.valid_to == date(2025, 6, 30) for ra in user.roles), username


def test_audit_verify_and_doctor_pass(seeded):
    app, _ = seeded
    runner = app.test_cli_runner()
    verify = runner.invoke(args=["audit", "verify"])
    assert verify.exit_code == 0, verify.output
    doctor = runner.invoke(args=["doctor"])
    assert doctor.exit_code == 0, doctor.output


def _trail(dossier: Dossier) -> list[AuditRecord]:
    return db.session.execute(db.select(AuditRecord).where(AuditRecord.dossier_id == dossier.id,
                                                           AuditRecord.is_transition)
                              .order_by(AuditRecord.seq)).scalars().all()


def test_plans_and_cement_requests_of_2024_went_to_the_districts_finance_office(seeded):
    accepted = [_dossier(c, 2024, "funding_plan") for c in ("giang-ma", "son-binh")]
    assert {d.state for d in accepted} == {"accepted"}
    for d in accepted:
        assert d.current_lines() and all(ln.values["amount_vnd"] > 0 for ln in d.current_lines())
        assert {r.actor.username for r in _trail(d) if r.to_state == "accepted"} == {"taichinh"}
        assert local_date(next(r.at for r in _trail(d) if r.to_state == "submitted")) <= date(2024, 4, 30)
    # Nà Tăm's plan: accepted in May, amended in September, the new version still a draft;
    # the accepted version's lines stay readable as round 1.
    amended = _dossier("na-tam", 2024, "funding_plan")
    assert amended.state == "draft" and amended.round == 2
    assert [r.to_state for r in _trail(amended)] == ["draft", "submitted", "accepted", "draft"]
    old = [ln for ln in amended.lines if ln.round == 1]
    assert len(old) == 4 and len(amended.current_lines()) == 5
    assert sum(ln.values["amount_vnd"] for ln in old) == 2_430_000_000
    # Nà Tăm's cement request accepted in part: tonnes granted per line.
    request = _dossier("na-tam", 2024, "cement_request")
    assert request.state == "accepted"
    asked = {ln.values["work"]: (ln.values["cement_tonnes"], ln.granted) for ln in request.current_lines()}
    assert asked["Rãnh thoát nước bản Nà Tăm 5"] == (14, 8) and asked["Sân nhà văn hoá bản Nà Tăm 8"] == (10, 0)
    assert asked["Bê tông hoá đường nội bản Nà Tăm 1"] == (42, 42)
    assert sorted(ln.values["priority"] for ln in request.current_lines()) == [1, 2, 3, 4]
    assert _dossier("son-binh", 2024, "cement_request").state == "accepted"
    returned = _dossier("giang-ma", 2024, "cement_request")
    assert returned.state == "returned"
    assert "ngày công" in _trail(returned)[-1].comment


def test_plans_of_2026_go_to_the_province_and_wait_in_its_queue(seeded):
    assert _dossier("ta-leng-2025", 2026, "funding_plan").state == "accepted"
    partly = _dossier("ta-leng-2025", 2026, "cement_request")
    assert partly.state == "accepted" and any(ln.granted < ln.values["cement_tonnes"] for ln in partly.current_lines())
    waiting = _dossier("ban-bo-2025", 2026, "funding_plan")
    assert waiting.state == "submitted" and waiting.round == 2
    draft = _dossier("binh-lu-2025", 2027, "funding_plan")
    assert draft.state == "draft" and draft.current_lines()
    finance = db.session.execute(db.select(User).where(User.username == "taichinh.tinh")).scalar_one()
    with time_machine.travel(frozen_clock.AFTER_REFORM, tick=True):
        mine = {item.dossier.id: item.actions for item in work_queue(finance)}
        assert mine[waiting.id] == ["accept"]  # the province's finance department accepts or returns it
        officer = db.session.execute(db.select(User).where(User.username == "canbo.binhlu")).scalar_one()
        assert draft.id in {item.dossier.id for item in work_queue(officer)}
    logins = {u.username: u for u in DEMO_USERS}
    assert (logins["taichinh"].role, logins["taichinh"].unit, logins["taichinh"].today) == \
        ("appraiser", "tam-duong", False)
    assert (logins["taichinh.tinh"].role, logins["taichinh.tinh"].unit) == ("appraiser", "lai-chau")
