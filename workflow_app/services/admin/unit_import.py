"""Units from a file (`flask units import FILE`): CSV with the header
code,name,level,parent,valid_from,valid_to, or YAML `units: [{code, name, ...}]`.

A missing unit is added with its first place (a link under its parent for its
whole life); a known one takes the file's name, level and period. Where a known
unit sits is not changed here: a move has a date and a legal basis, which is what
a reform file carries (services/core/reforms.py). Importing the same file twice changes
nothing the second time.

`import_units` works in the caller's transaction and raises UnitImportError,
naming file, row and column of every problem, after possibly touching the
session: the caller rolls back (as it does for a dry run)."""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

from ...extensions import db
from ...models import LEVELS, Unit, UnitLink
from ...workflow.errors import DefinitionError
from ...workflow.vocabulary import RANK
from ...workflow.yamlfile import SafeLoader

COLUMNS = ("code", "name", "level", "parent", "valid_from", "valid_to")
# A unit sits below its parent: a commune or town under a district or province, never beside it.
CODE = re.compile(r"[a-z0-9]+(-[a-z0-9]+)*")
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
REFORM_HINT = "a unit changes parent only by a reform file (flask units reform FILE, key `moves`)"


class UnitImportError(DefinitionError):
    """The file cannot be imported; `problems` names file, row and column of each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass
class Row:
    where: str            # "line 4" (CSV) or "units[2] (line 9)" (YAML)
    values: dict[str, Any]
    field: str            # what a column is called in this format: "column" or "key"


@dataclass
class Item:
    code: str
    name: str
    level: str
    parent: str | None
    valid_from: date | None
    valid_to: date | None


def read_rows(path: Path) -> list[Row]:
    """The file's rows, untyped; a file that is not a table of units raises."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UnitImportError([f"{path.name}: cannot be read: {exc}"]) from exc
    if path.suffix.lower() == ".csv":
        return _csv_rows(path.name, text)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _yaml_rows(path.name, text)
    raise UnitImportError([f"{path.name}: unknown format: name the file .csv, .yaml or .yml"])


def _csv_rows(name: str, text: str) -> list[Row]:
    reader = csv.DictReader(text.splitlines(keepends=True))
    header = [h.strip() for h in reader.fieldnames or []]
    problems = [f"{name}: line 1, column {c}: missing from the header" for c in COLUMNS if c not in header]
    problems += [f"{name}: line 1, column {c or '(empty)'}: unknown column (known: {', '.join(COLUMNS)})"
                 for c in header if c not in COLUMNS]
    if problems:
        raise UnitImportError(problems)
    reader.fieldnames = header
    rows = []
    for raw in reader:
        where = f"line {reader.line_num}"
        if None in raw:
            raise UnitImportError([f"{name}: {where}: more cells than the header has columns"])
        rows.append(Row(where, {k: (v.strip() if isinstance(v, str) else v) for k, v in raw.items()}, "column"))
    return rows


def _yaml_rows(name: str, text: str) -> list[Row]:
    try:
        doc, root = yaml.load(text, Loader=SafeLoader), yaml.compose(text, Loader=SafeLoader)
    except yaml.YAMLError as exc:
        raise UnitImportError([f"{name}: not valid YAML: {exc}"]) from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("units"), list):
        raise UnitImportError([f"{name}: (top): must be a mapping with a list `units: [...]`"])
    nodes = next(v for k, v in root.value if k.value == "units").value  # for line numbers
    rows, problems = [], []
    for i, (item, node) in enumerate(zip(doc["units"], nodes, strict=True)):
        where = f"units[{i}] (line {node.start_mark.line + 1})"
        if not isinstance(item, dict):
            problems.append(f"{name}: {where}: must be a mapping {{{', '.join(COLUMNS)}}}")
            continue
        problems += [f"{name}: {where}, key {k}: unknown key (known: {', '.join(COLUMNS)})"
                     for k in item if k not in COLUMNS]
        rows.append(Row(where, item, "key"))
    if problems:
        raise UnitImportError(problems)
    return rows


