"""The CONTRACT's transition table, cell by cell: every (state, event, role)
gets the outcome the CONTRACT promises — a move, 403 or 409."""
from __future__ import annotations

import itertools

import pytest
from conftest import build_app
from helpers import dispose_engines, dossier_in

from workflow_app.extensions import db
from workflow_app.services import fire_event
from workflow_app.services.core.users import create_user
from workflow_app.workflow.errors import DomainError

pytestmark = pytest.mark.db

STATES = ["draft", "submitted", "returned", "appraised", "recognized", "rejected", "revoked"]
ROLES = ["preparer", "submitter", "appraiser", "approver", "viewer", "admin"]
# Written from CONTRACT.md, not from states/: the definitions must agree with it.
CONTRACT = {
    "submit": ({"draft", "returned"}, "submitted", {"submitter"}),
    "return": ({"submitted", "appraised"}, "returned", {"appraiser", "approver"}),
    "appraise": ({"submitted"}, "appraised", {"appraiser"}),
    "reject": ({"submitted", "appraised"}, "rejected", {"approver"}),
    "recognize": ({"appraised"}, "recognized", {"approver"}),
    "revoke": ({"recognized"}, "revoked", {"approver"}),
}
ROLE_UNITS = {"preparer": "na-tam-01", "submitter": "na-tam", "appraiser": "tam-duong",
              "approver": "tam-duong", "viewer": "tam-duong", "admin": "lai-chau"}


def expected(state: str, event: str, role: str) -> str | int:
    sources, dest, roles = CONTRACT[event]
    if role not in roles:
        return 403
    if state not in sources:
        return 409
    return dest


@pytest.fixture(scope="module")
def table(tmp_path_factory, pg_database):
    app = build_app(tmp_path_factory.mktemp("table"), pg_database)
    with app.app_context():
        users = {role: create_user(f"t-{role}", "pw-123456", role, unit) for role, unit in ROLE_UNITS.items()}
        creator = create_user("t-creator", "pw-123456", "submitter", "na-tam")
        db.session.commit()
        slots = itertools.cycle(itertools.product([f"na-tam-0{i}" for i in range(1, 10)], range(2020, 2026)))
        yield app, users, creator, slots
        db.session.remove()
        dispose_engines()


def _dossier_in(state: str, creator, slots):
    unit, year = next(slots)
    return dossier_in(creator, unit, year, state)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("event", list(CONTRACT))
@pytest.mark.parametrize("state", STATES)
def test_transition_table(table, state, event, role):
    app, users, creator, slots = table
    dossier = _dossier_in(state, creator, slots)
    version, want = dossier.version, expected(state, event, role)
    try:
        fire_event(users[role], dossier, event, comment="Lý do kiểm thử")
        db.session.commit()
        outcome: str | int = dossier.state
    except DomainError as exc:
        db.session.rollback()
        outcome = exc.status
        db.session.refresh(dossier)
        assert (dossier.state, dossier.version) == (state, version)  # refused: nothing changed
    finally:
        dossier.open_key = None  # free the (kind, unit, year) slot for later cases
        db.session.commit()
    assert outcome == want
