"""Who acts, in the words a civil servant uses: states/labels/actors.yaml maps
role -> level -> {vi, en}. Loaded once per folder; `load_all` checks it covers
every role@level a definition names."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from .errors import DefinitionError
from .vocabulary import LEVELS, ROLES, Actor
from .yamlfile import load_yaml

ACTORS_FILE = Path("labels") / "actors.yaml"


@lru_cache(maxsize=8)
def actor_labels(states_dir: str) -> dict[Actor, dict[str, str]]:
    """Actor -> {"vi": ..., "en": ...}; empty when the folder has no labels file."""
    path = Path(states_dir) / ACTORS_FILE
    if not path.exists():
        return {}
    name = ACTORS_FILE.as_posix()
    try:
        doc = load_yaml(path)
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError(f"{name}: not valid YAML: {exc}") from exc
    if not isinstance(doc, dict):
        raise DefinitionError(f"{name}: (top): must be a mapping of roles")
    out: dict[Actor, dict[str, str]] = {}
    for role, levels in doc.items():
        if role not in ROLES:
            raise DefinitionError(f"{name}: {role}: unknown role (known: {', '.join(ROLES)})")
        if not isinstance(levels, dict):
            raise DefinitionError(f"{name}: {role}: must be a mapping of levels")
        for level, words in levels.items():
            if level not in LEVELS:
                raise DefinitionError(f"{name}: {role}.{level}: unknown level (known: {', '.join(LEVELS)})")
            if not isinstance(words, dict) or not words.get("vi") or not words.get("en"):
                raise DefinitionError(f"{name}: {role}.{level}: needs both 'vi' and 'en'")
            out[Actor(role, level)] = {"vi": str(words["vi"]), "en": str(words["en"])}
    return out


def check_actor_labels(states_dir: str | Path, definitions: list) -> None:
    """Every role@level a definition lets act has words in the labels file (when
    there is one): a page must never show 'approver (province)' to a citizen."""
    labels = actor_labels(str(states_dir))
    if not labels:
        return
    for d in definitions:
        sections = [("events", x) for x in d.events.values()] + [("actions", x) for x in d.actions.values()] \
            + [("fields", x) for x in d.fields.values()]
        for section, item in sections:
            for actor in item.by:
                if actor not in labels:
                    raise DefinitionError(
                        f"{Path(d.path).name}: {section}.{item.name}.by: '{actor.role}@{actor.level}' has no "
                        f"words in {ACTORS_FILE.as_posix()} "
                        f"(add {actor.role}: {{{actor.level}: {{vi: ..., en: ...}}}})")
