"""Load and validate workflow definitions (states/*.yaml) into plain dataclasses."""
from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from .errors import DefinitionError
from .guards import GUARDS, missing_params
from .labels import check_actor_labels
from .vocabulary import LEVELS, ROLES, Actor
from .yamlfile import load_yaml

FIELD_TYPES = ("number", "integer", "string", "date")
TIME_UNITS = ("working", "calendar")
COLOUR_RE = re.compile(r"#[0-9a-fA-F]{6}")
EVENT_KEYS = ("from", "to", "by", "guards", "comment", "not_by_actor_of", "effects", "labels",
              "files", "starts_round", "reported", "negative", "grants")
# A line column's type: `unit` holds the code of a unit of `level` under the applicant,
# `choice` one of the keys of `choices`.
COLUMN_TYPES = ("string", "integer", "number", "date", "unit", "choice")
COLUMN_KEYS = ("type", "labels", "required", "min", "above", "max", "max_length", "level", "choices",
               "sequence", "not_before", "money")
SUMMARY_LAYOUTS = ("rows", "columns")
# Keys a line carries besides its columns (the API's line: id, granted, the dossier's version).
RESERVED_COLUMNS = ("id", "granted", "version")
EFFECTS = ("issue_decision", "revoke_decision", "issue_receipt", "issue_appraisal_report",
           "notify_returned", "notify_decision")


@dataclass(frozen=True)
class GuardRef:
    name: str
    params: dict = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class EventDef:
    name: str
    sources: tuple[str, ...]
    dest: str
    by: tuple[Actor, ...]
    guards: tuple[GuardRef, ...]
    comment_required: bool
    not_by_actor_of: tuple[str, ...]
    effects: tuple[str, ...]
    labels: dict
    # Roles an event plays, so that services name no event: `files` (the dossier is
    # handed in: receipts, filing deadlines, "the last submission"), `starts_round`
    # (claims carry over, failed verdicts are appraised again), `reported` (counted
    # in the monthly report; by default filing, round-starting and decision events).
    files: bool = False
    starts_round: bool = False
    reported: bool = False
    # `negative`: the event undoes or refuses (return, reject, revoke). It never makes
    # a work-queue item on its own and is offered after the positive steps.
    negative: bool = False
    # `grants`: the line column whose amounts the event may grant in part
    # (`{line_id: amount}` sent with it); lines not named are granted in full.
    grants: str | None = None

    @property
    def issues_decision(self) -> bool:
        return "issue_decision" in self.effects


@dataclass(frozen=True)
class ActionDef:
    name: str
    by: tuple[Actor, ...]
    states: tuple[str, ...] | None
    not_by_actor_of: tuple[str, ...]
    labels: dict


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    by: tuple[Actor, ...]
    states: tuple[str, ...]
    labels: dict
    min: float | None = None
    max: float | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class LineColumn:
    """One column of a dossier's table of lines (funding items, works needing cement...)."""

    name: str
    type: str  # one of COLUMN_TYPES
    labels: dict
    required: bool = False
    min: float | None = None
    above: float | None = None  # exclusive lower bound: "> 0"
    max: float | None = None
    max_length: int | None = None
    level: str | None = None  # `unit`: the level of the units it names
    choices: dict = field(default_factory=dict, hash=False, compare=False)  # key -> {vi, en}
    # `sequence`: whole numbers 1..n, one per line, no gaps (a priority order); the
    # service keeps it so: a line moved to rank k shifts the others.
    sequence: bool = False
    not_before: str | None = None  # `date`: not earlier than this other date column
    money: bool = False  # an amount in đồng: shown with thousands separators and "đ"


@dataclass(frozen=True)
class SummaryDef:
    """How the receiving level's table across its applicants adds up the lines:
    `measure` summed per applicant and per value of `breakdown`, laid out as one row
    per (applicant, value) or one column per value."""

    measure: str
    breakdown: str
    layout: str  # one of SUMMARY_LAYOUTS


