"""What every database connection of the app is set up with."""
from __future__ import annotations

import pytest
from conftest import PG_URL
from sqlalchemy import text

from workflow_app.config import engine_options
from workflow_app.extensions import db


@pytest.mark.db
@pytest.mark.skipif(not PG_URL, reason="PostgreSQL only: JIT is a PostgreSQL setting")
def test_postgresql_connections_run_without_jit(app):
    """JIT compiled for seconds the plans that a national data set's estimates made look
    costly; every connection of the pool turns it off."""
    assert db.session.execute(text("SHOW jit")).scalar() == "off"


def test_sqlite_connections_get_no_postgresql_options():
    options = engine_options("sqlite:////tmp/x.db")
    assert "options" not in options["connect_args"]
    assert engine_options("postgresql+psycopg://h/db")["connect_args"] == {"options": "-c jit=off"}
