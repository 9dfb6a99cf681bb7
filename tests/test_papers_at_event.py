"""Papers rendered when they are issued, after the issuing transaction commits
(services/documents/after_commit.py): the receipt at submission, the appraisal report
at appraisal, the apology slip; a download then reads the stored file.

Production's way (PAPERS_RENDER=background, set here for every test): a request's
papers are rendered by the app process's background thread after the answer has left
(services/documents/background.py); `settle()` waits for it. The rest of the suite
renders inline (conftest.py), which is tested here too.

Real renders in the render workers, real threads, real files under STORAGE_DIR, read
back with pdftotext; a failure is forced with a render time limit too short for any PDF.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from contextlib import contextmanager
from pathlib import Path

import frozen_clock
import pytest
from conftest import PG_URL, ROOT, build_app
from helpers import dispose_engines, dossier_in, fire
from test_apology import next_working, post, today
from test_clocks import _overdue_dossier
from test_documents import Road

from workflow_app.config import Config
from workflow_app.extensions import db
from workflow_app.models import Counter, Document, Dossier
from workflow_app.services import fire_batch, fire_event
from workflow_app.services.admin.doctor import find_breaches
from workflow_app.services.core.storage import path_of
from workflow_app.services.documents.background import drain, later, pending
from workflow_app.workflow.errors import DomainError

YEAR = frozen_clock.YEAR
LOGGER = "workflow_app.services.documents.after_commit"
PAPERS = "workflow_app.services.documents.papers"
WAIT = 120  # seconds: a render worker may have to start
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


def rendered(caplog, where: str = "at issue") -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name in (LOGGER, PAPERS)
            and f"rendered {where}" in r.getMessage()]



def settle() -> None:
    """Wait for the background thread to render what was queued."""
    assert drain(WAIT), "the background renders did not finish"


@contextmanager
def thread_held(app):
    """The background thread busy with a job that waits until the block ends: what
    is queued meanwhile waits behind it."""
    go, started = threading.Event(), threading.Event()

    def hold():
        started.set()
        go.wait(WAIT)
    later(app, hold)
    assert started.wait(WAIT)
    try:
        yield
    finally:
        go.set()


@pytest.fixture(autouse=True)
def background(app):
    app.config["PAPERS_RENDER"] = "background"
    yield
    settle()  # nothing of this test may run into the next one


@pytest.fixture
def road(app, make_user, api_as):
    return Road(make_user, api_as)


@pytest.fixture
def appraiser(make_user):
    return make_user("appraiser", "tam-duong", name="Nguyễn Thị Thẩm")


def submit(road: Road) -> Document:
    r = fire(road.api, road.dossier.id, "submit")
    assert r.status_code == 200, r.get_json()
    [receipt] = road.docs()
    return receipt


# ----------------------------------------------------------------------------- at the event

@needs_poppler
def test_the_answer_leaves_before_the_receipt_is_rendered_and_the_receipt_follows(app, road, make_user,
                                                                                  api_as, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    with thread_held(app):
        receipt = submit(road)  # answered while the thread cannot render anything
        assert fresh(receipt.id).pdf_key is None
        assert pending() == 2  # the job holding the thread, and the receipt's render
    settle()
    text = pdf_text(assert_stored(fresh(receipt.id)))
    assert "GIẤY TIẾP NHẬN HỒ SƠ" in text and road.dossier.code in text
    road.pass_all()
    r = fire(api_as(road.appraiser), road.dossier.id, "appraise")
    assert r.status_code == 200, r.get_json()
    settle()
    [report] = road.docs("appraisal_report")
    text = pdf_text(assert_stored(fresh(report.id)))
    assert road.dossier.code in text and "01/BC-NN" in text
    assert len(rendered(caplog)) == 2  # one render per paper, none for anything else


@needs_poppler
def test_apology_slip_is_rendered_after_its_commit(app, make_user, api_as):
    dossier = _overdue_dossier(make_user, api_as)
    appraiser = make_user("appraiser", "tam-duong")
    r = post(api_as(appraiser), dossier.id, next_working(today()))
    assert r.status_code == 201, r.json
    settle()
    doc = fresh(r.json["id"])
    text = pdf_text(assert_stored(doc))
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text and dossier.code in text


def test_download_reads_the_stored_file(app, road, tmp_path, caplog):
    receipt = submit(road)
    settle()
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


def test_inline_renders_before_the_answer(app, road, caplog):
    app.config["PAPERS_RENDER"] = "inline"
    caplog.set_level(logging.INFO, logger=LOGGER)
    receipt = submit(road)
    assert pending() == 0
    assert_stored(fresh(receipt.id))
    assert len(rendered(caplog)) == 1


def test_papers_issued_outside_a_request_are_rendered_before_the_command_goes_on(app, make_user, appraiser):
    """A `flask` command or a script: nobody waits for an answer, and the command must
    not end before its papers exist."""
    dossier = dossier_in(make_user("submitter", "na-tam"), "na-tam-01", YEAR, "submitted")
    fire_event(appraiser, dossier, "appraise")
    db.session.commit()
    assert pending() == 0
    [report] = db.session.execute(db.select(Document).where(Document.kind == "appraisal_report")).scalars().all()
    assert_stored(fresh(report.id))


def test_the_process_does_not_exit_before_its_queued_papers_are_rendered(app, road, tmp_path):
    """A process that queued renders (a gunicorn worker told to stop, `flask run` ended)
    finishes them at exit: here one exits right after its request's answer."""
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(ROOT)!r}, {str(ROOT / "tests")!r}]
        import frozen_clock
        frozen_clock.start()
        from workflow_app.app import create_app
        from workflow_app.services.documents.background import pending

        if __name__ == "__main__":
            app = create_app({{"SQLALCHEMY_DATABASE_URI": {app.config["SQLALCHEMY_DATABASE_URI"]!r},
                               "STORAGE_DIR": {app.config["STORAGE_DIR"]!r}, "SECRET_KEY": "x",
                               "PUBLIC_BASE_URL": "http://ntm.test"}})
            assert app.config["PAPERS_RENDER"] == "background"
            r = app.test_client().post("/api/v1/dossiers/{road.dossier.id}/events", json={{"event": "submit"}},
                                       headers={{"Authorization": "Bearer {road.api.token}"}})
            assert r.status_code == 200, r.get_json()
            print("queued", pending(), flush=True)
    """)
    (tmp_path / "exit.py").write_text(script)
    out = subprocess.run([sys.executable, str(tmp_path / "exit.py")], capture_output=True, text=True,
                         timeout=WAIT, cwd=ROOT, env={**os.environ, "APP_ENV": "development"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert "queued 1" in out.stdout  # the answer came before the render
    [receipt] = road.docs()
    assert_stored(fresh(receipt.id))


# ----------------------------------------------------------------------------- one paper, one file

@needs_poppler
def test_a_download_before_the_background_render_renders_it_and_the_thread_then_does_not(app, road, tmp_path,
                                                                                          caplog):
    caplog.set_level(logging.INFO)
    before = stored_files(app)
    with thread_held(app):
        receipt = submit(road)
        _, r = road.download(receipt, tmp_path)  # the paper's render is still queued: rendered now
        assert "GIẤY TIẾP NHẬN HỒ SƠ" in pdf_text(r.data)
        assert len(rendered(caplog, "at download")) == 1
    settle()  # the queued render finds the key
    stored = fresh(receipt.id)
    assert hashlib.sha256(r.data).hexdigest() == stored.pdf_sha256 == hashlib.sha256(assert_stored(stored)).hexdigest()
    assert rendered(caplog) == []
    assert set(stored_files(app)) - set(before) == {stored.pdf_key}
    assert find_breaches(grace_seconds=0) == []


def race_download_with_the_thread(app, road: Road, client_app=None):
    """Submit while the background thread waits at a barrier; then let the thread
    (whose next job is the receipt's render) and a download meet there and go at once.
    The download goes through ``client_app`` (another app on the same database: a
    second machine) when given. Returns (receipt, download response)."""
    gate = threading.Barrier(2, timeout=WAIT)
    later(app, gate.wait)
    receipt = submit(road)
    url = f"/api/v1/dossiers/{road.dossier.id}/documents/{receipt.id}.pdf"
    answers = []

    def download():
        client = (client_app or app).test_client()
        gate.wait()
        response = client.get(url, headers={"Authorization": f"Bearer {road.api.token}"})
        response.get_data()
        response.close()  # the file sent
        answers.append(response)
    thread = threading.Thread(target=download)
    thread.start()
    thread.join(WAIT)
    settle()
    [r] = answers
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    return receipt, r


def test_two_renders_at_once_in_one_process_store_one_file(app, road, caplog):
    caplog.set_level(logging.INFO)
    before = stored_files(app)
    receipt, r = race_download_with_the_thread(app, road)
    stored = fresh(receipt.id)
    assert hashlib.sha256(r.data).hexdigest() == stored.pdf_sha256 == hashlib.sha256(assert_stored(stored)).hexdigest()
    assert len(rendered(caplog) + rendered(caplog, "at download")) == 1  # the other one found the key
    assert set(stored_files(app)) - set(before) == {stored.pdf_key}


@pytest.mark.pg
@pytest.mark.skipif(not PG_URL, reason="the paper's row lock is PostgreSQL's (SQLite has none)")
def test_two_renders_at_once_on_two_machines_store_one_file(app, tmp_path, pg_database, make_user, api_as, caplog):
    """A second app on the same database draws a different watermark: had both
    rendered, two different files would be stored. The row lock lets one render; the
    other waits, finds the key and renders nothing."""
    other = build_app(tmp_path, pg_database)  # before any data: building empties the tables
    other.config.update(PDF_WATERMARK="MÁY HAI", PAPERS_RENDER="background")
    try:
        road = Road(make_user, api_as)
        caplog.set_level(logging.INFO)
        before = stored_files(app)
        receipt, r = race_download_with_the_thread(app, road, client_app=other)
        stored = fresh(receipt.id)
        assert hashlib.sha256(r.data).hexdigest() == stored.pdf_sha256
        assert hashlib.sha256(assert_stored(stored)).hexdigest() == stored.pdf_sha256
        assert len(rendered(caplog) + rendered(caplog, "at download")) == 1
        assert set(stored_files(app)) - set(before) == {stored.pdf_key}
        assert find_breaches(grace_seconds=0) == []
    finally:
        with other.app_context():
            db.session.remove()
            dispose_engines()


# ----------------------------------------------------------------------------- not committed

def test_a_rolled_back_act_renders_nothing(app, make_user, appraiser, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    officer = make_user("submitter", "na-tam")
    first = dossier_in(officer, "na-tam-01", YEAR, "submitted")
    second = dossier_in(officer, "na-tam-02", YEAR, "submitted")
    draft = dossier_in(officer, "na-tam-03", YEAR, "draft")
    before = stored_files(app)
    with app.test_request_context():  # a request's papers: the background thread's
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
    settle()
    assert stored_files(app) == before
    assert db.session.execute(db.select(Document).where(Document.kind == "appraisal_report")).first() is None
    assert db.session.execute(db.select(Counter).where(Counter.scope.like("appraisal_report:%"))).first() is None
    assert rendered(caplog) == []


def test_a_savepoint_rolled_back_drops_its_papers_only(app, make_user, appraiser, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    officer = make_user("submitter", "na-tam")
    kept = dossier_in(officer, "na-tam-01", YEAR, "submitted")
    dropped = dossier_in(officer, "na-tam-02", YEAR, "submitted")
    with app.test_request_context():
        fire_event(appraiser, kept, "appraise")
        savepoint = db.session.begin_nested()
        fire_event(appraiser, dropped, "appraise")
        savepoint.rollback()
        db.session.commit()
    settle()
    [report] = db.session.execute(db.select(Document).where(Document.kind == "appraisal_report")).scalars().all()
    assert report.dossier_id == kept.id
    assert_stored(fresh(report.id))
    assert len(rendered(caplog)) == 1


def test_a_batch_renders_each_paper_once(app, make_user, appraiser, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    officer = make_user("submitter", "na-tam")
    dossiers = [dossier_in(officer, unit, YEAR, "submitted") for unit in ("na-tam-01", "na-tam-02", "na-tam-03")]
    before = stored_files(app)
    with app.test_request_context():
        fire_batch(appraiser, [(d, None) for d in dossiers], "appraise")
        db.session.commit()
    settle()
    reports = db.session.execute(db.select(Document).where(Document.kind == "appraisal_report")
                                 .order_by(Document.id)).scalars().all()
    assert [r.number for r in reports] == [1, 2, 3]
    for r in reports:
        assert_stored(fresh(r.id))
    keys = {r.pdf_key for r in reports}
    assert len(keys) == 3 and set(stored_files(app)) - set(before) == keys
    assert len(rendered(caplog)) == 3


# ----------------------------------------------------------------------------- a failed render

def test_a_failed_render_after_commit_keeps_the_paper(app, make_user, api_as, tmp_path, caplog):
    officer = make_user("submitter", "na-tam")
    dossier = dossier_in(officer, "na-tam-01", YEAR, "submitted")
    api = api_as(make_user("appraiser", "tam-duong"))
    app.config["PDF_RENDER_TIMEOUT"] = 0.001  # no PDF lays out this fast: the render after commit fails
    caplog.set_level(logging.ERROR, logger=LOGGER)
    r = fire(api, dossier.id, "appraise")
    assert r.status_code == 200, r.get_json()  # the act stands
    settle()
    assert any("rendering after issue failed" in m for m in caplog.messages)
    [report] = db.session.execute(db.select(Document).where(Document.kind == "appraisal_report")).scalars().all()
    report = fresh(report.id)
    assert (report.number, report.pdf_key) == (1, None)
    # Within its grace period the doctor does not call it a breach; past it, it does.
    assert not [b for b in find_breaches() if "no stored PDF" in b]
    assert [b for b in find_breaches(grace_seconds=0) if "no stored PDF" in b] == [
        f"appraisal_report {report.symbol} of dossier {dossier.code} round 1 (document {report.id}) has no stored "
        "PDF (its render after issue failed or never ran; the first download renders it)"]
    # The download renders it (the fallback) and keeps it.
    app.config["PDF_RENDER_TIMEOUT"] = 60.0
    r = api.get(f"/api/v1/dossiers/{dossier.id}/documents/{report.id}.pdf")
    assert r.status_code == 200 and r.data.startswith(b"%PDF")
    report = fresh(report.id)
    assert hashlib.sha256(r.data).hexdigest() == report.pdf_sha256 == hashlib.sha256(assert_stored(report)).hexdigest()
    assert api.get(f"/api/v1/dossiers/{dossier.id}/documents/{report.id}.pdf").data == r.data
    assert find_breaches(grace_seconds=0) == []


def test_papers_render_must_be_background_or_inline(monkeypatch):
    monkeypatch.setenv("PAPERS_RENDER", "later")
    with pytest.raises(RuntimeError, match="PAPERS_RENDER must be one of background, inline"):
        Config()
    monkeypatch.setenv("PAPERS_RENDER", "Inline")
    assert Config().PAPERS_RENDER == "inline"
    monkeypatch.delenv("PAPERS_RENDER")
    assert Config().PAPERS_RENDER == "background"
