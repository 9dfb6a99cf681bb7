"""The fixed words of every definition: roles, unit levels, and an actor (a role
held at a level). Definitions and label files both speak them."""
from __future__ import annotations

from dataclasses import dataclass

ROLES = ("preparer", "submitter", "appraiser", "approver", "viewer", "admin")
LEVELS = ("province", "district", "commune", "town", "village")


@dataclass(frozen=True)
class Actor:
    role: str
    level: str
