"""The one clock: the time zone, now, today and stored times shown as local.

Vietnam keeps +07:00 all year (no daylight saving). Times are stored as naive UTC
(the same on SQLite and PostgreSQL); days are counted in +07:00. Every reading of
the clock goes through here, so tests freeze it in one move (time-machine) and
the app never mixes the server's zone with Vietnam's.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime, timedelta, timezone

VN_TZ = timezone(timedelta(hours=7), "+07:00")

# (instant to answer, real time when pinned): see `pinned`.
_pin: ContextVar[tuple[datetime, datetime] | None] = ContextVar("clock_pin", default=None)


def _now_utc() -> datetime:
    real = datetime.now(UTC)
    pin = _pin.get()
    return real if pin is None else pin[0] + (real - pin[1])


@contextmanager
def pinned(at: datetime) -> Iterator[None]:
    """Within the block the clock reads `at` (aware) and ticks on from there: how
    demo data gets a history dated in the past through the ordinary services."""
    token = _pin.set((at.astimezone(UTC), datetime.now(UTC)))
    try:
        yield
    finally:
        _pin.reset(token)


def utcnow() -> datetime:
    """Naive UTC: stored the same way on SQLite and PostgreSQL."""
    return _now_utc().replace(tzinfo=None)


def local_now() -> datetime:
    return _now_utc().astimezone(VN_TZ)


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
