"""Reference data: the administrative units (idempotent load)."""
from __future__ import annotations

from pathlib import Path


from ..extensions import db
from ..workflow.yamlfile import load_yaml
from ..models import Unit

UNITS_FILE = Path(__file__).resolve().parent.parent / "reference_data" / "units.yaml"


def load_units(path: Path = UNITS_FILE) -> int:
    """Insert missing units and update names of existing ones; returns how many were added."""
    doc = load_yaml(path)
    existing = {u.code: u for u in db.session.execute(db.select(Unit)).scalars()}
    added = 0
    for item in doc["units"]:
        parent = existing.get(item["parent"]) if item.get("parent") else None
        if item.get("parent") and parent is None:
            raise ValueError(f"{path.name}: unit {item['code']}: parent {item['parent']} must come first")
        path_str = f"{parent.path if parent else '/'}{item['code']}/"
        unit = existing.get(item["code"])
        if unit is None:
            unit = Unit(code=item["code"])
            db.session.add(unit)
            existing[item["code"]] = unit
            added += 1
        unit.name, unit.level, unit.parent, unit.path = item["name"], item["level"], parent, path_str
        unit.agency_code = item.get("agency_code")
        unit.valid_from, unit.valid_to = item.get("valid_from"), item.get("valid_to")
    db.session.flush()
    return added


def find_unit(code: str) -> Unit | None:
    return db.session.execute(db.select(Unit).where(Unit.code == code)).scalar_one_or_none()
