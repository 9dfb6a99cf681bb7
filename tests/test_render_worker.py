"""PDFs are laid out in recycled worker processes with a time limit (workflow_app/pdf/worker.py).

Real renders of the decision template; the only numbers asserted are counts and
memory, never durations.
"""
from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from test_doctor import assert_clean
from test_pdf_render import TEMPLATE, make_facts

from workflow_app.pdf import worker
from workflow_app.pdf.decision import decision_context
from workflow_app.pdf.printing import render_document, render_pdf
from workflow_app.pdf.render import AssetFetchError
from workflow_app.workflow.errors import DomainError


@pytest.fixture(scope="module")
def context() -> dict:
    return decision_context(make_facts())


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def gone(pid: int) -> bool:
    """The process has exited and been reaped (no zombie left behind)."""
    return not Path(f"/proc/{pid}").exists()


def fresh_worker(context) -> int:
    """Retire whatever worker ran before (recycle=1) so counts start from zero."""
    render_document(TEMPLATE, context, recycle=1)


def test_renders_in_another_process_and_returns_the_slots(context):
    rendered = render_document(TEMPLATE, context)
    assert rendered.pdf.startswith(b"%PDF") and rendered.worker_pid != os.getpid()
    assert {"signature", "signature-text"} <= set(rendered.slots)
    assert render_pdf(TEMPLATE, context).startswith(b"%PDF")  # the plain entry point too


def test_errors_raised_in_the_worker_arrive_as_themselves():
    with pytest.raises(AssetFetchError):
        worker.run("layout", '<img src="http://example.com/x.png">')
    with pytest.raises(ValueError, match="plain"):  # checked before anything is sent
        render_pdf(TEMPLATE, {"x": object()})


def test_timeout_kills_the_worker_raises_503_and_the_next_render_works(context):
    before = render_document(TEMPLATE, context).worker_pid
    with pytest.raises(worker.RenderTimeout) as caught:
        render_document(TEMPLATE, context, timeout=0.001)
    error = caught.value
    assert isinstance(error, DomainError) and error.status == 503 and error.code == "render_timeout"
    assert "thử lại" in error.message("vi") and "try again" in error.message("en")
    assert gone(before)  # killed and reaped, not left running
    after = render_document(TEMPLATE, context)
    assert after.pdf.startswith(b"%PDF") and after.worker_pid != before


def long_table(rows: int) -> str:
    cells = "".join(f"<tr><td>{i}</td><td>Bản Nà Tăm {i}</td><td>xã Bản Bo</td></tr>" for i in range(rows))
    return f"<table>{cells}</table>"


def test_a_render_past_the_memory_cap_fails_with_503_and_the_worker_is_replaced(context):
    """PDF_RENDER_MAX_MB caps the worker's whole data segment (~100 MB after its
    imports) during a job. Under 200 MB a decision still renders; a 3000-row table,
    which needs well over 300 MB, fails, and the worker that failed is gone."""
    small = render_document(TEMPLATE, context, max_mb=200)
    assert small.pdf.startswith(b"%PDF")
    with pytest.raises(worker.RenderFailed) as caught:
        worker.run("layout", long_table(3000), max_mb=200)
    error = caught.value
    # Python code gets a MemoryError; C code (GLib) aborts the process: both are this refusal.
    assert error.status == 503 and error.code == "render_failed"
    assert "out of memory" in error.detail or "memory cap 200 MB" in error.detail, error.detail
    assert "thử lại" in error.message("vi") and "nothing was changed" in error.message("en")
    assert gone(small.worker_pid)
    after = render_document(TEMPLATE, context)  # the configured default cap (1024 MB)
    assert after.pdf.startswith(b"%PDF") and after.worker_pid != small.worker_pid


def test_an_image_weasyprint_cannot_decode_refuses_the_document(context):
    """WeasyPrint logs an image it cannot decode and lays out the page without it:
    a decision would go out without its seal or QR code. The render is refused."""
    broken = '<p>Quyết định</p><img src="data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB">'
    with pytest.raises(worker.RenderFailed) as caught:
        worker.run("layout", broken)
    assert caught.value.status == 503 and "Failed to load image" in caught.value.detail
    assert render_document(TEMPLATE, context).pdf.startswith(b"%PDF")  # the same worker goes on