def _typed(row: Row, fail) -> Item | None:
    """The row's values checked one by one; None when any is wrong (`fail` recorded it)."""
    ok = True

    def text(key: str, required: bool, limit: int) -> str | None:
        nonlocal ok
        value = row.values.get(key)
        if value is None or value == "":
            if required:
                fail(key, "missing")
                ok = False
            return None
        value = str(value).strip()
        if len(value) > limit or any(ord(c) < 32 for c in value):
            fail(key, f"must be one line of at most {limit} characters")
            ok = False
        return value

    def day(key: str) -> date | None:
        nonlocal ok
        value = row.values.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            if not DAY.fullmatch(str(value)):
                raise ValueError
            return date.fromisoformat(str(value))
        except ValueError:
            fail(key, f"must be a date YYYY-MM-DD (got {value!r})")
            ok = False
            return None

    code, name, level = text("code", True, 64), text("name", True, 200), text("level", True, 20)
    parent = text("parent", False, 64)
    valid_from, valid_to = day("valid_from"), day("valid_to")
    if code and not CODE.fullmatch(code):
        fail("code", f"'{code}' is not a code: lowercase ASCII letters and digits joined by '-'")
        ok = False
    if level and level not in LEVELS:
        fail("level", f"unknown level '{level}' (known: {', '.join(LEVELS)})")
        ok = False
    if valid_from and valid_to and valid_to < valid_from:
        fail("valid_to", f"{valid_to} is before valid_from {valid_from}")
        ok = False
    return Item(code, name, level, parent, valid_from, valid_to) if ok else None


def _period(start: date | None, end: date | None) -> str:
    return f"{start or '…'}..{end or '…'}"


def _start_link(unit: Unit, day: date | None) -> UnitLink | None:
    """The unit's place on `day`; with None, the place it has had since always."""
    if day is None:
        return next((link for link in unit.links if link.relation == "parent" and link.valid_from is None), None)
    return unit.link_on(day)


def _end_link(unit: Unit, day: date | None) -> UnitLink | None:
    """The unit's place on `day`; with None, the place it keeps for good."""
    if day is None:
        return next((link for link in unit.links if link.relation == "parent" and link.valid_to is None), None)
    return unit.link_on(day)


def _place_problem(parent: Unit, start: date | None, end: date | None) -> str | None:
    """Why `parent` cannot hold a child over start..end in one place, if it cannot."""
    first, last = _start_link(parent, start), _end_link(parent, end)
    if first is None:
        return (f"parent '{parent.code}' does not exist on {start}" if start else
                f"parent '{parent.code}' starts on {parent.valid_from}: give valid_from") + \
            f" (it exists {_period(parent.valid_from, parent.valid_to)})"
    if last is None:
        return (f"parent '{parent.code}' ends on {parent.valid_to}, before the unit does: give valid_to, "
                f"or add the unit under the unit it belongs to from then on ({REFORM_HINT})")
    if first is not last:
        return (f"parent '{parent.code}' changes place on {last.valid_from}, within the unit's period "
                f"{_period(start, end)}: {REFORM_HINT}")
    return None


