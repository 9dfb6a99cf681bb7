"""The fixed words of every definition: roles, unit levels, and an actor (a role
held at a level). Definitions and label files both speak them."""
from __future__ import annotations

from dataclasses import dataclass

ROLES = ("preparer", "submitter", "appraiser", "approver", "viewer", "admin")
LEVELS = ("province", "district", "commune", "town", "village")
# Height in the administrative tree: a smaller rank is higher. A commune and a town
# are peers (both stand directly under a district).
RANK = {"province": 0, "district": 1, "commune": 2, "town": 2, "village": 3}
# The commune tier: the units a steering-committee member is given (a town counts as a commune).
# Not the rows of the per-commune progress tables (core/eras.GROUP_LEVELS, communes only: the
# parents of the applicant villages), which is a different rule on purpose.
COMMUNE_LEVELS = ("commune", "town")
# The order in which kinds are listed by their applicants' level (pages, the monthly
# report's tables, the district's notice): villages, then communes, then towns.
APPLICANT_ORDER = ("village", "commune", "town", "district", "province")


def above(level: str, other: str) -> bool:
    """Whether a unit of `level` stands higher in the tree than one of `other`."""
    return RANK[level] < RANK[other]


@dataclass(frozen=True)
class Actor:
    role: str
    level: str
