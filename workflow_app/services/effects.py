"""Effects: what an event does beyond moving the dossier, named in states/*.yaml.

Each effect runs in the event's transaction, after every dossier of the act has
moved, with all of them at once: a batch recognition is one decision. A failing
effect rolls back the whole act. Names known to the definition loader are listed
in workflow/definitions.py (the loader has no Flask and no services).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from ..models import Dossier, User
from ..permissions import Capacity
from ..workflow.definitions import Definition


@dataclass(frozen=True)
class Act:
    """Who fired which event on which dossiers, and why (the comment)."""

    actor: User
    cap: Capacity
    dossiers: list[Dossier]
    definition: Definition
    event: str
    comment: str | None


EFFECTS: dict[str, Callable[[Act], object]] = {}


def effect(name: str):
    def register(fn: Callable[[Act], object]):
        EFFECTS[name] = fn
        return fn
    return register


def run_effects(names: tuple[str, ...], act: Act) -> None:
    for name in names:
        EFFECTS[name](act)
