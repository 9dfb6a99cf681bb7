"""Domain errors. Each carries an HTTP status, a stable code and a message in
Vietnamese and English that tells the user what to do next."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Text:
    vi: str
    en: str

    def get(self, lang: str) -> str:
        return self.en if lang == "en" else self.vi


class DomainError(Exception):
    """`field`: the input the refusal concerns, by a stable name set where it is raised
    ("new_date", "body", ...), or None for the request as a whole. A form maps it to the
    control that shows the message; the API's error body does not carry it."""

    status = 400
    code = "bad_request"

    def __init__(self, vi: str, en: str, reasons: list[Text] | None = None, *, field: str | None = None) -> None:
        super().__init__(en)
        self.text = Text(vi, en)
        self.reasons = list(reasons or [])
        self.field = field

    def message(self, lang: str) -> str:
        msg = self.text.get(lang)
        if self.reasons:
            msg += " " + " ".join(r.get(lang) for r in self.reasons)
        return msg


class BadRequest(DomainError):
    status, code = 400, "bad_request"


class NotPermitted(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class EventNotAvailable(DomainError):
    status, code = 409, "not_available"


class StaleVersion(DomainError):
    status, code = 409, "stale_version"


class Conflict(DomainError):
    status, code = 409, "conflict"


class FileTooLarge(DomainError):
    status, code = 413, "file_too_large"


class UnsupportedFileType(DomainError):
    status, code = 415, "unsupported_file_type"


class RuleRefused(DomainError):
    """A valid request that the rules refuse (missing comment, unknown criterion...)."""

    status, code = 422, "rule_refused"


class GuardFailed(RuleRefused):
    code = "guard_failed"


class DefinitionError(Exception):
    """A definition file is invalid; the message names the file and the key."""
