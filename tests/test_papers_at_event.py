"""Papers rendered when they are issued, after the issuing transaction commits
(services/documents/after_commit.py): the receipt at submission, the appraisal report
at appraisal, the apology slip; a download then reads the stored file.

Real renders in the render workers, real files under STORAGE_DIR, read back with
pdftotext; a failure is forced with a render time limit too short for any PDF.
"""
from __future__ import annotations

import hashlib
import logging
import shutil
import subprocess
from pathlib import Path

import frozen_clock
import pytest
from helpers import dossier_in, fire
from test_apology import next_working, post, today
from test_clocks import _overdue_dossier
from test_documents import Road

from workflow_app.extensions import db
from workflow_app.models import Counter, Document, Dossier
from workflow_app.services import fire_batch, fire_event
from workflow_app.services.admin.doctor import find_breaches
from workflow_app.services.core.storage import path_of
from workflow_app.workflow.errors import DomainError

YEAR = frozen_clock.YEAR
LOGGER = "workflow_app.services.documents.after_commit"
needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


def stored_files(app) -> dict[str, float]:
    """Every file under STORAGE_DIR -> its modification time."""
    root = Path(app.config["STORAGE_DIR"])
    return {p.relative_to(root).as_posix(): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def pdf_text(data: bytes) -> str:
    out = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    return " ".join(out.split())


def fresh(doc_id: int) -> Document:
    db.session.expire_all()
    return db.session.get(Document, doc_id)


def assert_stored(doc: Document) -> bytes:
    """The paper's PDF is in storage and its bytes are the ones recorded."""
    assert doc.pdf_key and doc.pdf_sha256
    data = path_of(doc.pdf_key).read_bytes()
    assert data.startswith(b"%PDF")
    assert hashlib.sha256(data).hexdigest() == doc.pdf_sha256
    return data


def renders_at_issue(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and "rendered at issue" in r.getMessage()]


@pytest.fixture
def road(app, make_user, api_as):
    return Road(make_user, api_as)


@pytest.fixture
def appraiser(make_user):
    return make_user("appraiser", "tam-duong", name="Nguyễn Thị Thẩm")


# ----------------------------------------------------------------------------- at the event

@needs_poppler
def test_submit_and_appraise_store_their_pdf_without_a_download(road, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    road.submit()
    [receipt] = road.docs()
    data = assert_stored(fresh(receipt.id))
    text = pdf_text(data)
    assert "GIẤY TIẾP NHẬN HỒ SƠ" in text and road.dossier.code in text
    road.pass_all()
    road.appraise()
    [report] = road.docs("appraisal_report")
    text = pdf_text(assert_stored(fresh(report.id)))
    assert road.dossier.code in text and "01/BC-NN" in text
    assert len(renders_at_issue(caplog)) == 2  # one render per paper, none for anything else


@needs_poppler
def test_apology_slip_is_rendered_after_its_commit(app, make_user, api_as):
    dossier = _overdue_dossier(make_user, api_as)
    appraiser = make_user("appraiser", "tam-duong")
    r = post(api_as(appraiser), dossier.id, next_working(today()))
    assert r.status_code == 201, r.json
    doc = fresh(r.json["id"])
    text = pdf_text(assert_stored(doc))
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text and dossier.code in text


def test_download_reads_the_stored_file(app, road, tmp_path, caplog):
    road.submit()
    [receipt] = road.docs()
    stored = fresh(receipt.id)
    before = stored_files(app)
    # Any render now would fail: a download that answers 200 has rendered nothing.
    app.config["PDF_RENDER_TIMEOUT"] = 0.001
    caplog.set_level(logging.INFO)
    _, r = road.download(receipt, tmp_path)
    assert hashlib.sha256(r.data).hexdigest() == stored.pdf_sha256
    assert r.headers["ETag"].strip('"') == stored.pdf_sha256
    client = app.test_client()
    client.post("/login", data={"username": road.submitter.username, "password": "pw-123456"}).close()
    page = client.get(f"/dossiers/{road.dossier.id}/documents/{receipt.id}.pdf")
    assert page.status_code == 200 and page.data == r.data
    page.close()
    assert stored_files(app) == before  # nothing written, nothing touched
    assert not [m for m in caplog.messages if "rendered" in m]


# ----------------------------------------------------------------------------- not committed

def test_a_rolled_back_act_renders_nothing(app, make_user, appraiser, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    officer = make_user("submitter", "na-tam")
    first = dossier_in(officer, "na-tam-01", YEAR, "submitted")
    second = dossier_in(officer, "na-tam-02", YEAR, "submitted")
    draft = dossier_in(officer, "na-tam-03", YEAR, "draft")
    before = stored_files(app)
    # One transaction: an appraisal issues report no. 1 (flushed, numbered), then a batch
    # in which one dossier is refused; the request rolls back.
    fire_event(appraiser, first, "appraise")
    assert db.session.execute(db.select(Document).where(Document.kind == "appraisal_report")).scalars().all()
    with pytest.raises(DomainError):
        fire_batch(appraiser, [(second, None), (draft, None)], "appraise")
    db.session.rollback()
    # A later commit in the same session renders nothing that was rolled back.
    db.session.get(Dossier, first.id).fields = {"request_ref": "Tờ trình số 1"}
    db.session.commit()
    assert stored_files(app) == before
    assert db.session.execute(db.select(Document).where(Document.kind == "appraisal_report")).first() is None
    assert db.session.execute(db.select(Counter).where(Counter.scope.like("appraisal_report:%"))).first() is None
    assert renders_at_issue(caplog) == []


def test_a_savepoint_rolled_back_drops_its_papers_only(app, make_user, appraiser, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    officer = make_user("submitter", "na-tam")
    kept = dossier_in(officer, "na-tam-01", YEAR, "submitted")
    dropped = dossier_in(officer, "na-tam-02", YEAR, "submitted")
    fire_event(appraiser, kept, "appraise")
    savepoint = db.session.begin_nested()
    fire_event(appraiser, dropped, "appraise")
    savepoint.rollback()
    db.session.commit()
    [report] = db.session.execute(db.select(Document).where(Document.kind == "appraisal_report")).scalars().all()
    assert report.dossier_id == kept.id
    assert_stored(fresh(report.id))
    assert len(renders_at_issue(caplog)) == 1


def test_a_batch_renders_each_paper_once(app, make_user, appraiser, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    officer = make_user("submitter", "na-tam")
    dossiers = [dossier_in(officer, unit, YEAR, "submitted") for unit in ("na-tam-01", "na-tam-02", "na-tam-03")]
    before = stored_files(app)
    fire_batch(appraiser, [(d, None) for d in dossiers], "appraise")
    db.session.commit()
    reports = db.session.execute(db.select(Document).where(Document.kind == "appraisal_report")
                                 .order_by(Document.id)).scalars().all()
    assert [r.number for r in reports] == [1, 2, 3]
    for r in reports:
        assert_stored(r)
    keys = {r.pdf_key for r in reports}
    assert len(keys) == 3 and set(stored_files(app)) - set(before) == keys
    assert len(renders_at_issue(caplog)) == 3


# ----------------------------------------------------------------------------- a failed render

def test_a_failed_render_after_commit_keeps_the_paper(app, make_user, api_as, tmp_path, caplog):
    officer = make_user("submitter", "na-tam")
    dossier = dossier_in(officer, "na-tam-01", YEAR, "submitted")
    api = api_as(make_user("appraiser", "tam-duong"))
    app.config["PDF_RENDER_TIMEOUT"] = 0.001  # no PDF lays out this fast: the render after commit fails
    caplog.set_level(logging.ERROR, logger=LOGGER)
    r = fire(api, dossier.id, "appraise")
    assert r.status_code == 200, r.get_json()  # the act stands
    assert any("rendering after issue failed" in m for m in caplog.messages)
    [report] = db.session.execute(db.select(Document).where(Document.kind == "appraisal_report")).scalars().all()
    report = fresh(report.id)
    assert (report.number, report.pdf_key) == (1, None)
    # Within its grace period the doctor does not call it a breach; past it, it does.
    assert not [b for b in find_breaches() if "no stored PDF" in b]
    assert [b for b in find_breaches(grace_seconds=0) if "no stored PDF" in b] == [
        f"appraisal_report {report.symbol} of dossier {dossier.code} round 1 (document {report.id}) has no stored "
        "PDF (its render after issue failed; the first download renders it)"]
    # The download renders it (the fallback) and keeps it.
    app.config["PDF_RENDER_TIMEOUT"] = 60.0
    r = api.get(f"/api/v1/dossiers/{dossier.id}/documents/{report.id}.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    report = fresh(report.id)
    assert hashlib.sha256(r.data).hexdigest() == report.pdf_sha256 == hashlib.sha256(assert_stored(report)).hexdigest()
    assert api.get(f"/api/v1/dossiers/{dossier.id}/documents/{report.id}.pdf").data == r.data
    assert find_breaches(grace_seconds=0) == []
