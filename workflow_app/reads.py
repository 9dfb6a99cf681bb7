"""Read-only statements run outside the ORM session, for the hottest route (an API
decision download: one statement, no objects).

On PostgreSQL they use an engine of their own, the "reads" bind
(config.read_engine_options): in autocommit, so a lone SELECT opens no transaction
(BEGIN and ROLLBACK would be two more round trips), and without a connection check
before each use (pre-ping: one more). A pooled connection that died since its last
use (database restarted, idle connection cut) is then found by the statement
failing: SQLAlchemy marks the pool's connections stale and the statement runs once
more on a new connection, which a read may safely do. On SQLite the app's engine
serves: pysqlite opens no transaction for a SELECT and there is nothing to ping.
"""
from __future__ import annotations

from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import DBAPIError

from .config import read_engine_options
from .extensions import db

READS_BIND = "reads"


def reads_binds(config) -> dict:
    """SQLALCHEMY_BINDS entry of the reads engine (none on SQLite)."""
    url = config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        return {}
    return {READS_BIND: {"url": url, **read_engine_options(url, config["DB_POOL_SIZE"])}}


def read_rows(statement, params: dict) -> list[Row]:
    """All rows of a read-only statement."""
    engine = db.engines.get(READS_BIND) or db.engine
    try:
        return _rows(engine, statement, params)
    except DBAPIError as error:
        if not error.connection_invalidated:  # not a dead connection: a real error
            raise
    return _rows(engine, statement, params)


def _rows(engine: Engine, statement, params: dict) -> list[Row]:
    with engine.connect() as conn:
        return conn.execute(statement, params).all()