@dataclass(frozen=True)
class LinesDef:
    """A dossier made of lines instead of criteria: the columns, who edits the lines
    and in which states (the `edit_lines` action), and how they add up."""

    columns: dict[str, LineColumn]
    summary: SummaryDef

    @property
    def sequence(self) -> LineColumn | None:
        return next((c for c in self.columns.values() if c.sequence), None)


@dataclass(frozen=True)
class Indicator:
    """A measurable part of a criterion (QĐ 51/2025 has 47 in 10 criteria), with a target
    per commune group; a target is None until the province's guidance gives it."""

    code: str
    name: dict
    targets: dict = field(default_factory=dict, hash=False, compare=False)
    confidence: str | None = None  # "H", "M" or "L", as in the data files


@dataclass(frozen=True)
class Criterion:
    code: str
    name: dict
    requirement: dict
    owner: dict
    indicators: tuple[Indicator, ...] = ()


@dataclass(frozen=True)
class TimeLimit:
    """How long a dossier may stay in a state: `days` working or calendar days,
    counted from the day after it entered the state (see services/core/clocks.py)."""

    days: int
    unit: str  # one of TIME_UNITS


@dataclass(frozen=True)
class StateDef:
    name: str
    closed: bool
    labels: dict
    time_limit: TimeLimit | None = None
    pauses_clock: bool = False  # waiting on the applicant: step clocks stop while here
    colour: str | None = None   # "#rrggbb" in charts; None draws the neutral colour


@dataclass(frozen=True)
class Window:
    """An inclusive range (of dossier years, or of action dates); None is open."""

    start: Any = None
    end: Any = None

    def holds(self, value) -> bool:
        return (self.start is None or self.start <= value) and (self.end is None or value <= self.end)

    def overlaps(self, other: Window) -> bool:
        return (self.start is None or other.end is None or self.start <= other.end) and \
            (other.start is None or self.end is None or other.start <= self.end)


@dataclass
class Definition:
    kind: str
    version: int
    path: str
    labels: dict
    applicant_level: str
    initial: str
    states: dict[str, StateDef]
    events: dict[str, EventDef]
    actions: dict[str, ActionDef]
    fields: dict[str, FieldDef]
    criteria: list[Criterion]
    criteria_set: str
    # Which dossiers this road serves (their year) and on which days it governs
    # their actions: a reform or a new programme is a new file, never an edit.
    years: Window = field(default_factory=Window)
    in_force: Window = field(default_factory=Window)
    lines: LinesDef | None = None

    @property
    def grant_event(self) -> EventDef | None:
        return next((e for e in self.events.values() if e.grants), None)

    def criterion(self, code: str) -> Criterion | None:
        return next((c for c in self.criteria if c.code == code), None)

    def events_from(self, state: str) -> list[EventDef]:
        return [e for e in self.events.values() if state in e.sources]

    def offered_from(self, state: str) -> list[EventDef]:
        """The state's events as offered to people: positive steps first, then the
        negative ones (definition order within each)."""
        found = self.events_from(state)
        return [e for e in found if not e.negative] + [e for e in found if e.negative]

    @property
    def filing_events(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.events.values() if e.files)

    @property
    def decision_events(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.events.values() if e.issues_decision)

    @property
    def paused_states(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states.values() if s.pauses_clock)


