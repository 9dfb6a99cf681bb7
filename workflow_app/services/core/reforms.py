"""Administrative reforms as data: a YAML file says which units are created and
abolished on which day, which abolished unit hands its history to which new one,
and where the surviving units (villages) move. Applying a file twice changes
nothing the second time; a dry run reports the same changes and writes none.

The unit tree keeps every period (models/units.py): a moved unit's old link ends
the day before the reform and a new one starts on its effective day."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

from ...extensions import db
from ...models import LEVELS, Reform, Unit, UnitLink
from ...workflow.errors import DefinitionError
from ...workflow.vocabulary import RANK
from ...workflow.yamlfile import load_yaml

# Who may hold whom: a unit moves only under a unit of a higher rank.


class ReformError(DefinitionError):
    """A reform file that cannot be applied; the message names file and key."""


@dataclass
class ReformFile:
    path: Path
    code: str
    effective: date
    legal_basis: str
    new_units: list[dict]
    abolished: list[str]
    merges: dict[str, str]
    moves: list[tuple[str, str]]  # (unit code, new parent code), explicit ones
    source: dict = field(repr=False, default_factory=dict)

    @property
    def last_day(self) -> date:
        return self.effective - timedelta(days=1)


def read_reform(path: Path) -> ReformFile:
    """Parse and check a reform file against the units in the database."""
    def fail(key: str, problem: str) -> ReformError:
        return ReformError(f"{path.name}: {key}: {problem}")

    try:
        doc = load_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise ReformError(f"{path.name}: cannot be read: {exc}") from exc
    if not isinstance(doc, dict):
        raise fail("(top)", "must be a mapping")
    for key in ("code", "effective", "legal_basis"):
        if not doc.get(key):
            raise fail(key, "missing")
    effective = doc["effective"]
    if not isinstance(effective, date):
        raise fail("effective", f"must be a date YYYY-MM-DD (got {effective!r})")
    units = {u.code: u for u in db.session.execute(db.select(Unit)).scalars()}
    last_day = effective - timedelta(days=1)

    new_units, new_codes = [], set()
    for i, item in enumerate(_list(doc.get("new_units"), fail, "new_units")):
        where = f"new_units[{i}]"
        if not isinstance(item, dict):
            raise fail(where, "must be a mapping {code, name, level, parent}")
        for key in ("code", "name", "level", "parent"):
            if not item.get(key):
                raise fail(f"{where}.{key}", "missing")
        if item["level"] not in LEVELS:
            raise fail(f"{where}.level", f"unknown level '{item['level']}' (known: {', '.join(LEVELS)})")
        known = units.get(item["code"])
        if known is not None and known.valid_from != effective:
            raise fail(f"{where}.code", f"unit '{item['code']}' already exists from {known.valid_from}: "
                                        f"its period would overlap the new unit's from {effective}")
        parent = units.get(item["parent"])
        if parent is None and item["parent"] not in new_codes:
            raise fail(f"{where}.parent", f"unknown unit '{item['parent']}'")
        if parent is not None and not parent.live_on(effective):
            raise fail(f"{where}.parent", f"unit '{item['parent']}' does not exist on {effective}")
        new_codes.add(item["code"])
        new_units.append(item)

    abolished = [str(c) for c in _list(doc.get("abolished"), fail, "abolished")]
    for i, code in enumerate(abolished):
        unit = units.get(code)
        if unit is None:
            raise fail(f"abolished[{i}]", f"unknown unit '{code}'")
        if unit.valid_to is not None and unit.valid_to != last_day:
            raise fail(f"abolished[{i}]", f"unit '{code}' already ends on {unit.valid_to}: "
                                          f"that period overlaps this reform's ({effective})")
        if unit.valid_from is not None and unit.valid_from > last_day:
            raise fail(f"abolished[{i}]", f"unit '{code}' starts on {unit.valid_from}, after {last_day}")

    merges = {}
    raw_merges = doc.get("merges") or {}
    if not isinstance(raw_merges, dict):
        raise fail("merges", "must be a mapping old code -> successor code")
    for old, new in raw_merges.items():
        old, new = str(old), str(new)
        if old not in abolished:
            raise fail(f"merges.{old}", f"'{old}' is not in 'abolished'")
        if new not in units and new not in new_codes:
            raise fail(f"merges.{old}", f"unknown successor unit '{new}'")
        if new in abolished:
            raise fail(f"merges.{old}", f"successor '{new}' is abolished by the same reform")
        if new not in new_codes and not units[new].live_on(effective):
            raise fail(f"merges.{old}", f"successor '{new}' does not exist on {effective}")
        merges[old] = new

    children_on_eve = children_by_parent(units, last_day)
    moves = []
    for i, item in enumerate(_list(doc.get("moves"), fail, "moves")):
        where = f"moves[{i}]"
        if not isinstance(item, dict) or not item.get("to"):
            raise fail(where, "must be {units: [...], to: CODE} or {children_of: CODE, to: CODE}")
        target = str(item["to"])
        if target not in units and target not in new_codes:
            raise fail(f"{where}.to", f"unknown unit '{target}'")
        if target not in new_codes and (target in abolished or not units[target].live_on(effective)):
            raise fail(f"{where}.to", f"unit '{target}' does not exist on {effective}")
        if "children_of" in item:
            holder = units.get(str(item["children_of"]))
            if holder is None:
                raise fail(f"{where}.children_of", f"unknown unit '{item['children_of']}'")
            codes = [c.code for c in children_on_eve.get(holder.code, [])]
        else:
            codes = [str(c) for c in _list(item.get("units"), fail, f"{where}.units")]
            for j, code in enumerate(codes):
                if code not in units:
                    raise fail(f"{where}.units[{j}]", f"unknown unit '{code}'")
                if code in abolished or not units[code].live_on(last_day):
                    raise fail(f"{where}.units[{j}]", f"unit '{code}' does not exist on {last_day}: it cannot move")
        for code in codes:
            parent = next((u for u in new_units if u["code"] == target), None)
            target_level = parent["level"] if parent else units[target].level
            if RANK[target_level] >= RANK[units[code].level]:
                raise fail(f"{where}.to", f"'{target}' ({target_level}) cannot hold '{code}' ({units[code].level})")
            if target in units and (units[target].path_on(effective) or "").find(f"/{code}/") >= 0:
                raise fail(f"{where}.to", f"'{target}' lies inside '{code}': the move would make a cycle")
        moves += [(code, target) for code in codes]

    reform = ReformFile(path, str(doc["code"]), effective, " ".join(str(doc["legal_basis"]).split()),
                        new_units, abolished, merges, moves, doc)
    placed = {code for code, _ in reform_moves(reform, units)} | set(abolished)
    for i, code in enumerate(abolished):
        orphans = [c.code for c in children_on_eve.get(code, []) if c.code not in placed]
        if orphans:
            raise fail(f"abolished[{i}]", f"'{code}' still holds {', '.join(orphans[:5])}"
                                          f"{' …' if len(orphans) > 5 else ''}: merge it or move them")
    for code, _ in reform_moves(reform, units):
        unit = units[code]
        later = [link for link in unit.links
                 if link.relation == "parent" and link.valid_from and link.valid_from > effective]
        if later:
            raise fail("moves", f"unit '{code}' already has a place from {later[0].valid_from}, "
                                f"which overlaps a move on {effective}")
    return reform


def reform_moves(reform: ReformFile, units: dict[str, Unit]) -> list[tuple[str, str]]:
    """Every move: the explicit ones, then the living children of each merged unit
    to its successor (unless moved explicitly or abolished themselves)."""
    moves = dict(reform.moves)
    children_on_eve = children_by_parent(units, reform.last_day)
    for old, new in reform.merges.items():
        for child in children_on_eve.get(old, []):
            if child.code not in reform.abolished:
                moves.setdefault(child.code, new)
    return list(moves.items())


def children_by_parent(units: dict[str, Unit], day: date) -> dict[str, list[Unit]]:
    """Each unit's children on `day`, by the parent's code: one pass over the
    units, however many merges ask (a province holds thousands of villages)."""
    children: dict[str, list[Unit]] = {}
    for unit in sorted(units.values(), key=lambda u: u.code):
        parent = unit.parent_on(day)
        if parent is not None:
            children.setdefault(parent.code, []).append(unit)
    return children


def _list(value: Any, fail, key: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(key, "must be a list")
    return value


def apply_reform(reform: ReformFile) -> list[str]:
    """Apply in the caller's transaction; returns one line per change (none when
    the reform is already in place)."""
    changes: list[str] = []
    row = db.session.execute(db.select(Reform).where(Reform.code == reform.code)).scalar_one_or_none()
    if row is None:
        row = Reform(code=reform.code, effective=reform.effective, legal_basis=reform.legal_basis)
        db.session.add(row)
        changes.append(f"reform {reform.code}: effective {reform.effective}")
    units = {u.code: u for u in db.session.execute(db.select(Unit)).scalars()}

    for item in reform.new_units:
        unit = units.get(item["code"])
        parent = units[item["parent"]]
        if unit is None:
            path = f"{parent.path_on(reform.effective)}{item['code']}/"
            unit = Unit(code=item["code"], name=item["name"], level=item["level"], parent=parent, path=path,
                        agency_code=item.get("agency_code"), valid_from=reform.effective)
            unit.links.append(UnitLink(parent=parent, relation="parent", path=path,
                                       valid_from=reform.effective, reform=row))
            db.session.add(unit)
            units[unit.code] = unit
            changes.append(f"new unit {unit.code} ({unit.name}, {unit.level}) under {parent.code} "
                           f"from {reform.effective}")

    for code in reform.abolished:
        unit = units[code]
        if unit.valid_to is None:
            unit.valid_to, unit.ended_by = reform.last_day, row
            changes.append(f"unit {code} ({unit.name}) ends on {reform.last_day}")
        for link in unit.links:
            if link.relation == "parent" and link.valid_to is None:
                link.valid_to = reform.last_day

    for old, new in reform.merges.items():
        unit, successor = units[old], units[new]
        if not any(link.relation == "successor" and link.reform is row for link in unit.links):
            unit.links.append(UnitLink(parent=successor, relation="successor", reform=row,
                                       valid_from=reform.effective,
                                       path=f"{successor.path_on(reform.effective)}{old}/"))
            changes.append(f"unit {old}: history and open dossiers go to {new}")

    for code, target in reform_moves(reform, units):
        changes += _move(units[code], units[target], reform.effective, row)

    db.session.flush()
    return changes


def _move(unit: Unit, parent: Unit, effective: date, row: Reform) -> list[str]:
    """Give `unit` (and its living subtree) a place under `parent` from `effective`."""
    if any(link.relation == "parent" and link.reform is row for link in unit.links):
        return []
    last_day = effective - timedelta(days=1)
    for link in unit.links:
        if link.relation == "parent" and link.covers(effective):
            link.valid_to = last_day
    path = f"{parent.path_on(effective) or parent.path}{unit.code}/"
    unit.links.append(UnitLink(parent=parent, relation="parent", path=path, valid_from=effective, reform=row))
    unit.parent, unit.path = parent, path
    moved = [f"unit {unit.code} moves under {parent.code} from {effective}"]
    children = db.session.execute(db.select(Unit).where(Unit.parent_id == unit.id)).scalars()
    for child in children:
        if child.live_on(effective):
            moved += _move(child, unit, effective, row)
    return moved

