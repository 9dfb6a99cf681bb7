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

    def details(self, lang: str) -> dict | None:
        """What the API's error body carries besides the message (cells at fault...)."""
        return None


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


class LineRefused(RuleRefused):
    """A line of a dossier's table (or rows of an imported file) refused, with the reason
    per column: `cells` {column: Text} for one line, `rows` {row number: cells} for a file.
    A page shows each reason next to its cell; the API answers them in `details`."""

    code = "line_invalid"

    def __init__(self, cells: dict[str, Text], rows: dict[int, dict[str, Text]] | None = None) -> None:
        self.cells, self.by_row = cells, rows or {}
        if rows:
            first = min(rows)
            count = len(rows)
            super().__init__(f"Có {count} dòng chưa hợp lệ, không dòng nào được nhập (dòng {first} trước tiên). "
                             "Hãy sửa tệp rồi nhập lại.",
                             f"{count} row(s) are not valid, no line was imported (row {first} first). "
                             "Correct the file and import it again.",
                             [Text(f"Dòng {first}:", f"Row {first}:"), *rows[first].values()])
        else:
            super().__init__("Dòng chưa hợp lệ, chưa được lưu.", "The line is not valid and was not saved.",
                             list(cells.values()))

    @classmethod
    def rows(cls, rows: dict[int, dict[str, Text]]) -> LineRefused:
        return cls({}, rows)

    def details(self, lang: str) -> dict:
        if self.by_row:
            return {"rows": {str(n): {c: t.get(lang) for c, t in cells.items()} for n, cells in self.by_row.items()}}
        return {"cells": {c: t.get(lang) for c, t in self.cells.items()}}


class DefinitionError(Exception):
    """A definition file is invalid; the message names the file and the key."""
