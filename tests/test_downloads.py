"""Decision downloads are flask.send_file answers: the same bytes and headers for a
plain GET, conditional (304) and partial (206) answers, the same file through the
page and the API."""
from __future__ import annotations

import time

import flask
import psycopg
import pytest
from conftest import PG_URL
from helpers import dispose_engines, statements

from workflow_app.app import create_app
from workflow_app.extensions import db

pytestmark = pytest.mark.db


def send_file_answer(app, issued, headers=None):
    """What Flask's send_file answers for the stored file, from its path (with
    the headers the app adds to every answer)."""
    with app.test_request_context(issued.url, headers=headers or {}):
        response = app.process_response(flask.send_file(
            issued.path, mimetype="application/pdf", as_attachment=True,
            download_name=issued.name, etag=issued.decision.pdf_sha256))
        response.direct_passthrough = False
        body = response.get_data()
        response.close()
    return response, body


def without_date(headers) -> dict:
    found = {k.lower(): v for k, v in headers.items()}
    assert "date" in found
    del found["date"]
    return found


def test_a_plain_get_answers_send_files_headers_and_bytes(app, issued):
    r = issued.api.get(issued.url)
    expected, body = send_file_answer(app, issued)
    assert r.status_code == expected.status_code == 200
    assert r.data == body == issued.path.read_bytes()
    assert without_date(r.headers) == without_date(expected.headers)
    assert r.headers["ETag"] == f'"{issued.decision.pdf_sha256}"'
    assert r.headers["Content-Disposition"] == f"attachment; filename={issued.name}"


def test_head_gives_the_headers_without_the_body(app, issued):
    r = issued.api.client.head(issued.url, headers=issued.api._headers(), buffered=True)
    expected, _ = send_file_answer(app, issued)
    assert r.status_code == 200 and r.data == b""
    assert without_date(r.headers) == without_date(expected.headers)


def test_a_cached_copy_is_answered_304(app, issued):
    first = issued.api.get(issued.url)
    for headers in ({"If-None-Match": first.headers["ETag"]},
                    {"If-Modified-Since": first.headers["Last-Modified"]}):
        r = issued.api.get(issued.url, headers=headers)
        assert r.status_code == 304 and r.data == b"", headers
        assert r.headers["ETag"] == first.headers["ETag"]
    changed = issued.api.get(issued.url, headers={"If-None-Match": '"another-version"'})
    assert changed.status_code == 200 and changed.data == first.data


def test_a_range_is_answered_206_and_a_bad_range_416(app, issued):
    whole = issued.path.read_bytes()
    r = issued.api.get(issued.url, headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and r.data == whole[:100]
    assert r.headers["Content-Range"] == f"bytes 0-99/{len(whole)}"
    expected, body = send_file_answer(app, issued, {"Range": "bytes=0-99"})
    assert (expected.status_code, body) == (206, r.data)
    tail = issued.api.get(issued.url, headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.data == whole[-50:]
    # A Range for an older copy (If-Range with another ETag): the whole current file.
    stale = issued.api.get(issued.url, headers={"Range": "bytes=0-99", "If-Range": '"old"'})
    assert stale.status_code == 200 and stale.data == whole
    beyond = issued.api.get(issued.url, headers={"Range": f"bytes={len(whole) + 10}-"})
    assert beyond.status_code == 416


def test_the_page_serves_the_same_file_under_the_same_name(app, issued, make_user):
    make_user("viewer", "tam-duong", username="xem")
    browser = app.test_client()
    assert browser.post("/login", data={"username": "xem", "password": "pw-123456"}).status_code == 302
    page = browser.get(f"/dossiers/{issued.dossier_id}/decision.pdf", buffered=True)
    api = issued.api.get(issued.url)
    assert page.status_code == api.status_code == 200
    assert page.data == api.data == issued.path.read_bytes()
    for header in ("Content-Disposition", "Content-Type", "ETag", "Last-Modified"):
        assert page.headers[header] == api.headers[header], header


@pytest.mark.pg
@pytest.mark.skipif(not PG_URL, reason="a server that closes connections: PostgreSQL (TEST_DATABASE_URL)")
def test_a_download_after_the_database_closed_its_connections_still_answers(app, issued):
    """A pooled connection the server closed (restart, idle cut) is found by the
    pool's check before use and replaced: the download answers, not 500."""
    first = issued.api.get(issued.url)
    assert first.status_code == 200
    db.session.remove()
    assert db.engine.pool.checkedin() >= 1  # connections back in the pool, to be cut below
    with psycopg.connect(db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as admin:
        killed = [pid for (pid,) in admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")]
        for pid in killed:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s)", (killed,)).fetchone()[0]:
            assert time.monotonic() < deadline, "terminated connections still listed after 10 s"
            time.sleep(0.05)
    assert killed
    second = issued.api.get(issued.url)
    assert second.status_code == 200, second.get_data(as_text=True)
    assert second.data == first.data


def test_the_pool_keeps_DB_POOL_SIZE_connections(app):
    assert db.engine.pool.size() == app.config["DB_POOL_SIZE"] == 10


def test_DB_POOL_SIZE_sets_the_pool_and_refuses_a_bad_value(tmp_path, monkeypatch):
    monkeypatch.setenv("DB_POOL_SIZE", "3")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'pool.db'}", "SECRET_KEY": "x"})
    with app.app_context():
        assert db.engine.pool.size() == 3
        dispose_engines()
    for bad in ("0", "-2", "ten", ""):
        monkeypatch.setenv("DB_POOL_SIZE", bad)
        with pytest.raises(RuntimeError, match="DB_POOL_SIZE must be a whole number of 1 or more"):
            create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'pool.db'}", "SECRET_KEY": "x"})


def test_an_api_download_is_two_statements(app, issued):
    """The token's user with roles, units and their paths in one statement, the
    decision's file within the caller's scope in a second: nothing per role."""
    issued.api.get(issued.url)  # warm: anything a first request loads once
    with app.app_context(), statements() as seen:
        r = issued.api.get(issued.url)
    assert r.status_code == 200 and r.data == issued.path.read_bytes()
    assert len(seen) == 2, seen
