"""The one clock: the time zone, now, today and stored times shown as local.

Vietnam keeps +07:00 all year (no daylight saving). Times are stored as naive UTC
(the same on SQLite and PostgreSQL); days are counted in +07:00. Every reading of
the clock goes through here, so tests freeze it in one move (time-machine) and
the app never mixes the server's zone with Vietnam's.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7), "+07:00")


def utcnow() -> datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL."""
    return datetime.now(UTC).replace(tzinfo=None)


def local_now() -> datetime:
    return datetime.now(VN_TZ)


def local_today() -> date:
    return local_now().date()


def to_local(stored: datetime) -> datetime:
    """A stored time (naive UTC, or aware) in +07:00."""
    if stored.tzinfo is None:
        stored = stored.replace(tzinfo=UTC)
    return stored.astimezone(VN_TZ)


def local_date(stored: datetime) -> date:
    """A stored time's calendar day in Vietnam."""
    return to_local(stored).date()