def test_worker_is_replaced_after_recycle_renders(context):
    fresh_worker(context)
    pids = [render_document(TEMPLATE, context, recycle=3).worker_pid for _ in range(7)]
    assert pids[0] == pids[1] == pids[2] != pids[3] == pids[4] == pids[5] != pids[6]
    assert gone(pids[0]) and gone(pids[3])  # retired workers exit


def test_a_worker_that_died_between_renders_is_replaced(context):
    pid = render_document(TEMPLATE, context).worker_pid
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30  # wait for the kill to land (not a measurement)
    while Path(f"/proc/{pid}/status").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text():
        assert time.monotonic() < deadline
        time.sleep(0.01)
    rendered = render_document(TEMPLATE, context)
    assert rendered.pdf.startswith(b"%PDF") and rendered.worker_pid != pid


def test_app_process_memory_stays_flat_across_renders(context, capsys):
    """WeasyPrint keeps ~0.3-0.5 MB per render in the process that renders; here that
    process is the worker, so the app's RSS must not follow it."""
    fresh_worker(context)
    for _ in range(3):  # warm up: imports, Jinja's compiled template, pipe buffers
        render_document(TEMPLATE, context, recycle=1000)
    app_before = rss_mb()
    first = render_document(TEMPLATE, context, recycle=1000)
    worker_before = rss_mb(first.worker_pid)
    renders = 30
    for _ in range(renders - 1):
        last = render_document(TEMPLATE, context, recycle=1000)
    app_after, worker_after = rss_mb(), rss_mb(last.worker_pid)
    assert last.worker_pid == first.worker_pid
    with capsys.disabled():
        print(f"\n  RSS over {renders} renders: app {app_before:.1f} -> {app_after:.1f} MB, "
              f"worker {worker_before:.1f} -> {worker_after:.1f} MB")
    assert app_after - app_before < 3.0  # in-process rendering would add ~10-15 MB here
    fresh_worker(context)  # leave a small worker behind for the next tests


def test_recognition_that_times_out_is_refused_with_503_and_changes_nothing(app, make_user, api_as):
    from helpers import dossier_in, fire

    officer = make_user("submitter", "na-tam")
    approver = make_user("approver", "tam-duong")
    dossier = dossier_in(officer, "na-tam-06", 2024, "appraised")
    api = api_as(approver)
    app.config["PDF_RENDER_TIMEOUT"] = 0.001
    r = fire(api, dossier.id, "recognize")
    assert r.status_code == 503, r.json
    assert r.json["error"]["code"] == "render_timeout"
    assert api.get(f"/api/v1/dossiers/{dossier.id}").json["state"] == "appraised"
    assert_clean(app)  # the killed render left no number, row or file
    app.config["PDF_RENDER_TIMEOUT"] = 60
    r = fire(api, dossier.id, "recognize")
    assert r.status_code == 200, r.json
    assert api.get(f"/api/v1/dossiers/{dossier.id}").json["state"] == "recognized"
    assert_clean(app)


def test_recognition_past_the_memory_cap_is_refused_with_503_and_uses_no_number(app, make_user, api_as):
    from helpers import dossier_in, fire

    officer = make_user("submitter", "na-tam")
    approver = make_user("approver", "tam-duong")
    dossier = dossier_in(officer, "na-tam-06", 2024, "appraised")
    api = api_as(approver)
    app.config["PDF_RENDER_MAX_MB"] = 60  # below what a worker holds after its imports
    r = fire(api, dossier.id, "recognize")
    assert r.status_code == 503, r.json
    assert r.json["error"]["code"] == "render_failed"
    assert api.get(f"/api/v1/dossiers/{dossier.id}").json["state"] == "appraised"
    assert_clean(app)
    app.config["PDF_RENDER_MAX_MB"] = 1024
    r = fire(api, dossier.id, "recognize")
    assert r.status_code == 200, r.json
    year = api.get(f"/api/v1/dossiers/{dossier.id}").json["decision"]["issued_on"][:4]
    register = api.get(f"/api/v1/decisions?issuer=tam-duong&year={year}").json["items"]
    assert [row["number"] for row in register] == [1]  # the refused attempt used no number
    assert_clean(app)
