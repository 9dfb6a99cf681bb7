"""Who acts, in the words a civil servant uses (not role@level codes)."""
from __future__ import annotations

from ..workflow.definitions import Actor

# role -> level -> (Vietnamese, English)
ACTOR_NAMES = {
    "preparer": {"village": ("trưởng bản", "the village head"), "town": ("cán bộ thị trấn", "town staff"),
                 "commune": ("cán bộ xã", "commune staff")},
    "submitter": {"commune": ("cán bộ UBND xã", "the commune officer"), "town": ("cán bộ UBND thị trấn", "the town officer"),
                  "district": ("cán bộ huyện", "district staff")},
    "appraiser": {"district": ("cán bộ thẩm định của huyện", "a district appraiser"),
                  "province": ("cán bộ thẩm định của tỉnh", "a provincial appraiser")},
    "approver": {"district": ("lãnh đạo UBND huyện", "the district leadership"),
                 "province": ("lãnh đạo UBND tỉnh", "the provincial leadership")},
}


def actor_name(actor: Actor, lang: str) -> str:
    names = ACTOR_NAMES.get(actor.role, {}).get(actor.level)
    if names is None:
        return f"{actor.role} ({actor.level})"
    return names[1] if lang == "en" else names[0]


def who(actors: tuple[Actor, ...], lang: str) -> str:
    return (" or " if lang == "en" else " hoặc ").join(actor_name(a, lang) for a in actors)
