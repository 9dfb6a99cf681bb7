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


def local_iso(stored: datetime | None, timespec: str = "seconds") -> str | None:
    """A stored time as ISO 8601 in +07:00 ("2024-09-02T10:05:00+07:00"); None stays None."""
    return None if stored is None else to_local(stored).isoformat(timespec=timespec)


def local_naive(stored: datetime | None) -> datetime | None:
    """Vietnam wall time without tzinfo, for openpyxl (which refuses aware datetimes)."""
    return None if stored is None else to_local(stored).replace(tzinfo=None)


def as_stored(moment: datetime | None) -> datetime:
    """How a time is stored: naive UTC. None is now; a naive time is taken as UTC already."""
    if moment is None:
        return utcnow()
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)


def local_month_bounds(year: int, month: int) -> tuple[datetime, datetime]:
    """[start, end) of a Vietnam-time month as naive UTC: September 2024 is
    2024-08-31 17:00 to 2024-09-30 17:00."""
    start = datetime(year, month, 1, tzinfo=VN_TZ)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=VN_TZ)
    return as_stored(start), as_stored(end)
