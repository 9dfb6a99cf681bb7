"""The write path's statements, counted (SQLAlchemy's before_cursor_execute): each write
endpoint runs a fixed number of statements, and the same number on a dossier with three
times the history and attachments (no statement per row: no N+1)."""
from __future__ import annotations

from helpers import PDF, dossier_in, statements, upload

from workflow_app.extensions import db
from workflow_app.services import attach_evidence, fire_event, self_assess
from workflow_app.services.core.audit import verify_chains

# Statements per request (SQLite and PostgreSQL alike), reads + writes:
#   reads before the change, 3: the token with its user, roles and their units (auth),
#     the dossier with its applicant, the applicant's places and every round's criteria
#     joined, and its attachments (load_dossier);
#   writes, 3 for a criterion: the audit record's INSERT, the dossier's compare-and-set
#     UPDATE carrying the new version and the audit chain's new head together, and the
#     changed row;
#   the answer ("200 with the dossier", CONTRACT), 3 fixed: the audit trail (history,
#     step clock, first filing and the caller's own acts for separation of duties), the
#     papers with their issuers, the decisions of both types. The caller's roles come
#     from the token check, never again.
LIMITS = {
    "get": 6,             # 3 + the answer's 3
    "put_criterion": 9,   # 3 + 3 + 3
    "fields": 8,          # 3 + 2 (no criterion row) + 3
    "upload": 7,          # answers the attachment only: 3 + record, dossier, attachment, criterion reopened
    "delete": 6,          # 3 + record, dossier, attachment (nothing to reopen here)
    # Below, the rules add fixed statements: appraising asks once "did this appraiser
    # submit it" (separation of duties; the answer reads it from the trail); submitting
    # issues the receipt: its step clock, the applicant's ancestors (the receiving body:
    # the units of its path, their links), the paper's INSERT, and, as the tests render
    # papers inline (PAPERS_RENDER), the paper's row checked and its file recorded.
    "appraisal": 10,      # 3 + 1 + 3 + 3
    "submit": 14,         # 3 + 2 + 4 (receipt) + 3 + 2 (inline render)
}


def _count(call) -> tuple[int, int]:
    db.session.remove()  # a request starts with an empty session
    with statements() as seen:
        response = call()
    assert response.status_code in (200, 201, 204), response.json
    return len(seen), response.status_code


def _returned(submitter, appraiser, unit: str, grow: int = 0):
    """A dossier returned for revision; `grow` adds that many claims and files to its history."""
    dossier = dossier_in(submitter, unit, 2024, "submitted")
    dossier.criterion("1").verdict = "fail"
    db.session.commit()
    fire_event(appraiser, dossier, "return", "Bổ sung minh chứng tiêu chí 1")
    db.session.commit()
    for i in range(grow):
        self_assess(submitter, dossier, "2", "met" if i % 2 else "not_met", f"lần {i}")
        attach_evidence(submitter, dossier, f"them-{i}.pdf", PDF, "3")
        db.session.commit()
    return dossier.id


def _measure(as_submitter, as_appraiser, dossier_id: int) -> dict[str, int]:
    base = f"/api/v1/dossiers/{dossier_id}"
    row = {
        "get": _count(lambda: as_submitter.get(base))[0],
        "put_criterion": _count(lambda: as_submitter.put(f"{base}/criteria/4", json={"self_assessment": "met",
                                                                                    "note": "đủ"}))[0],
        "fields": _count(lambda: as_submitter.put(f"{base}/fields", json={"request_ref": "Tờ trình 1"}))[0],
        "upload": _count(lambda: upload(as_submitter, dossier_id, "5", PDF))[0],
    }
    newest = as_submitter.get(base).json["attachments"][-1]["id"]
    row["delete"] = _count(lambda: as_submitter.client.delete(f"{base}/attachments/{newest}",
                                                              headers=as_submitter._headers()))[0]
    row["submit"] = _count(lambda: as_submitter.post(f"{base}/events", json={"event": "submit"}))[0]
    row["appraisal"] = _count(lambda: as_appraiser.post(f"{base}/criteria/1/appraisal", json={"verdict": "pass"}))[0]
    return row


def test_write_endpoints_run_a_fixed_number_of_statements(app, make_user, api_as):
    submitter = make_user("submitter", "na-tam")
    appraiser = make_user("appraiser", "tam-duong")
    small = _returned(submitter, appraiser, "na-tam-02")
    # Three times the attachments (14 -> 42+) and many more history records.
    big = _returned(submitter, appraiser, "na-tam-03", grow=30)
    as_submitter, as_appraiser = api_as(submitter), api_as(appraiser)
    counts = {name: _measure(as_submitter, as_appraiser, dossier_id)
              for name, dossier_id in (("small", small), ("big", big))}
    print(counts)
    for endpoint, limit in LIMITS.items():
        assert counts["small"][endpoint] <= limit, (endpoint, counts)
        assert counts["big"][endpoint] == counts["small"][endpoint], (endpoint, counts)  # no N+1
    assert verify_chains()[1] is None
