"""Schema creation/upgrade and reference data."""
from __future__ import annotations

from flask_migrate import upgrade

from ..extensions import db
from .reference import load_units


def init_db() -> int:
    upgrade()  # Alembic: creates or upgrades the schema, idempotent
    added = load_units()
    db.session.commit()
    return added
