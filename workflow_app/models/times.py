from __future__ import annotations

from datetime import datetime, timezone


def utcnow() -> datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL, shown with +00:00."""
    return datetime.now(timezone.utc).replace(tzinfo=None)
