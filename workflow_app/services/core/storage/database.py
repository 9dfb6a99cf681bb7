"""Files in the database (STORAGE_URL=database: the app's own; or postgresql://...
for another): one row per file in stored_files, its bytes in stored_file_chunks,
CHUNK bytes a row, so no statement moves more than a chunk.

In the app's own database a file is written in the caller's transaction when there
is one: it is committed with the row that names it, or not at all (a paper rendered
after its transaction committed is written in a short transaction of its own). Two transactions storing the
same bytes meet on the key (INSERT ... ON CONFLICT DO NOTHING waits for the other
and then does nothing). Reads in chunks take a pooled connection per chunk, so a
slow download holds none between chunks."""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import lru_cache

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Table,
    create_engine,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from ....config import normalize_db_url
from ....extensions import db
from .base import CHUNK, Missing, Opened, Stat, Store

stored_files = Table(
    "stored_files", db.metadata,
    Column("key", String(128), primary_key=True),
    Column("sha256", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("stored_at", DateTime, nullable=False),  # naive UTC, as every stored time
)
stored_file_chunks = Table(
    "stored_file_chunks", db.metadata,
    Column("key", String(128), ForeignKey("stored_files.key", ondelete="CASCADE"), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
)
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


@lru_cache(maxsize=4)
def other_database(url: str) -> Engine:
    """A database other than the app's, holding only the files: one pool per process."""
    return create_engine(normalize_db_url(url), pool_pre_ping=True)


class DatabaseStore(Store):
    """``engine`` None: the app's database, in the caller's transaction."""

    def __init__(self, engine: Engine | None = None) -> None:
        self._engine = engine

    def engine(self) -> Engine:
        return self._engine or db.engine

    def for_threads(self) -> DatabaseStore:
        return self if self._engine is not None else DatabaseStore(db.engine)

    def _in_session(self) -> bool:
        # The caller's transaction, when it has one (a paper rendered after its commit has none).
        return self._engine is None and db.session().in_transaction()

    def put(self, key: str, data: bytes, digest: str) -> None:
        if self._in_session():
            _insert(db.session.connection(), key, data, digest)
        else:
            with self.engine().begin() as conn:
                _insert(conn, key, data, digest)

    def read(self, key: str) -> bytes:
        if self._in_session():  # the caller's transaction sees what it stored itself
            return _whole(db.session.connection(), key)
        with self.engine().connect() as conn:
            return _whole(conn, key)

    def open(self, key: str, start: int = 0) -> Opened:
        engine = self.engine()  # kept: the chunks are read after the request has let go of the app
        found = self.stat(key)
        return Opened(found.size, found.stored_at, _chunks(engine, key, found.size, start))

    def stat(self, key: str) -> Stat:
        with self.engine().connect() as conn:
            row = conn.execute(select(stored_files.c.size, stored_files.c.stored_at)
                               .where(stored_files.c.key == key)).first()
        if row is None:
            raise Missing(key)
        return Stat(row.size, _seconds(row.stored_at))

    def entries(self) -> Iterator[tuple[str, float]]:
        with self.engine().connect() as conn:
            rows = conn.execute(select(stored_files.c.key, stored_files.c.stored_at)
                                .execution_options(yield_per=2000))
            for key, stored_at in rows:
                yield key, _seconds(stored_at)

    def now(self) -> float:
        return time.time()  # the clock that stamped stored_at


def _insert(conn: Connection, key: str, data: bytes, digest: str) -> None:
    insert = _INSERTS.get(conn.dialect.name)
    if insert is None:
        raise RuntimeError(f"files cannot be stored in a {conn.dialect.name} database")
    stamp = datetime.fromtimestamp(time.time(), UTC).replace(tzinfo=None)
    added = conn.execute(insert(stored_files).values(key=key, sha256=digest, size=len(data), stored_at=stamp)
                         .on_conflict_do_nothing(index_elements=["key"]).returning(stored_files.c.key)).first()
    if added is not None and data:  # none: the key was stored already
        conn.execute(stored_file_chunks.insert(), [
            {"key": key, "seq": seq, "data": data[start:start + CHUNK]}
            for seq, start in enumerate(range(0, len(data), CHUNK))])


def _whole(conn: Connection, key: str) -> bytes:
    size = conn.execute(select(stored_files.c.size).where(stored_files.c.key == key)).scalar()
    if size is None:
        raise Missing(key)
    rows = conn.execute(select(stored_file_chunks.c.data).where(stored_file_chunks.c.key == key)
                        .order_by(stored_file_chunks.c.seq))
    return b"".join(bytes(data) for (data,) in rows)


def _chunks(engine: Engine, key: str, size: int, start: int = 0) -> Iterator[bytes]:
    """The chunks from the one holding byte `start` (cut at `start`) to the last."""
    one = select(stored_file_chunks.c.data).where(stored_file_chunks.c.key == key,
                                                   stored_file_chunks.c.seq == db.bindparam("seq"))
    first, skip = divmod(start, CHUNK)
    for seq in range(first, -(-size // CHUNK)):
        with engine.connect() as conn:
            data = conn.execute(one, {"seq": seq}).scalar()
        if data is None:
            raise Missing(f"{key}: chunk {seq} is missing")
        yield bytes(data[skip:]) if seq == first and skip else bytes(data)


def _seconds(stored_at: datetime) -> float:
    return stored_at.replace(tzinfo=UTC).timestamp()
