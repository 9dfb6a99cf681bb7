"""Effects: what an event does beyond moving the dossier, named in states/*.yaml.

Each effect runs in the event's transaction, after every dossier of the act has
moved, with all of them at once: a batch recognition is one decision. A failing
effect rolls back the whole act. Names known to the definition loader are listed
in workflow/definitions.py (the loader has no Flask and no services).

The functions live in higher areas (documents, notify) that import this one, so
the table is filled from above, once: services/__init__.py calls `install`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ...models import Dossier, User
from ...permissions import Capacity
from ...workflow.definitions import EFFECTS as EFFECT_NAMES, Definition


@dataclass(frozen=True)
class Act:
    """Who fired which event on which dossiers, and why (the comment)."""

    actor: User
    cap: Capacity
    dossiers: list[Dossier]
    definition: Definition
    event: str
    comment: str | None


_EFFECTS: dict[str, Callable[[Act], object]] = {}


def install(table: dict[str, Callable[[Act], object]]) -> None:
    """Set the function of every effect a definition may name, all at once."""
    if set(table) != set(EFFECT_NAMES):
        raise RuntimeError(f"effects table {sorted(table)} differs from the definitions' {sorted(EFFECT_NAMES)}")
    _EFFECTS.clear()
    _EFFECTS.update(table)


def run_effects(names: tuple[str, ...], act: Act) -> None:
    for name in names:
        _EFFECTS[name](act)
