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
  trip); a thread of its own does the same every second (so an idle process does
  not leave the server's notifications unread), checks the connection every few
  seconds and opens a new one when it fails. Another process's commit is seen
  once its notification arrives, within milliseconds; this process's ORM commits
  count when they complete. While there is no working listening connection
  nothing is served from memory, and no entry is used after READ_CACHE_SECONDS,
  should that connection hang without failing (keepalives end it within ~15 s).
  Behind a pooler that does not pass LISTEN on (pgbouncer in transaction mode),
  set READ_CACHE_SECONDS=0.

READ_CACHE_SECONDS=0 turns the cache off; an in-memory SQLite database has none.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import psycopg
from flask import Flask, current_app, has_app_context
from psycopg.pq import ConnStatus
from sqlalchemy import event

from .config import sqlite_in_memory
from .extensions import db
from .models.change_notify import CHANNEL
from .reads import read_rows

log = logging.getLogger(__name__)

MAX_ENTRIES = 4096
_LOCK_WAIT = 0.1  # s a lookup waits for the watch before going to the database instead
_DRAIN_EVERY = 1.0  # s between the listening thread's reads of the connection
_PING_EVERY = 5.0  # s between checks that the listening connection still answers
_RETRY_MAX = 30.0  # s, longest wait between attempts to listen again
_EXTENSION = "read_cache"
_CREATE = threading.Lock()


def cached_rows(statement, params: dict) -> list:
    """reads.read_rows, from memory while nothing it reads has changed."""
    cache = _app_cache()
    if cache is None:
        return read_rows(statement, params)
    return cache.rows(statement, params, read_rows)


def close_read_cache(app: Flask) -> None:
    entry = app.extensions.pop(_EXTENSION, None)
    if entry is not None and entry[1] is not None and entry[0] == os.getpid():
        entry[1].close()


class ReadCache:
    """Least recently used entries out first, at most max_entries."""

    def __init__(self, watch, max_age: float, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic, on_close: Callable[[], None] | None = None) -> None:
        self.watch, self.max_age, self.max_entries, self._clock = watch, max_age, max_entries, clock
        self._on_close = on_close
        self._entries: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, statement, params: dict, read: Callable[[object, dict], list]) -> list:
        generation = self.watch.generation()
        if generation is None:  # cannot tell whether anything changed
            return read(statement, params)
        key = (id(statement), *sorted(params.items()))
        now = self._clock()
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
        if self._on_close is not None:
            self._on_close()
        self.watch.close()


class SQLiteWatch:
    """PRAGMA data_version of a connection that never writes: it changes whenever
    another connection commits (https://sqlite.org/pragma.html#pragma_data_version)."""

    def __init__(self, connect: Callable[[], sqlite3.Connection]) -> None:
        self._connect = connect
        self._conn: sqlite3.Connection | None = None  # opened on first use (the file may not exist yet)
        self._lock = threading.Lock()

    def generation(self) -> int | None:
        if not self._lock.acquire(timeout=_LOCK_WAIT):
            return None
        try:
            if self._conn is None:
                self._conn = self._connect()
            return self._conn.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:  # cannot open, locked by a writer (timeout 0): go to the database
            return None
        finally:
            self._lock.release()

    def committed(self) -> None:
        pass  # data_version sees this process's commits like anyone's

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
            self._conn = None
            self._connect = _closed


