"""Schema creation/upgrade and reference data."""
from __future__ import annotations

from pathlib import Path

from flask_migrate import upgrade

from ...extensions import db
from ..core.reference import load_units, reform_files
from ..core.reforms import apply_reform, read_reform
from .takeover import take_over


def init_db() -> int:
    upgrade()  # Alembic: creates or upgrades the schema, idempotent
    added = load_reference_data()
    db.session.commit()
    return added


def load_reference_data() -> int:
    """The base units, then every shipped reform in date order (each idempotent);
    returns how many units were added."""
    added = load_units()
    for path in reform_files():
        added += sum(1 for line in apply_file(path) if line.startswith("new unit "))
    return added


def apply_file(path: Path) -> list[str]:
    """Apply one reform file and hand over the dossiers it concerns; the changes made."""
    reform = read_reform(path)
    return apply_reform(reform) + take_over(reform)
