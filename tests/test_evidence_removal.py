"""Evidence files can be removed or replaced while the dossier is with its
applicant (draft or returned), by whoever may upload; never after submission
(422 saying why and what to do). Removal is soft: the row, its bytes and an
audit record stay, the file is listed in the history, and it no longer counts
as evidence anywhere (submit guard, API, receipt)."""
from __future__ import annotations

import io
import re

import pytest
from helpers import PDF, fire, make_pdf, upload

from workflow_app.extensions import db
from workflow_app.models import Attachment, AuditRecord, Document, Dossier
from workflow_app.services import attach_evidence, create_dossier, self_assess
from workflow_app.services.admin.doctor import find_breaches
from workflow_app.services.core.audit import verify_chains
from workflow_app.services.core.storage import path_of

YEAR = 2024
OTHER = make_pdf(b"another file")


@pytest.fixture
def people(make_user):
    return {"village": make_user("preparer", "na-tam-01"), "commune": make_user("submitter", "na-tam"),
            "appraiser": make_user("appraiser", "tam-duong"), "outsider": make_user("submitter", "giang-ma")}


def ready(people) -> Dossier:
    """A draft with one file and a 'met' claim per criterion: ready to submit."""
    dossier = create_dossier(people["commune"], "village_ntm", "na-tam-01", YEAR)
    for e in list(dossier.current_criteria()):
        attach_evidence(people["village"], dossier, f"mc-{e.code}.pdf", PDF, e.code)
        self_assess(people["village"], dossier, e.code, "met", None)
    db.session.commit()
    return dossier


def file_of(dossier: Dossier, code: str) -> Attachment:
    return next(a for a in dossier.attachments if a.criterion_code == code and a.removed_at is None)


def records(dossier_id: int, action: str) -> list[AuditRecord]:
    return list(db.session.execute(db.select(AuditRecord).where(AuditRecord.dossier_id == dossier_id,
                                                                AuditRecord.action == action)).scalars())


def sign_in(app, user):
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": "pw-123456"})
    assert r.status_code == 302
    return client


# --- API ---------------------------------------------------------------------------

def test_api_delete_removes_from_the_evidence_and_keeps_the_history(app, people, api_as):
    dossier = ready(people)
    gone = file_of(dossier, "7")
    gone_id, key = gone.id, gone.storage_key
    api = api_as(people["village"])
    r = api._call("DELETE", f"/api/v1/dossiers/{dossier.id}/attachments/{gone_id}")
    assert r.status_code == 204 and r.get_data() == b""
    body = api.get(f"/api/v1/dossiers/{dossier.id}").json
    assert gone_id not in [a["id"] for a in body["attachments"]]
    assert next(c for c in body["criteria"] if c["code"] == "7")["evidence"] == []
    assert len(body["attachments"]) == len(body["criteria"]) - 1
    # The row, its bytes and who removed it stay; the file still opens from the history.
    row = db.session.get(Attachment, gone_id)
    db.session.refresh(row)
    assert row.removed_at is not None and row.removed_by_id == people["village"].id
    assert path_of(key).is_file()
    assert api.get(f"/api/v1/dossiers/{dossier.id}/attachments/{gone_id}").status_code == 200
    (rec,) = records(dossier.id, "remove_evidence")
    assert rec.data["criterion"] == "7" and rec.data["filename"] == "mc-7.pdf" and rec.actor_id == people["village"].id
    assert verify_chains()[1] is None  # the removal's record is chained like the others
    # It no longer counts for submission.
    r = fire(api_as(people["commune"]), dossier.id, "submit")
    assert r.status_code == 422
    assert "Chưa đủ minh chứng cho tiêu chí 7" in r.json["error"]["message"]
    assert not find_breaches(grace_seconds=0)


