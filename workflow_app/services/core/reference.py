"""Reference data: the administrative units of the base file (idempotent load)
and the reforms that reshaped them since (reference_data/reforms/, by date)."""
from __future__ import annotations

from pathlib import Path

from ...extensions import db
from ...models import Unit, UnitLink
from ...workflow.yamlfile import load_yaml

REFERENCE_DIR = Path(__file__).resolve().parents[2] / "reference_data"
UNITS_FILE = REFERENCE_DIR / "units.yaml"
REFORMS_DIR = REFERENCE_DIR / "reforms"


def load_units(path: Path = UNITS_FILE) -> int:
    """Insert missing units and update names of existing ones; returns how many were
    added. A new unit gets its first link; links of existing units are the reforms'
    to change, so a second load never undoes a reform."""
    doc = load_yaml(path)
    existing = {u.code: u for u in db.session.execute(db.select(Unit)).scalars()}
    added = 0
    for item in doc["units"]:
        parent = existing.get(item["parent"]) if item.get("parent") else None
        if item.get("parent") and parent is None:
            raise ValueError(f"{path.name}: unit {item['code']}: parent {item['parent']} must come first")
        unit = existing.get(item["code"])
        if unit is None:
            path_str = f"{parent.path if parent else '/'}{item['code']}/"
            unit = Unit(code=item["code"], parent=parent, path=path_str,
                        valid_from=item.get("valid_from"), valid_to=item.get("valid_to"))
            unit.links.append(UnitLink(parent=parent, relation="parent", path=path_str,
                                       valid_from=item.get("valid_from"), valid_to=item.get("valid_to")))
            db.session.add(unit)
            existing[item["code"]] = unit
            added += 1
        unit.name, unit.level = item["name"], item["level"]
        unit.agency_code = item.get("agency_code")
    db.session.flush()
    return added


def find_unit(code: str) -> Unit | None:
    return db.session.execute(db.select(Unit).where(Unit.code == code)).scalar_one_or_none()


def reform_files() -> list[Path]:
    """The shipped reforms, oldest first: each builds on the tree the previous one left."""
    return sorted(REFORMS_DIR.glob("*.yaml"), key=lambda p: (str(load_yaml(p).get("effective")), p.name))
