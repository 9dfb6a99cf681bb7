"""Rows of a hot read-only statement kept in memory until the database changes.

An API decision download checks the token, the user's roles and the dossier's
decision in one statement (downloads._DECISION_DOWNLOAD_FOR_TOKEN). The answer
stays the same until something it reads changes, which is rare next to
downloads, and on PostgreSQL the statement's round trip is most of a download's
cost. So the rows are kept with the database's change count ("generation") at the
time they were read, and served again only while the count is the same:

- SQLite: PRAGMA data_version on a connection of the cache's own, which moves
  whenever another connection, in any process, commits. Read on every lookup: a
  change is seen at once.
- PostgreSQL: triggers on the tables the statement reads send NOTIFY ntm_changes
  (models/change_notify.py). The cache LISTENs on a connection of its own and, on
  every lookup, takes what has arrived without waiting (a socket read, no round
  trip). Another process's commit is seen once its notification arrives, within
  milliseconds; this process's commits count at once (the engine's commit event).
  Without a working listening connection nothing is served from memory, and no
  entry is used after READ_CACHE_SECONDS, should that connection hang without
  failing.

READ_CACHE_SECONDS=0 turns the cache off; an in-memory SQLite database has none.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import psycopg
from flask import Flask, current_app
from psycopg.pq import ConnStatus
from sqlalchemy import event

from .config import sqlite_in_memory
from .extensions import db
from .models.change_notify import CHANNEL
from .reads import read_rows

log = logging.getLogger(__name__)

MAX_ENTRIES = 4096
_LOCK_WAIT = 0.1  # s a lookup waits for another thread's check before going to the database instead
_LISTEN_RETRY = 1.0  # s between attempts to listen again after a failure
_PING_EVERY = 5.0  # s between checks that the listening connection still answers
_EXTENSION = "read_cache"
_CREATE = threading.Lock()


def cached_rows(statement, params: dict) -> list:
    """reads.read_rows, from memory while nothing it reads has changed."""
    cache = _app_cache()
    if cache is None:
        return read_rows(statement, params)
    return cache.rows(statement, params, read_rows)


def close_read_cache(app: Flask) -> None:
    cache = app.extensions.pop(_EXTENSION, None)
    if cache is not None:
        cache.close()


class ReadCache:
    """Least recently used entries out first, at most max_entries."""

    def __init__(self, watch, max_age: float, max_entries: int = MAX_ENTRIES) -> None:
        self.watch, self.max_age, self.max_entries = watch, max_age, max_entries
        self._entries: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, statement, params: dict, read: Callable[[object, dict], list]) -> list:
        generation = self.watch.generation()
        if generation is None:  # cannot tell whether anything changed
            return read(statement, params)
        key = (id(statement), *sorted(params.items()))
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == generation and now - entry[1] < self.max_age:
                self._entries.move_to_end(key)
                return entry[2]
        rows = read(statement, params)
        # Kept only if nothing was committed while it was read: otherwise the rows
        # may predate a change whose count this lookup has already seen.
        if self.watch.generation() == generation:
            with self._lock:
                self._entries[key] = (generation, now, rows)
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return rows

    def close(self) -> None:
        self.watch.close()


class SQLiteWatch:
    """PRAGMA data_version of a connection that never writes: it changes whenever
    another connection commits (https://sqlite.org/pragma.html#pragma_data_version)."""

    def __init__(self, path: str) -> None:
        # timeout=0: a database locked by a writer answers "unknown" at once, not in 5 s.
        self._conn = sqlite3.connect(path, timeout=0, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()

    def generation(self) -> int | None:
        if not self._lock.acquire(timeout=_LOCK_WAIT):
            return None
        try:
            return self._conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            return None
        finally:
            self._lock.release()

    def close(self) -> None:
        self._conn.close()


class PostgresWatch:
    """Counts NOTIFY ntm_changes on a listening connection, and this process's commits.

    The generation is (listen epoch, notifications, local commits): a new listening
    connection starts a new epoch, since notifications sent while there was none
    are lost."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._lock = threading.Lock()  # the listening connection and the counts
        self._conn: psycopg.Connection | None = None
        self._epoch = self._notified = self._local = 0
        self._retry_at = self._pinged_at = 0.0
        self._ended = False  # the server said it is ending the listening connection
        self._local_lock = threading.Lock()  # never held while waiting for the server

    def committed(self, _connection=None) -> None:
        with self._local_lock:
            self._local += 1

    def generation(self) -> tuple[int, int, int] | None:
        if not self._lock.acquire(timeout=_LOCK_WAIT):
            return None
        try:
            if not self._check(time.monotonic()):
                return None
            return self._epoch, self._notified, self._local
        finally:
            self._lock.release()

    def _check(self, now: float) -> bool:
        if self._conn is None and not self._listen(now):
            return False
        pgconn = self._conn.pgconn
        try:
            pgconn.consume_input()  # what the server has sent, without waiting
            while pgconn.notifies() is not None:
                self._notified += 1
            if now - self._pinged_at > _PING_EVERY:
                self._conn.execute("SELECT 1")  # notifications met on the way reach _notified too
                self._pinged_at = now
            # A server ending the connection says so first (FATAL, parsed above as a
            # notice); its closing the socket is only seen by the next read.
            if self._ended or pgconn.status != ConnStatus.OK:
                raise psycopg.OperationalError("listening connection ended by the server")
        except psycopg.Error as error:
            log.warning("read cache: listening for %s stopped (%s); not serving from memory until it resumes",
                        CHANNEL, error)
            self._close_connection()
            self._retry_at = now + _LISTEN_RETRY
            return False
        return True

    def _listen(self, now: float) -> bool:
        if now < self._retry_at:
            return False
        try:
            # tcp_user_timeout and keepalives: a server that stops answering fails the
            # ping within seconds instead of hanging it.
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=3, tcp_user_timeout=3000,
                                   keepalives=1, keepalives_idle=10, keepalives_interval=2, keepalives_count=2)
            conn.add_notify_handler(self._notified_during_ping)
            conn.add_notice_handler(self._notice)
            conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as error:
            log.warning("read cache: cannot listen for %s (%s); not serving from memory", CHANNEL, error)
            self._retry_at = now + _LISTEN_RETRY
            return False
        self._conn, self._pinged_at, self._ended = conn, now, False
        self._epoch += 1
        return True

    def _notified_during_ping(self, _notify) -> None:
        self._notified += 1  # called inside _check, under self._lock

    def _notice(self, diagnostic) -> None:
        if diagnostic.severity_nonlocalized in ("FATAL", "PANIC"):  # under self._lock, like the above
            self._ended = True

    def _close_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def close(self) -> None:
        with self._lock:
            self._close_connection()


def _app_cache() -> ReadCache | None:
    extensions = current_app.extensions
    if _EXTENSION not in extensions:
        with _CREATE:  # one watch (and listening connection) per app, however many threads ask
            if _EXTENSION not in extensions:
                extensions[_EXTENSION] = _new_cache(current_app.config)
    return extensions[_EXTENSION]


def _new_cache(config) -> ReadCache | None:
    max_age = config["READ_CACHE_SECONDS"]
    engine = db.engine
    if max_age <= 0:
        return None
    if engine.dialect.name == "sqlite":
        if sqlite_in_memory(config["SQLALCHEMY_DATABASE_URI"]):
            return None
        return ReadCache(SQLiteWatch(engine.url.database), max_age)
    watch = PostgresWatch(engine.url.set(drivername="postgresql").render_as_string(hide_password=False))
    event.listen(engine, "commit", watch.committed)
    return ReadCache(watch, max_age)
