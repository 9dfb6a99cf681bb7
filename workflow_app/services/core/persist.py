"""Writes with compare-and-set semantics: a lost race is a 409, never a 500, and a
request that asked for no version check is applied on the latest state instead.

Every change of a dossier bumps its version (`UPDATE ... WHERE version = n`), so of two
writers of one dossier one wins and the other's flush finds no row (StaleDataError);
PostgreSQL may also refuse a transaction at COMMIT (serialization failure, deadlock).
`unit_of_work` runs one request's load-change-answer and commits it; when it lost such
a race and the caller sent no `version`, it rolls back and runs again on the latest
state, at most ATTEMPTS times. With a `version` the caller asked "only if nothing
changed since I read it": a lost race is then a 409 at once."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from ...workflow.errors import Conflict

T = TypeVar("T")

# A writer loses only to a commit made after its read, so each lost round is another
# writer's success: up to ATTEMPTS writers of one dossier at once all succeed.
ATTEMPTS = 8

ACTED_FIRST = (
    "Người khác vừa thao tác trên hồ sơ này trước bạn. Hãy tải lại trang và kiểm tra trước khi thử lại.",
    "Someone acted on this dossier before you. Reload it and check before trying again.",
)

# SQLSTATEs of a transaction PostgreSQL gave up for another's sake: serialization failure, deadlock.
_RACE_STATES = ("40001", "40P01")


class LostRace(Conflict):
    """Another transaction changed the dossier between this one's read and its write.
    Only this 409 is retried; the others ("already removed", "an open dossier exists",
    a stale `version`) are answers."""

    def __init__(self) -> None:
        super().__init__(*ACTED_FIRST)


def is_lost_race(exc: BaseException) -> bool:
    if isinstance(exc, (LostRace, StaleDataError)):
        return True
    if isinstance(exc, OperationalError):
        if getattr(exc.orig, "sqlstate", None) in _RACE_STATES:
            return True
        # SQLite reports a writer collision as a lock error; PostgreSQL as
        # serialization/deadlock failures. All mean "someone else won".
        text = str(exc.orig).lower() if exc.orig else str(exc).lower()
        return "locked" in text or "could not serialize" in text or "deadlock" in text
    return False


def flush_or_conflict() -> None:
    try:
        db.session.flush()
    except (StaleDataError, OperationalError, IntegrityError) as exc:
        # A unique key taken between a service's check and its insert is a race lost too.
        if isinstance(exc, IntegrityError) or is_lost_race(exc):
            raise LostRace() from exc
        raise


def unit_of_work(work: Callable[[], T], expected_version: int | None = None, *, attempts: int = ATTEMPTS) -> T:
    """Run `work` (load the dossier, call the service, build the answer) and commit.

    `work` must load what it changes itself: a rerun starts after a rollback, on the
    latest committed state. A refusal (any other exception) rolls back and propagates."""
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            db.session.commit()
            return result
        except Exception as exc:
            db.session.rollback()
            if not is_lost_race(exc):
                raise
            if expected_version is not None or attempt == attempts:
                if isinstance(exc, LostRace):
                    raise
                raise LostRace() from exc
    raise AssertionError("unreachable")  # pragma: no cover
