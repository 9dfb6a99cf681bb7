"""Read-only statements run outside the ORM session, for the hottest route (an API
decision download: one statement, no objects).

On PostgreSQL they use an engine of their own (config.read_engine_options, made
with the app): in autocommit, so a lone SELECT opens no transaction (BEGIN and
ROLLBACK would be two more round trips), and without a connection check before
each use (pre-ping: one more). A pooled connection that died since its last use
(database restarted, idle connection cut) is then found by the statement failing:
SQLAlchemy marks the pool's connections stale and the statement runs once more on
a new connection, which a read may safely do. On SQLite the app's engine serves:
pysqlite opens no transaction for a SELECT and there is nothing to ping.
"""
from __future__ import annotations

from flask import Flask, current_app
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine, Row
from sqlalchemy.exc import DBAPIError

from .config import read_engine_options
from .extensions import db

_EXTENSION = "reads_engine"


def init_reads(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("sqlite"):
        app.extensions[_EXTENSION] = create_engine(url, **read_engine_options(url, app.config["DB_POOL_SIZE"]))


def reads_engine() -> Engine:
    """The engine read_rows uses in this app."""
    return current_app.extensions.get(_EXTENSION) or db.engine


def dispose_reads(app: Flask) -> None:
    engine = app.extensions.get(_EXTENSION)
    if engine is not None:
        engine.dispose()


def read_rows(statement, params: dict) -> list[Row]:
    """All rows of a read-only statement."""
    engine = reads_engine()
    try:
        return _rows(engine, statement, params)
    except DBAPIError as error:
        if not error.connection_invalidated:  # not a dead connection: a real error
            raise
    return _rows(engine, statement, params)


def _rows(engine: Engine, statement, params: dict) -> list[Row]:
    with engine.connect() as conn:
        return conn.execute(statement, params).all()
