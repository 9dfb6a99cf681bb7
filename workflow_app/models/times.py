from __future__ import annotations

from ..clock import utcnow

__all__ = ["utcnow"]
