"""Who acts, in the words a civil servant uses (not role@level codes): the words
are data, STATES_DIR/labels/actors.yaml (workflow/labels.py)."""
from __future__ import annotations

from ..pdf.texts import states_dir
from ..workflow.definitions import Actor
from ..workflow.labels import actor_labels


def actor_name(actor: Actor, lang: str) -> str:
    names = actor_labels(str(states_dir())).get(actor)
    if names is None:
        return f"{actor.role} ({actor.level})"
    return names["en"] if lang == "en" else names["vi"]


def who(actors: tuple[Actor, ...], lang: str) -> str:
    return (" or " if lang == "en" else " hoặc ").join(actor_name(a, lang) for a in actors)