def _closed() -> sqlite3.Connection:
    raise sqlite3.ProgrammingError("read cache closed")


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
        self._pinged_at = 0.0
        self._ended = False  # the server said it is ending the listening connection
        self._local_lock = threading.Lock()  # never held while waiting for the server
        self._stop = threading.Event()
        self._listen()  # first attempt now, so the first lookups can already use it
        self._thread = threading.Thread(target=self._run, name="read-cache-listen", daemon=True)
        self._thread.start()

    @property
    def backend_pid(self) -> int | None:
        conn = self._conn
        return None if conn is None else conn.info.backend_pid

    def committed(self) -> None:
        with self._local_lock:
            self._local += 1

    def generation(self) -> tuple[int, int, int] | None:
        if not self._lock.acquire(timeout=_LOCK_WAIT):
            return None
        try:
            if self._conn is None or not self._read(ping=False):
                return None
            return self._epoch, self._notified, self._local
        finally:
            self._lock.release()

    def _read(self, ping: bool) -> bool:
        """Takes in what has arrived; under self._lock. False: the connection is gone."""
        pgconn = self._conn.pgconn
        try:
            pgconn.consume_input()  # what the server has sent, without waiting
            while pgconn.notifies() is not None:
                self._notified += 1
            if ping:
                self._conn.execute("SELECT 1")  # notifications met on the way reach _notified too
            # A server ending the connection says so first (FATAL, parsed above as a
            # notice); its closing the socket is only seen by the next read.
            if self._ended or pgconn.status != ConnStatus.OK:
                raise psycopg.OperationalError("listening connection ended by the server")
        except psycopg.Error as error:
            log.warning("read cache: listening for %s stopped (%s); downloads read the database until it "
                        "resumes", CHANNEL, error)
            self._drop()
            return False
        return True

    def _listen(self) -> bool:
        try:
            # tcp_user_timeout and keepalives: a server that stops answering fails the
            # ping within seconds instead of hanging it.
            conn = psycopg.connect(self._conninfo, autocommit=True, connect_timeout=3, tcp_user_timeout=3000,
                                   keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3)
            conn.add_notify_handler(self._notified_during_ping)
            conn.add_notice_handler(self._notice)
            conn.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as error:
            log.warning("read cache: cannot listen for %s (%s); downloads read the database", CHANNEL, error)
            return False
        with self._lock:
            if self._stop.is_set():
                conn.close()
                return False
            self._conn, self._pinged_at, self._ended = conn, time.monotonic(), False
            self._epoch += 1  # what was sent while nobody listened is lost: start afresh
        return True

    def _run(self) -> None:
        retry = _DRAIN_EVERY
        while not self._stop.wait(_DRAIN_EVERY if self._conn is not None else retry):
            if self._conn is None:
                if self._listen():
                    log.info("read cache: listening for %s again", CHANNEL)
                    retry = _DRAIN_EVERY
                else:
                    retry = min(retry * 2, _RETRY_MAX)
                continue
            with self._lock:
                if self._conn is not None:
                    now = time.monotonic()
                    ping = now - self._pinged_at > _PING_EVERY
                    if self._read(ping=ping) and ping:
                        self._pinged_at = now

    def _notified_during_ping(self, _notify) -> None:
        self._notified += 1  # called inside _read, under self._lock

    def _notice(self, diagnostic) -> None:
        if diagnostic.severity_nonlocalized in ("FATAL", "PANIC"):  # under self._lock, like the above
            self._ended = True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except psycopg.Error:
                pass

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            self._drop()
        self._thread.join(timeout=5)


@event.listens_for(db.session, "after_commit")
def _count_own_commit(_session) -> None:
    # The engine's "commit" event (below) fires before the database has the
    # commit; this one after it, so a read that starts later sees the change.
    if has_app_context():
        cache = _current()
        if cache is not None:
            cache.watch.committed()


def _current() -> ReadCache | None:
    entry = current_app.extensions.get(_EXTENSION)
    return entry[1] if entry is not None and entry[0] == os.getpid() else None


def _app_cache() -> ReadCache | None:
    extensions = current_app.extensions
    entry = extensions.get(_EXTENSION)
    if entry is None or entry[0] != os.getpid():  # none yet, or made before a fork: not ours to use
        with _CREATE:  # one watch (and listening connection) per app and process
            entry = extensions.get(_EXTENSION)
            if entry is None or entry[0] != os.getpid():
                entry = extensions[_EXTENSION] = (os.getpid(), _new_cache(current_app.config))
    return entry[1]


def _new_cache(config) -> ReadCache | None:
    max_age = config["READ_CACHE_SECONDS"]
    engine = db.engine
    if max_age <= 0:
        return None
    if engine.dialect.name == "sqlite":
        if sqlite_in_memory(config["SQLALCHEMY_DATABASE_URI"]):
            return None
        # The file as the engine opens it (a "file:...?uri=true" URL too); timeout=0: a
        # database locked by a writer answers "unknown" at once, not after 5 s.
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        kwargs.update(timeout=0, check_same_thread=False, isolation_level=None)
        return ReadCache(SQLiteWatch(lambda: sqlite3.connect(*args, **kwargs)), max_age)
    watch = PostgresWatch(engine.url.set(drivername="postgresql").render_as_string(hide_password=False))
    # Core writes outside the ORM session count too (before their commit; their
    # notification follows it).

    def core_commit(_connection) -> None:
        watch.committed()
    event.listen(engine, "commit", core_commit)
    return ReadCache(watch, max_age, on_close=lambda: event.remove(engine, "commit", core_commit))
