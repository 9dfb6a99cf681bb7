"""A request without `version` is applied on the latest state: writers of different
criteria of one dossier at once all succeed (a lost race is run again). A request
with a `version` still gets 409 when someone changed the dossier first."""
from __future__ import annotations

from collections import Counter

import pytest
from conftest import PG_URL
from helpers import dossier_in, race

from workflow_app.extensions import db
from workflow_app.services.core.audit import verify_chains
from workflow_app.services.core.persist import ATTEMPTS, LostRace, unit_of_work
from workflow_app.services.core.users import issue_token
from workflow_app.workflow.errors import Conflict

pytestmark = [pytest.mark.pg, pytest.mark.skipif(
    not PG_URL, reason="parallel writers are proven on PostgreSQL (TEST_DATABASE_URL)")]

THREADS = ATTEMPTS  # the most writers of one dossier at once that the retries guarantee


def _draft(make_user):
    submitter = make_user("submitter", "na-tam")
    dossier = dossier_in(submitter, "na-tam-02", 2024, "draft")
    codes = [e.code for e in dossier.current_criteria()][:THREADS]
    tokens = [issue_token(submitter) for _ in codes]
    db.session.commit()
    return dossier.id, dossier.version, codes, tokens


def test_different_criteria_at_once_without_version_all_succeed(app, make_user):
    dossier_id, _version, codes, tokens = _draft(make_user)
    assert len(codes) == THREADS
    results = race(app, [("PUT", t, f"/api/v1/dossiers/{dossier_id}/criteria/{c}",
                           {"self_assessment": "not_met", "note": f"ghi chú {c}"})
                          for t, c in zip(tokens, codes, strict=True)])
    assert [code for code, _ in results] == [200] * THREADS, results
    db.session.expire_all()
    body = app.test_client().get(f"/api/v1/dossiers/{dossier_id}",
                                 headers={"Authorization": f"Bearer {tokens[0]}"}).get_json()
    stored = {c["code"]: (c["self_assessment"], c["note"]) for c in body["criteria"]}
    assert all(stored[c] == ("not_met", f"ghi chú {c}") for c in codes), stored
    assert body["version"] == _version + THREADS  # every save bumped it once: none lost, none twice
    assert verify_chains()[1] is None


def test_same_stale_version_one_winner(app, make_user):
    dossier_id, version, codes, tokens = _draft(make_user)
    results = race(app, [("PUT", t, f"/api/v1/dossiers/{dossier_id}/criteria/{c}",
                           {"self_assessment": "not_met", "version": version})
                          for t, c in zip(tokens, codes, strict=True)])
    statuses = Counter(code for code, _ in results)
    assert statuses == {200: 1, 409: THREADS - 1}, results
    assert {body["error"]["code"] for code, body in results if code == 409} <= {"stale_version", "conflict"}
    assert verify_chains()[1] is None


def test_lost_race_is_retried_only_without_version(app):
    """The helper itself: a lost race reruns the work on the latest state without a
    version, is a 409 at once with one, and other 409s are answers, never retried."""
    runs = []

    def losing():
        runs.append(1)
        raise LostRace()
    with pytest.raises(LostRace):
        unit_of_work(losing)
    assert len(runs) == ATTEMPTS
    runs.clear()
    with pytest.raises(LostRace):
        unit_of_work(losing, expected_version=3)
    assert len(runs) == 1
    runs.clear()

    def refused():
        runs.append(1)
        raise Conflict("Đã gỡ.", "Already removed.")
    with pytest.raises(Conflict):
        unit_of_work(refused)
    assert len(runs) == 1
    runs.clear()

    def wins_second_time():
        runs.append(1)
        if len(runs) == 1:
            raise LostRace()
        return "ok"
    assert unit_of_work(wins_second_time) == "ok" and len(runs) == 2
