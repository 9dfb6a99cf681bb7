"""An API decision download is answered from memory while nothing its statement
reads has changed (workflow_app/read_cache.py), and never after a change: seen at
once on SQLite (data_version), within the notification's trip on PostgreSQL
(triggers, NOTIFY), at once for this process's own commits."""
from __future__ import annotations

import time
from contextlib import contextmanager

import psycopg
import pytest
from conftest import PG_URL
from helpers import dispose_engines
from sqlalchemy import NullPool, create_engine, event, text
from sqlalchemy.sql import visitors
from sqlalchemy.sql.schema import Column

from workflow_app import create_app
from workflow_app.downloads import _DECISION_DOWNLOAD_FOR_TOKEN
from workflow_app.extensions import db
from workflow_app.models import change_notify
from workflow_app.read_cache import ReadCache, SQLiteWatch
from workflow_app.reads import reads_engine

pytestmark = pytest.mark.db


@contextmanager
def statements():
    """The SQL statements the download's read runs, as they run."""
    engine = reads_engine()
    seen = []

    def record(conn, cursor, statement, *args):
        seen.append(statement)
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def watch():
    """The app's read cache watch (made by the first download)."""
    from flask import current_app

    return current_app.extensions["read_cache"][1].watch


def wait_for(condition, seconds: float = 5.0, what: str = "") -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.01)


def other_process_engine():
    """A connection that is not the app's: what another process or psql would use."""
    return create_engine(db.engine.url, poolclass=NullPool)


def test_a_repeated_download_is_answered_without_a_statement(issued):
    first = issued.api.get(issued.url)
    assert first.status_code == 200
    with statements() as seen:
        again = issued.api.get(issued.url)
    assert again.status_code == 200 and again.data == first.data
    assert seen == []


CHANGES = {
    "token revoked": ("DELETE FROM api_tokens WHERE token_hash = :token_hash", 401),
    "user deactivated": ("UPDATE users SET active = false WHERE id = :user_id", 401),
    "roles removed": ("DELETE FROM role_assignments WHERE user_id = :user_id", 404),
    "decision unlinked": ("DELETE FROM decision_dossiers WHERE dossier_id = :dossier_id", 404),
}


@pytest.mark.parametrize("change", CHANGES)
def test_a_change_committed_by_another_process_is_seen_by_the_next_downloads(issued, change):
    sql, status = CHANGES[change]
    assert issued.api.get(issued.url).status_code == 200
    with statements() as seen:
        assert issued.api.get(issued.url).status_code == 200
    assert seen == []  # served from memory before the change
    before = watch().generation()
    other = other_process_engine()
    with other.begin() as conn:
        conn.execute(text(sql), {"token_hash": issued.token_hash, "user_id": issued.user_id,
                                 "dossier_id": issued.dossier_id})
    other.dispose()
    # SQLite: data_version has moved with the commit. PostgreSQL: once the
    # notification has arrived (it follows the commit), the very next download knows.
    wait_for(lambda: watch().generation() != before, what="the change announced")
    assert issued.api.get(issued.url).status_code == status


def test_this_process_commits_are_seen_at_once(issued):
    from workflow_app.models import User

    assert issued.api.get(issued.url).status_code == 200
    before = watch().generation()
    db.session.get(User, issued.user_id).active = False
    db.session.commit()
    if PG_URL:  # counted by the commit itself, whether or not its notification is in yet
        assert watch().generation()[2] > before[2]
    assert issued.api.get(issued.url).status_code == 401


@pytest.mark.skipif(not PG_URL, reason="change notifications are PostgreSQL's (TEST_DATABASE_URL)")
def test_an_update_of_columns_the_download_does_not_read_keeps_the_cache(issued):
    assert issued.api.get(issued.url).status_code == 200
    _, notified, _ = watch().generation()
    other = other_process_engine()
    with other.begin() as conn:  # a dossier's state and a user's name: not read by the download
        conn.execute(text("UPDATE dossiers SET state = state WHERE id = :d"), {"d": issued.dossier_id})
        conn.execute(text("UPDATE users SET name = 'Tên mới' WHERE id = :u"), {"u": issued.user_id})
    with other.begin() as conn:  # a watched column: announced
        conn.execute(text("UPDATE units SET path = path WHERE id = 1"))
    other.dispose()
    # Notifications arrive in commit order: once the second transaction's is in, the
    # first one's would be too.
    wait_for(lambda: watch().generation()[1] > notified, what="the units update announced")
    assert watch().generation()[1] == notified + 1  # one transaction announced, not two
    with statements() as seen:
        assert issued.api.get(issued.url).status_code == 200
        assert issued.api.get(issued.url).status_code == 200
    assert len(seen) == 1  # read again after the announced change, then from memory