def test_api_delete_refusals(app, people, api_as):
    dossier = ready(people)
    one, two = file_of(dossier, "1").id, file_of(dossier, "2").id
    url = f"/api/v1/dossiers/{dossier.id}/attachments"
    version = dossier.version
    assert api_as(people["appraiser"])._call("DELETE", f"{url}/{one}").status_code == 403
    assert api_as(people["outsider"])._call("DELETE", f"{url}/{one}").status_code == 404
    village = api_as(people["village"])
    assert village._call("DELETE", f"{url}/999999").status_code == 404
    stale = village._call("DELETE", f"{url}/{one}?version={version - 1}")
    assert stale.status_code == 409
    assert village._call("DELETE", f"{url}/{one}?version={version}").status_code == 204
    again = village._call("DELETE", f"{url}/{one}")
    assert again.status_code == 409 and "đã được gỡ" in again.json["error"]["message"]
    # After submission: 422, saying why and what to do; nothing changes.
    upload(village, dossier.id, "1")
    assert fire(api_as(people["commune"]), dossier.id, "submit").status_code == 200
    db.session.expire_all()
    before = db.session.get(Dossier, dossier.id).version
    late = village._call("DELETE", f"{url}/{two}")
    assert late.status_code == 422
    message = late.json["error"]["message"]
    assert "Đã nộp" in message and "trả lại" in message
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).version == before
    assert db.session.get(Attachment, two).removed_at is None
    english = api_as(people["village"], "en")._call("DELETE", f"{url}/{two}")
    assert english.status_code == 422 and "ask the appraising office to return" in english.json["error"]["message"]


def test_removal_reopens_a_passed_verdict_in_a_new_round(app, people, api_as):
    dossier = ready(people)
    assert fire(api_as(people["commune"]), dossier.id, "submit").status_code == 200
    appraiser = api_as(people["appraiser"])
    for code in ("1", "2"):
        verdict = {"verdict": "fail", "note": "Thiếu"} if code == "2" else {"verdict": "pass"}
        assert appraiser.post(f"/api/v1/dossiers/{dossier.id}/criteria/{code}/appraisal",
                              json=verdict).status_code == 200
    assert fire(appraiser, dossier.id, "return", "Bổ sung tiêu chí 2").status_code == 200
    db.session.expire_all()
    dossier = db.session.get(Dossier, dossier.id)
    assert dossier.criterion("1").verdict == "pass"
    r = api_as(people["village"])._call("DELETE",
                                        f"/api/v1/dossiers/{dossier.id}/attachments/{file_of(dossier, '1').id}")
    assert r.status_code == 204
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).criterion("1").verdict is None


def test_the_receipt_lists_only_the_files_that_count(app, people, api_as):
    dossier = ready(people)
    attach_evidence(people["village"], dossier, "sai-tep.pdf", OTHER, "3")
    db.session.commit()
    wrong = next(a for a in dossier.attachments if a.filename == "sai-tep.pdf").id
    api = api_as(people["village"])
    assert api._call("DELETE", f"/api/v1/dossiers/{dossier.id}/attachments/{wrong}").status_code == 204
    assert fire(api_as(people["commune"]), dossier.id, "submit").status_code == 200
    receipt = db.session.execute(db.select(Document).where(Document.dossier_id == dossier.id,
                                                           Document.kind == "receipt")).scalar_one()
    names = [a["filename"] for a in receipt.data["facts"]["attachments"]]
    assert "sai-tep.pdf" not in names and len(names) == len(dossier.current_criteria())


# --- pages -------------------------------------------------------------------------

def test_remove_on_the_page(app, people):
    dossier = ready(people)
    gone = file_of(dossier, "4")
    client = sign_in(app, people["village"])
    page = client.get(f"/dossiers/{dossier.id}").get_data(as_text=True)
    assert f'action="/dossiers/{dossier.id}/attachments/{gone.id}/remove"' in page
    r = client.post(f"/dossiers/{dossier.id}/attachments/{gone.id}/remove", data={"version": dossier.version})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/dossiers/{dossier.id}#c-4")
    page = client.get(f"/dossiers/{dossier.id}").get_data(as_text=True)
    row = page[page.index('id="c-4"'):page.index('id="c-5"')]
    assert "chưa có tệp" in row
    assert re.search(r"Đã gỡ \(lưu trong quá trình xử lý\):\s*<a [^>]*><del>mc-4\.pdf</del></a>", row)
    history = page[page.index('id="h-history"'):]
    assert "Gỡ minh chứng" in history and "Tiêu chí 4: mc-4.pdf" in history


