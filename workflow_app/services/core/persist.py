"""Flush with compare-and-set semantics: a lost race is a 409, never a 500."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from ...extensions import db
from ...workflow.errors import Conflict

ACTED_FIRST = (
    "Người khác vừa thao tác trên hồ sơ này trước bạn. Hãy tải lại trang và kiểm tra trước khi thử lại.",
    "Someone acted on this dossier before you. Reload it and check before trying again.",
)


def is_lost_race(exc: BaseException) -> bool:
    if isinstance(exc, StaleDataError):
        return True
    if isinstance(exc, OperationalError):
        # SQLite reports a writer collision as a lock error; PostgreSQL as
        # serialization/deadlock failures. All mean "someone else won".
        text = str(exc.orig).lower() if exc.orig else str(exc).lower()
        return "locked" in text or "could not serialize" in text or "deadlock" in text
    return False


def flush_or_conflict() -> None:
    try:
        db.session.flush()
    except (StaleDataError, OperationalError, IntegrityError) as exc:
        if isinstance(exc, IntegrityError) or is_lost_race(exc):
            raise Conflict(*ACTED_FIRST) from exc
        raise