class _Reader:
    """Walks one YAML document, naming file and key in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, key: str, problem: str) -> DefinitionError:
        return DefinitionError(f"{self.path.name}: {key}: {problem}")

    def need(self, mapping: Any, key: str, where: str, kind: type | tuple = object) -> Any:
        if not isinstance(mapping, dict) or key not in mapping:
            raise self.fail(f"{where}.{key}" if where else key, "missing")
        value = mapping[key]
        if not isinstance(value, kind):
            raise self.fail(f"{where}.{key}" if where else key, f"must be {_kind_name(kind)}")
        return value

    def labels(self, mapping: dict, where: str) -> dict:
        labels = mapping.get("labels") or {}
        if not isinstance(labels, dict) or not labels.get("vi") or not labels.get("en"):
            raise self.fail(f"{where}.labels", "needs both 'vi' and 'en'")
        return {"vi": str(labels["vi"]), "en": str(labels["en"])}

    def actors(self, mapping: dict, where: str) -> tuple[Actor, ...]:
        raw = mapping.get("by")
        if not raw:
            raise self.fail(f"{where}.by", "no role may act (give at least one 'role@level')")
        actors = []
        for item in _listify(raw):
            role, _, level = str(item).partition("@")
            if role not in ROLES:
                raise self.fail(f"{where}.by", f"unknown role '{role}' (known: {', '.join(ROLES)})")
            if level not in LEVELS:
                raise self.fail(f"{where}.by", f"unknown level '{level}' in '{item}' (known: {', '.join(LEVELS)})")
            actors.append(Actor(role, level))
        return tuple(actors)

    def flag(self, mapping: dict, key: str, where: str, default: bool = False) -> bool:
        """A yes/no key: true or false, nothing else (a typo must not read as 'no')."""
        value = mapping.get(key, default)
        if not isinstance(value, bool):
            raise self.fail(f"{where}.{key}", f"must be true or false (got {value!r})")
        return value

    def colour(self, mapping: dict, where: str) -> str | None:
        value = mapping.get("colour")
        if value is not None and not (isinstance(value, str) and COLOUR_RE.fullmatch(value)):
            raise self.fail(f"{where}.colour", f"must be a colour like '#2e7d4f' (got {value!r})")
        return value

    def states_list(self, value: Any, where: str, states: dict) -> tuple[str, ...]:
        names = tuple(str(s) for s in _listify(value))
        for name in names:
            if name not in states:
                raise self.fail(where, f"unknown state '{name}'")
        return names


def _listify(value: Any) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _kind_name(kind: type | tuple) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {dict: "a mapping", list: "a list", str: "a text", int: "an integer"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def load_definition(path: Path, known_guards: set[str] | None = None) -> Definition:
    known_guards = known_guards if known_guards is not None else set(GUARDS)
    r = _Reader(path)
    doc = _document(path, r)

    kind = r.need(doc, "kind", "", str)
    version = r.need(doc, "version", "", int)
    applicant_level = r.need(doc, "applicant_level", "", str)
    if applicant_level not in LEVELS:
        raise r.fail("applicant_level", f"unknown level '{applicant_level}'")

    states, legacy = {}, set()
    for name, body in r.need(doc, "states", "", dict).items():
        body = body or {}
        where = f"states.{name}"
        if not isinstance(body, dict):
            raise r.fail(where, "must be a mapping")
        closed = bool(body.get("closed", False))
        pauses = r.flag(body, "pauses_clock", where)
        if pauses and closed:
            raise r.fail(f"{where}.pauses_clock", "a closed state has no clock to pause")
        states[str(name)] = StateDef(str(name), closed, r.labels(body, where),
                                     _time_limit(body, where, closed, r), pauses, r.colour(body, where))
        if body.get("legacy"):  # entered only under an earlier road; dossiers there move on
            legacy.add(str(name))
    initial = r.need(doc, "initial", "", str)
    if initial not in states:
        raise r.fail("initial", f"unknown state '{initial}'")

    events = {}
    for name, body in r.need(doc, "events", "", dict).items():
        where = f"events.{name}"
        if not isinstance(body, dict):
            raise r.fail(where, "must be a mapping")
        unknown = sorted(set(map(str, body)) - set(EVENT_KEYS))
        if unknown:  # a misspelt key must not read as "not set"
            raise r.fail(f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(EVENT_KEYS)})")
        sources = r.states_list(r.need(body, "from", where), f"{where}.from", states)
        dest = r.states_list(r.need(body, "to", where, str), f"{where}.to", states)[0]
        guards = []
        for g in _listify(body.get("guards") or []):
            ref = GuardRef(g, {}) if isinstance(g, str) else GuardRef(
                str(g.get("name")), {k: v for k, v in g.items() if k != "name"}
            ) if isinstance(g, dict) else None
            if ref is None or ref.name not in known_guards:
                raise r.fail(f"{where}.guards", f"unknown guard '{g}' (known: {', '.join(sorted(known_guards))})")
            lacking = missing_params(ref.name, ref.params)
            if lacking:
                raise r.fail(f"{where}.guards.{ref.name}", f"needs {', '.join(lacking)}")
            guards.append(ref)
        comment = body.get("comment", "optional")
        if comment not in ("required", "optional"):
            raise r.fail(f"{where}.comment", "must be 'required' or 'optional'")
        effects = tuple(str(e) for e in _listify(body.get("effects") or []))
        for effect in effects:
            if effect not in EFFECTS:
                raise r.fail(f"{where}.effects", f"unknown effect '{effect}'")
        files, starts_round = r.flag(body, "files", where), r.flag(body, "starts_round", where)
        events[str(name)] = EventDef(
            name=str(name), sources=sources, dest=dest, by=r.actors(body, where),
            guards=tuple(guards), comment_required=comment == "required",
            not_by_actor_of=tuple(_listify(body.get("not_by_actor_of") or [])),
            effects=effects, labels=r.labels(body, where), files=files, starts_round=starts_round,
            reported=r.flag(body, "reported", where,
                            default=files or starts_round or "issue_decision" in effects),
            negative=r.flag(body, "negative", where),
            grants=_grants(body, where, r),
        )

    actions = {}
    for name, body in (doc.get("actions") or {}).items():
        where = f"actions.{name}"
        st = body.get("states")
        actions[str(name)] = ActionDef(
            name=str(name), by=r.actors(body, where),
            states=r.states_list(st, f"{where}.states", states) if st else None,
            not_by_actor_of=tuple(_listify(body.get("not_by_actor_of") or [])),
            labels=r.labels(body, where),
        )
    lines = _lines(doc, r)
    # A dossier is judged on criteria or made of lines: each needs its own actions.
    for needed in ("create", "attach", *(("edit_lines",) if lines else ("self_assess", "appraise_criterion"))):
        if needed not in actions:
            raise r.fail(f"actions.{needed}", "missing")

    fields = {}
    for name, body in (doc.get("fields") or {}).items():
        where = f"fields.{name}"
        ftype = r.need(body, "type", where, str)
        if ftype not in FIELD_TYPES:
            raise r.fail(f"{where}.type", f"unknown type '{ftype}' (known: {', '.join(FIELD_TYPES)})")
        fields[str(name)] = FieldDef(
            name=str(name), type=ftype, by=r.actors(body, where),
            states=r.states_list(r.need(body, "states", where), f"{where}.states", states),
            labels=r.labels(body, where), min=body.get("min"), max=body.get("max"),
            max_length=body.get("max_length"),
        )

    if lines and "criteria" in doc:
        raise r.fail("criteria", "a dossier of lines has no criteria (give 'lines' or 'criteria', not both)")
    if lines:
        criteria, criteria_set = [], ""
    else:
        criteria, criteria_set = _load_criteria(path.parent / r.need(doc, "criteria", "", str), r)

    definition = Definition(
        kind=kind, version=version, path=str(path), labels=r.labels(doc, "(top)"),
        applicant_level=applicant_level, initial=initial, states=states, events=events,
        actions=actions, fields=fields, criteria=criteria, criteria_set=criteria_set,
        years=_window(doc, "years", int, r), in_force=_window(doc, "in_force", date, r), lines=lines,
    )
    _check_reachable(definition, r, legacy)
    _check_grants(definition, r)
    return definition


def _grants(body: dict, where: str, r: _Reader) -> str | None:
    value = body.get("grants")
    if value is not None and not isinstance(value, str):
        raise r.fail(f"{where}.grants", "must be the name of a line column")
    return value


def _check_grants(d: Definition, r: _Reader) -> None:
    for e in d.events.values():
        if not e.grants:
            continue
        column = d.lines.columns.get(e.grants) if d.lines else None
        if column is None or column.type not in ("integer", "number"):
            raise r.fail(f"events.{e.name}.grants", f"'{e.grants}' is not a number column of 'lines'")


def _lines(doc: dict, r: _Reader) -> LinesDef | None:
    """`lines: {columns: {name: {type, labels, ...}}, summary: {measure, breakdown, layout}}`."""
    raw = doc.get("lines")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise r.fail("lines", "must be a mapping with 'columns' and 'summary'")
    columns: dict[str, LineColumn] = {}
    for name, body in r.need(raw, "columns", "lines", dict).items():
        if str(name) in RESERVED_COLUMNS:
            raise r.fail(f"lines.columns.{name}", f"reserved name (not a column: {', '.join(RESERVED_COLUMNS)})")
        columns[str(name)] = _column(str(name), body, f"lines.columns.{name}", r)
    if not columns:
        raise r.fail("lines.columns", "empty")
    if sum(c.sequence for c in columns.values()) > 1:
        raise r.fail("lines.columns", "at most one column may be a sequence")
    for c in columns.values():
        other = columns.get(c.not_before) if c.not_before else None
        if c.not_before and (other is None or other.type != "date" or c.type != "date"):
            raise r.fail(f"lines.columns.{c.name}.not_before", f"'{c.not_before}' is not another date column")
    summary = r.need(raw, "summary", "lines", dict)
    measure = r.need(summary, "measure", "lines.summary", str)
    breakdown = r.need(summary, "breakdown", "lines.summary", str)
    if columns.get(measure) is None or columns[measure].type not in ("integer", "number"):
        raise r.fail("lines.summary.measure", f"'{measure}' is not a number column")
    if columns.get(breakdown) is None or columns[breakdown].type not in ("unit", "choice", "string"):
        raise r.fail("lines.summary.breakdown", f"'{breakdown}' is not a unit, choice or text column")
    layout = summary.get("layout", "rows")
    if layout not in SUMMARY_LAYOUTS:
        raise r.fail("lines.summary.layout", f"must be one of {', '.join(SUMMARY_LAYOUTS)} (got {layout!r})")
    return LinesDef(columns, SummaryDef(measure, breakdown, layout))


def _column(name: str, body: Any, where: str, r: _Reader) -> LineColumn:
    if not isinstance(body, dict):
        raise r.fail(where, "must be a mapping")
    unknown = sorted(set(map(str, body)) - set(COLUMN_KEYS))
    if unknown:
        raise r.fail(f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(COLUMN_KEYS)})")
    ctype = r.need(body, "type", where, str)
    if ctype not in COLUMN_TYPES:
        raise r.fail(f"{where}.type", f"unknown type '{ctype}' (known: {', '.join(COLUMN_TYPES)})")
    for key in ("min", "above", "max"):
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise r.fail(f"{where}.{key}", f"must be a number (got {value!r})")
    level = body.get("level")
    if ctype == "unit" and level not in LEVELS:
        raise r.fail(f"{where}.level", f"a unit column needs a level (known: {', '.join(LEVELS)})")
    choices = body.get("choices") or {}
    if ctype == "choice":
        if not isinstance(choices, dict) or not choices:
            raise r.fail(f"{where}.choices", "a choice column needs choices: {key: {vi: ..., en: ...}}")
        for key, labels in choices.items():
            if not isinstance(labels, dict) or not labels.get("vi") or not labels.get("en"):
                raise r.fail(f"{where}.choices.{key}", "needs both 'vi' and 'en'")
    sequence = r.flag(body, "sequence", where)
    if sequence and ctype != "integer":
        raise r.fail(f"{where}.sequence", "only an integer column can be a sequence")
    return LineColumn(
        name=name, type=ctype, labels=r.labels(body, where), required=r.flag(body, "required", where),
        min=body.get("min"), above=body.get("above"), max=body.get("max"), max_length=body.get("max_length"),
        level=level if ctype == "unit" else None,
        choices={str(k): {"vi": str(v["vi"]), "en": str(v["en"])} for k, v in choices.items()},
        sequence=sequence, not_before=body.get("not_before"), money=r.flag(body, "money", where))


def _document(path: Path, r: _Reader, seen: tuple[Path, ...] = ()) -> dict:
    """The file's mapping, laid over the file it `extends` (if any): top-level keys
    replace the base's, except states/events/actions/fields, where each entry
    replaces the same-named one and `null` removes it."""
    try:
        doc = load_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise r.fail("(top)", "must be a mapping")
    base_name = doc.pop("extends", None)
    if base_name is None:
        return doc
    base_path = path.parent / str(base_name)
    if base_path in seen or base_path == path:
        raise r.fail("extends", f"'{base_name}' extends itself")
    if not base_path.exists():
        raise r.fail("extends", f"file not found: {base_name}")
    merged = _document(base_path, _Reader(base_path), (*seen, path))
    for key, value in doc.items():
        if key in ("states", "events", "actions", "fields") and isinstance(value, dict):
            section = dict(merged.get(key) or {})
            for name, body in value.items():
                if body is None:
                    section.pop(name, None)
                else:
                    section[name] = body
            merged[key] = section
        else:
            merged[key] = value
    return merged


def _window(doc: dict, key: str, kind: type, r: _Reader) -> Window:
    """`years: {from: 2021, to: 2025}` or `in_force: {from: 2025-07-01}`."""
    raw = doc.get(key)
    if raw is None:
        return Window()
    if not isinstance(raw, dict) or set(map(str, raw)) - {"from", "to"}:
        raise r.fail(key, "must be a mapping with 'from' and/or 'to'")
    start, end = raw.get("from"), raw.get("to")
    for name, value in (("from", start), ("to", end)):
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise r.fail(f"{key}.{name}", f"must be {'a year' if kind is int else 'a date YYYY-MM-DD'} (got {value!r})")
    if start is not None and end is not None and end < start:
        raise r.fail(key, f"ends ({end}) before it starts ({start})")
    return Window(start, end)


def _time_limit(body: dict, where: str, closed: bool, r: _Reader) -> TimeLimit | None:
    """`time_limit: {days: N, unit: working|calendar}` of a state, or None."""
    raw = body.get("time_limit")
    if raw is None:
        return None
    where = f"{where}.time_limit"
    if not isinstance(raw, dict):
        raise r.fail(where, "must be a mapping like {days: 5, unit: working}")
    unknown = sorted(set(map(str, raw)) - {"days", "unit"})
    if unknown:
        raise r.fail(f"{where}.{unknown[0]}", "unknown key (known: days, unit)")
    if closed:
        raise r.fail(where, "a closed state has no time limit")
    days = raw.get("days")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise r.fail(f"{where}.days", f"must be a whole number of days, at least 1 (got {days!r})")
    unit = raw.get("unit")
    if unit not in TIME_UNITS:
        raise r.fail(f"{where}.unit", f"must be one of {', '.join(TIME_UNITS)} (got {unit!r})")
    return TimeLimit(days, unit)


def _load_criteria(path: Path, r: _Reader) -> tuple[list[Criterion], str]:
    if not path.exists():
        raise r.fail("criteria", f"file not found: {path.name}")
    doc = load_yaml(path)
    cr = _Reader(path)
    items = cr.need(doc, "criteria", "", list)
    out, seen = [], set()
    for i, item in enumerate(items):
        code = str(cr.need(item, "code", f"criteria[{i}]"))
        if code in seen:
            raise cr.fail(f"criteria[{i}].code", f"duplicate code '{code}'")
        seen.add(code)
        name = cr.need(item, "name", f"criteria[{i}]", dict)
        indicators = _indicators(item, code, f"criteria[{i}]", cr)
        out.append(Criterion(code, name, item.get("requirement") or {}, item.get("owner") or {}, indicators))
    if not out:
        raise cr.fail("criteria", "empty")
    return out, str(doc.get("id", path.stem))


def _indicators(item: dict, criterion: str, where: str, cr: _Reader) -> tuple[Indicator, ...]:
    """`indicators:` of one criterion: codes "<criterion>.<n>", unique, named in vi and en."""
    raw = item.get("indicators")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise cr.fail(f"{where}.indicators", "must be a list")
    out, seen = [], set()
    for j, ind in enumerate(raw):
        at = f"{where}.indicators[{j}]"
        code = str(cr.need(ind, "code", at))
        if code in seen:
            raise cr.fail(f"{at}.code", f"duplicate code '{code}' in criterion '{criterion}'")
        if not code.startswith(f"{criterion}."):
            raise cr.fail(f"{at}.code", f"'{code}' must start with '{criterion}.' (its criterion)")
        seen.add(code)
        name = cr.need(ind, "name", at, dict)
        if not name.get("vi") or not name.get("en"):
            raise cr.fail(f"{at}.name", "needs both 'vi' and 'en'")
        targets = ind.get("targets") or {}
        if not isinstance(targets, dict):
            raise cr.fail(f"{at}.targets", "must be a mapping like {group_1: ..., group_2: ..., group_3: ...}")
        confidence = ind.get("confidence")
        if confidence is not None and confidence not in ("H", "M", "L"):
            raise cr.fail(f"{at}.confidence", f"must be H, M or L (got {confidence!r})")
        out.append(Indicator(code, {"vi": str(name["vi"]), "en": str(name["en"])},
                             {str(k): v for k, v in targets.items()}, confidence))
    return tuple(out)


def _check_reachable(d: Definition, r: _Reader, legacy: set[str] = frozenset()) -> None:
    seen, queue = {d.initial}, deque([d.initial])
    while queue:
        state = queue.popleft()
        for event in d.events_from(state):
            if event.dest not in seen:
                seen.add(event.dest)
                queue.append(event.dest)
    for name in d.states:
        if name not in seen and name not in legacy:
            raise r.fail(f"states.{name}", f"unreachable from '{d.initial}'")


def load_all(states_dir: str | Path) -> dict[tuple[str, int], Definition]:
    """Every definition in states/ (and states/archive/ for older versions)."""
    root = Path(states_dir)
    found: dict[tuple[str, int], Definition] = {}
    for path in sorted(root.glob("*.yaml")) + sorted(root.glob("archive/*.yaml")):
        definition = load_definition(path)
        key = (definition.kind, definition.version)
        if key in found:
            raise DefinitionError(f"{path.name}: kind '{definition.kind}' version {definition.version} defined twice")
        found[key] = definition
    if not found:
        raise DefinitionError(f"{root}: no definitions found")
    _check_roads(found)
    check_actor_labels(root, list(found.values()))
    return found


def _check_roads(found: dict[tuple[str, int], Definition]) -> None:
    """One road per kind for any dossier year and action day: two files whose
    years and in-force days overlap would make "who acts" ambiguous."""
    by_kind: dict[str, list[Definition]] = {}
    for d in found.values():
        by_kind.setdefault(d.kind, []).append(d)
    for roads in by_kind.values():
        roads.sort(key=lambda d: d.version)
        for i, a in enumerate(roads):
            for b in roads[i + 1:]:
                if a.years.overlaps(b.years) and a.in_force.overlaps(b.in_force):
                    raise DefinitionError(
                        f"{Path(b.path).name}: in_force: overlaps {Path(a.path).name} for the same dossier years "
                        f"(give each road its own 'years' or 'in_force' period)")