def test_replace_on_the_page(app, people):
    dossier = ready(people)
    old = file_of(dossier, "5")
    uploads_before = len(records(dossier.id, "attach"))
    client = sign_in(app, people["village"])
    r = client.post(f"/dossiers/{dossier.id}/attachments/{old.id}/replace",
                    data={"version": dossier.version, "file": (io.BytesIO(OTHER), "bien-ban-moi.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    db.session.expire_all()
    dossier = db.session.get(Dossier, dossier.id)
    live = [a.filename for a in dossier.evidence_for("5")]
    assert live == ["bien-ban-moi.pdf"]
    assert [a.filename for a in dossier.removed_evidence_for("5")] == ["mc-5.pdf"]
    # One upload and one removal recorded, the upload first (a refused file removes nothing).
    uploads, removals = records(dossier.id, "attach"), records(dossier.id, "remove_evidence")
    assert len(uploads) == uploads_before + 1 and len(removals) == 1
    assert uploads[-1].id < removals[0].id


def test_a_refused_replacement_is_explained_at_its_form_and_changes_nothing(app, people):
    dossier = ready(people)
    old = file_of(dossier, "5")
    version = dossier.version
    client = sign_in(app, people["village"])
    r = client.post(f"/dossiers/{dossier.id}/attachments/{old.id}/replace",
                    data={"version": version, "file": (io.BytesIO(b"plain text"), "ghi-chu.txt")},
                    content_type="multipart/form-data")
    assert r.status_code == 415
    page = r.get_data(as_text=True)
    item = page[page.index(f'id="a-{old.id}"'):]
    item = item[:item.index("</li>")]
    assert "<details class=\"replace\" open>" in item
    assert 'id="upload-error"' in item and "Chỉ nhận: " in item and "PDF" in item
    assert "tối đa 10 MB" in item  # the limit stays next to the field
    db.session.expire_all()
    dossier = db.session.get(Dossier, dossier.id)
    assert dossier.version == version and [a.filename for a in dossier.evidence_for("5")] == ["mc-5.pdf"]
    assert not records(dossier.id, "remove_evidence")


def test_no_removal_after_submission_on_the_page(app, people, api_as):
    dossier = ready(people)
    target = file_of(dossier, "6")
    assert fire(api_as(people["commune"]), dossier.id, "submit").status_code == 200
    client = sign_in(app, people["village"])
    page = client.get(f"/dossiers/{dossier.id}").get_data(as_text=True)
    assert "/remove" not in page and "/replace" not in page
    db.session.expire_all()
    version = db.session.get(Dossier, dossier.id).version
    r = client.post(f"/dossiers/{dossier.id}/attachments/{target.id}/remove", data={"version": version})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    row = page[page.index('id="c-6"'):page.index('id="c-7"')]
    assert 'id="upload-error"' in row and "trả lại" in row
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).version == version
    assert db.session.get(Attachment, target.id).removed_at is None


def test_only_who_may_upload_may_remove_on_the_page(app, people):
    dossier = ready(people)
    target = file_of(dossier, "6")
    r = sign_in(app, people["appraiser"]).post(f"/dossiers/{dossier.id}/attachments/{target.id}/remove")
    assert r.status_code == 403
    r = sign_in(app, people["outsider"]).post(f"/dossiers/{dossier.id}/attachments/{target.id}/remove")
    assert r.status_code == 404
    db.session.expire_all()
    assert db.session.get(Attachment, target.id).removed_at is None


def test_the_appraisal_form_links_each_file(app, people, api_as):
    dossier = ready(people)
    assert fire(api_as(people["commune"]), dossier.id, "submit").status_code == 200
    page = sign_in(app, people["appraiser"]).get(f"/dossiers/{dossier.id}/appraisal").get_data(as_text=True)
    for e in dossier.current_criteria():
        a = file_of(dossier, e.code)
        assert f'href="/dossiers/{dossier.id}/attachments/{a.id}"' in page
