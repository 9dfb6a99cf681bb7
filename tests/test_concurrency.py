"""No lost updates: of concurrent actions on one dossier exactly one wins.
Proven through the HTTP layer with real threads and real connections."""
from __future__ import annotations

from collections import Counter

import pytest
from conftest import PG_URL
from helpers import dossier_in, race
from test_doctor import assert_clean

from workflow_app.extensions import db
from workflow_app.services.core.users import issue_token

THREADS = 20


def _ready(creator, unit: str, state: str) -> int:
    return dossier_in(creator, unit, 2024, state).id


def test_twenty_threads_same_event_one_winner(app, make_user):
    submitter = make_user("submitter", "na-tam")
    dossier_id = _ready(submitter, "na-tam-02", "draft")
    tokens = [issue_token(submitter) for _ in range(THREADS)]
    db.session.commit()
    results = race(app, [("POST", t, f"/api/v1/dossiers/{dossier_id}/events", {"event": "submit"}) for t in tokens])
    codes = Counter(code for code, _ in results)
    assert codes == {200: 1, 409: THREADS - 1}, results
    assert all(body["error"]["code"] in ("conflict", "not_available", "stale_version")
               for code, body in results if code == 409)
    db.session.expire_all()
    history = app.test_client().get(f"/api/v1/dossiers/{dossier_id}",
                                    headers={"Authorization": f"Bearer {tokens[0]}"}).get_json()["history"]
    assert [h["event"] for h in history] == ["create", "submit"]  # one record for one success
    assert_clean(app)  # the losers left no row and no file behind


@pytest.mark.pg
@pytest.mark.skipif(not PG_URL, reason="parallel recognitions are proven on PostgreSQL (TEST_DATABASE_URL)")
def test_twenty_parallel_recognitions_get_numbers_one_to_twenty(app, make_user):
    approver = make_user("approver", "tam-duong")
    villages = [f"na-tam-0{i}" for i in range(1, 10)] + [f"giang-ma-{i:02d}" for i in range(1, 11)] + ["ban-bo-01"]
    # Dossiers are filed by each village's own commune officer.
    officers = {c: make_user("submitter", c) for c in ("na-tam", "giang-ma", "ban-bo")}
    ids = [_ready(officers[v.rsplit("-", 1)[0]], v, "appraised") for v in villages]
    tokens = [issue_token(approver) for _ in ids]
    db.session.commit()
    results = race(app, [("POST", t, f"/api/v1/dossiers/{i}/events", {"event": "recognize"})
                          for t, i in zip(tokens, ids, strict=True)])
    assert [code for code, _ in results] == [200] * THREADS, results
    numbers = sorted(body["decision"]["number"] for _, body in results)
    assert numbers == list(range(1, THREADS + 1))
    year = results[0][1]["decision"]["issued_on"][:4]
    register = app.test_client().get(f"/api/v1/decisions?issuer=tam-duong&year={year}",
                                     headers={"Authorization": f"Bearer {tokens[0]}"}).get_json()["items"]
    assert [d["number"] for d in register] == list(range(1, THREADS + 1))
    assert_clean(app)  # twenty numbers, twenty decisions, twenty files whose SHA-256 matches