class _Import:
    def __init__(self, path: Path, rows: list[Row]):
        self.path, self.rows = path, rows
        self.units = {u.code: u for u in db.session.execute(db.select(Unit)).scalars()}
        self.lines = {str(r.values.get("code") or "").strip(): r.where for r in rows}  # last row per code
        self.problems: list[str] = []
        self.changes: list[str] = []
        self.seen: dict[str, str] = {}
        self.refused: dict[str, str] = {}

    def run(self) -> list[str]:
        for row in self.rows:
            def fail(key: str, problem: str, row: Row = row) -> None:
                self.problems.append(f"{self.path.name}: {row.where}, {row.field} {key}: {problem}")
            before = len(self.problems)
            item = _typed(row, fail)
            if item is not None:
                if item.code in self.seen:
                    fail("code", f"'{item.code}' is already on {self.seen[item.code]}")
                else:
                    self.seen[item.code] = row.where
                    self._one(item, fail)
            if len(self.problems) > before:
                self.refused.setdefault(str(row.values.get("code") or "").strip(), row.where)
        if self.problems:
            raise UnitImportError(self.problems)
        db.session.flush()
        return self.changes

    def _parent(self, item: Item, fail) -> Unit | None | bool:
        """The parent unit, None for a province without one, False when refused."""
        if item.parent is None:
            if item.level != "province":
                fail("parent", f"missing: only a province has no parent (this is a {item.level})")
                return False
            return None
        parent = self.units.get(item.parent)
        if parent is None:
            if item.parent in self.refused:
                fail("parent", f"unit '{item.parent}' is refused on {self.refused[item.parent]}")
            elif item.parent in self.lines and item.parent not in self.seen:
                fail("parent", f"unit '{item.parent}' comes later, on {self.lines[item.parent]}: list parents first")
            else:
                fail("parent", f"unknown unit '{item.parent}'")
            return False
        if RANK[parent.level] >= RANK[item.level]:
            fail("level", f"a {item.level} cannot sit under '{parent.code}', a {parent.level}")
            return False
        return parent

    def _one(self, item: Item, fail) -> None:
        parent = self._parent(item, fail)
        if parent is False:
            return
        unit = self.units.get(item.code)
        if unit is None:
            self._add(item, parent, fail)
        else:
            self._update(unit, item, parent, fail)

    def _add(self, item: Item, parent: Unit | None, fail) -> None:
        if parent is not None and (problem := _place_problem(parent, item.valid_from, item.valid_to)):
            fail("parent", problem)
            return
        where = _start_link(parent, item.valid_from).path if parent is not None else "/"
        path = f"{where}{item.code}/"
        unit = Unit(code=item.code, name=item.name, level=item.level, parent=parent, path=path,
                    valid_from=item.valid_from, valid_to=item.valid_to)
        unit.links.append(UnitLink(parent=parent, relation="parent", path=path,
                                   valid_from=item.valid_from, valid_to=item.valid_to))
        db.session.add(unit)
        self.units[item.code] = unit
        under = f"under {parent.code}" if parent is not None else "at the top"
        self.changes.append(f"added {item.code} ({item.name}, {item.level}) {under}, "
                            f"{_period(item.valid_from, item.valid_to)}")

    def _update(self, unit: Unit, item: Item, parent: Unit | None, fail) -> None:
        places = [link for link in unit.links if link.relation == "parent"]
        if parent not in [link.parent for link in places]:
            now = ", ".join(f"{link.parent.code if link.parent else '(none)'} {_period(link.valid_from, link.valid_to)}"
                            for link in places)
            fail("parent", f"unit '{unit.code}' sits under {now}, not under '{item.parent}': {REFORM_HINT}")
            return
        children = db.session.execute(db.select(UnitLink).where(UnitLink.parent_id == unit.id)).scalars().all()
        if item.level != unit.level:
            below = [link.unit for link in children
                     if link.relation == "parent" and RANK[link.unit.level] <= RANK[item.level]]
            if below:
                fail("level", f"'{below[0].code}', a {below[0].level}, sits under the unit: "
                              f"it cannot be a {item.level}")
                return
        moved = (item.valid_from, item.valid_to) != (unit.valid_from, unit.valid_to)
        if moved and not self._period_ok(unit, item, places, children, fail):
            return
        if item.name != unit.name:
            self.changes.append(f"renamed {unit.code}: '{unit.name}' -> '{item.name}'")
            unit.name = item.name
        if item.level != unit.level:
            self.changes.append(f"level of {unit.code}: {unit.level} -> {item.level}")
            unit.level = item.level
        if moved:
            self.changes.append(f"period of {unit.code}: {_period(unit.valid_from, unit.valid_to)} -> "
                                f"{_period(item.valid_from, item.valid_to)}")
            first = min(places, key=lambda link: link.valid_from or date.min)
            last = max(places, key=lambda link: link.valid_from or date.min)
            unit.valid_from, first.valid_from = item.valid_from, item.valid_from
            unit.valid_to, last.valid_to = item.valid_to, item.valid_to

    def _period_ok(self, unit: Unit, item: Item, places: list[UnitLink], children: list[UnitLink], fail) -> bool:
        """A new period moves the start of the first place and the end of the last; the
        parents must hold those places over it, and the units under it must fit in it."""
        start, end = item.valid_from, item.valid_to
        if unit.ended_by is not None and end != unit.valid_to:
            fail("valid_to", f"unit '{unit.code}' ends on {unit.valid_to} by reform {unit.ended_by.code}: "
                             f"write that date (a reform file changes it)")
            return False
        first = min(places, key=lambda link: link.valid_from or date.min)
        last = max(places, key=lambda link: link.valid_from or date.min)
        if first.valid_to is not None and (start is None or start > first.valid_to) and first is not last:
            fail("valid_from", f"would remove its place {_period(first.valid_from, first.valid_to)} "
                               f"under '{first.parent.code if first.parent else '(none)'}'")
            return False
        if last.valid_from is not None and end is not None and end < last.valid_from and first is not last:
            fail("valid_to", f"would remove its place {_period(last.valid_from, last.valid_to)} "
                             f"under '{last.parent.code if last.parent else '(none)'}'")
            return False
        for link, span in ((first, (start, first.valid_to if first is not last else end)),
                           (last, (last.valid_from if first is not last else start, end))):
            if link.parent is not None and (problem := _place_problem(link.parent, *span)):
                fail("valid_from" if link is first else "valid_to", problem)
                return False
        for link in children:
            early = start is not None and (link.valid_from is None or link.valid_from < start)
            late = link.relation == "parent" and end is not None and (link.valid_to is None or link.valid_to > end)
            if early or late:
                what = "sits under it" if link.relation == "parent" else "hands it its history"
                fail("valid_from" if early else "valid_to",
                     f"'{link.unit.code}' {what} over {_period(link.valid_from, link.valid_to)}, "
                     f"outside {_period(start, end)}")
                return False
        return True


def import_units(path: Path) -> list[str]:
    """Add and update the file's units in the caller's transaction; one line per change."""
    return _Import(path, read_rows(path)).run()
