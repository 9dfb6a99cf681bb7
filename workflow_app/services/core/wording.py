"""Words for people and places as a civil servant writes them: who acts (not
role@level codes; the words are data, STATES_DIR/labels/actors.yaml, read by
workflow/labels.py) and a unit's name inside a sentence or a document's header."""
from __future__ import annotations

from ...models import Unit
from ...pdf.texts import states_dir
from ...workflow.definitions import Actor
from ...workflow.labels import actor_labels


def actor_name(actor: Actor, lang: str) -> str:
    names = actor_labels(str(states_dir())).get(actor)
    if names is None:
        return f"{actor.role} ({actor.level})"
    return names["en"] if lang == "en" else names["vi"]


def who(actors: tuple[Actor, ...], lang: str) -> str:
    return (" or " if lang == "en" else " hoặc ").join(actor_name(a, lang) for a in actors)


LEVEL_WORDS = ("Tỉnh ", "Huyện ", "Thị trấn ", "Xã ", "Thành phố ", "Thị xã ")


def place_name(unit: Unit) -> str:
    """"Huyện Tam Đường" -> "Tam Đường" (the place line of a decision)."""
    for word in LEVEL_WORDS:
        if unit.name.startswith(word):
            return unit.name[len(word):]
    return unit.name


def in_sentence(name: str) -> str:
    """"Xã Nà Tăm" -> "xã Nà Tăm": the level word is lower case inside a sentence."""
    for word in LEVEL_WORDS:
        if name.startswith(word):
            return word.lower() + name[len(word):]
    return name


def committee_of(unit: Unit) -> str:
    """"Xã Nà Tăm" -> "Ủy ban nhân dân xã Nà Tăm"."""
    return "Ủy ban nhân dân " + in_sentence(unit.name)