@pytest.mark.skipif(not PG_URL, reason="change notifications are PostgreSQL's (TEST_DATABASE_URL)")
def end_listening_connection(admin) -> int:
    pid = watch().backend_pid
    assert pid is not None
    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    deadline = time.monotonic() + 10
    while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return pid


def admin_connection():
    return psycopg.connect(db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False),
                           autocommit=True)


@pytest.mark.skipif(not PG_URL, reason="change notifications are PostgreSQL's (TEST_DATABASE_URL)")
def test_without_its_listening_connection_the_cache_serves_nothing_from_memory(issued, monkeypatch):
    from workflow_app import read_cache

    monkeypatch.setattr(read_cache, "_DRAIN_EVERY", 3600.0)  # no new listener during this test
    assert issued.api.get(issued.url).status_code == 200
    with admin_connection() as admin:
        end_listening_connection(admin)
        # Nobody listens now: this change is announced to no one.
        admin.execute("DELETE FROM api_tokens WHERE user_id = %s", (issued.user_id,))
    assert issued.api.get(issued.url).status_code == 401


@pytest.mark.skipif(not PG_URL, reason="change notifications are PostgreSQL's (TEST_DATABASE_URL)")
def test_a_lost_listening_connection_is_replaced_and_the_cache_serves_again(issued):
    assert issued.api.get(issued.url).status_code == 200
    before = watch().generation()
    with admin_connection() as admin:
        old = end_listening_connection(admin)
    wait_for(lambda: watch().backend_pid not in (None, old), seconds=10, what="a new listening connection")
    assert watch().generation()[0] == before[0] + 1  # a new epoch: entries from before are not used
    with statements() as seen:
        assert issued.api.get(issued.url).status_code == 200
        assert issued.api.get(issued.url).status_code == 200
    assert len(seen) == 1


def test_every_column_the_cached_statement_reads_is_watched():
    read: dict[str, set[str]] = {}
    for element in visitors.iterate(_DECISION_DOWNLOAD_FOR_TOKEN):
        if isinstance(element, Column) and element.table is not None:
            table = getattr(element.table, "element", element.table)  # an alias reads its table
            read.setdefault(table.name, set()).add(element.name)
    assert set(read) == set(change_notify.WATCHED)
    for table, columns in read.items():
        watched = change_notify.WATCHED[table]
        primary_key = {c.name for c in db.metadata.tables[table].primary_key}  # never updated
        assert watched is change_notify.ALL or columns - primary_key <= set(watched), (table, columns)


def test_the_cache_keeps_at_most_max_entries_and_none_past_max_age(tmp_path):
    import sqlite3

    path = tmp_path / "w.db"
    sqlite3.connect(path).close()
    calls, now = [], [0.0]

    def read(statement, params):
        calls.append(params["k"])
        return [params["k"]]
    cache = ReadCache(SQLiteWatch(lambda: sqlite3.connect(path, check_same_thread=False)), max_age=10,
                      max_entries=2, clock=lambda: now[0])
    stmt = object()
    for k in (1, 2, 1, 3, 1, 2):  # 3 pushes out 2 (1 was used since); then 2 is read again
        assert cache.rows(stmt, {"k": k}, read) == [k]
    assert calls == [1, 2, 3, 2]
    now[0] = 9.9
    cache.rows(stmt, {"k": 1}, read)
    assert calls == [1, 2, 3, 2]
    now[0] = 10.1  # read at 0: past max_age
    cache.rows(stmt, {"k": 1}, read)
    assert calls == [1, 2, 3, 2, 1]
    with sqlite3.connect(path) as other:  # another connection commits: everything is read again
        other.execute("CREATE TABLE t (x)")
    cache.rows(stmt, {"k": 1}, read)
    assert calls == [1, 2, 3, 2, 1, 1]
    cache.close()


def test_read_cache_seconds_zero_reads_every_time_and_a_bad_value_is_refused(app, tmp_path, monkeypatch, issued):
    monkeypatch.setenv("READ_CACHE_SECONDS", "0")
    uncached = create_app({"SQLALCHEMY_DATABASE_URI": db.engine.url.render_as_string(hide_password=False),
                           "SECRET_KEY": "x", "STORAGE_DIR": app.config["STORAGE_DIR"]})
    with uncached.app_context():
        client = uncached.test_client()
        headers = {"Authorization": f"Bearer {issued.api.token}"}
        assert client.get(issued.url, headers=headers).status_code == 200
        with statements() as seen:
            assert client.get(issued.url, headers=headers).status_code == 200
        assert len(seen) == 1
        dispose_engines()
    for bad in ("-1", "soon", "inf", ""):
        monkeypatch.setenv("READ_CACHE_SECONDS", bad)
        with pytest.raises(RuntimeError, match="READ_CACHE_SECONDS must be a number of seconds"):
            create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "SECRET_KEY": "x"})
