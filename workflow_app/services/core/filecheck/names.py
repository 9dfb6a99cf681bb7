"""File names as users send them: refused when they hide characters, trimmed to what
the database and file systems hold, never cut inside a letter."""
from __future__ import annotations

import unicodedata
from pathlib import PurePath

from ....workflow.errors import RuleRefused

# What a file name may not carry. Cc: C0 and C1 controls (NUL, CR, LF, ESC...); Cf: format
# characters, among them the bidirectional overrides and isolates (U+202A-E, U+2066-9) and
# marks (U+200E/F) that make "hoa-don\u202Efdp.exe" show as "hoa-donexe.pdf"; Zl/Zp: line and
# paragraph separators; Cs: lone surrogates (undecodable bytes).
_REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
# The database column holds 255 characters; file systems hold 255 UTF-8 bytes, and a
# Vietnamese letter takes up to 3 of them: the byte limit is the stricter one.
MAX_NAME_BYTES = 255
_MAX_EXTENSION = 10


def hidden_characters(text: str) -> list[str]:
    """The refused characters of `text`, as U+XXXX, in order, each once."""
    found: list[str] = []
    for ch in text:
        if unicodedata.category(ch) in _REFUSED_CATEGORIES:
            code = f"U+{ord(ch):04X}"
            if code not in found:
                found.append(code)
    return found


def clean_filename(raw: str | None, field: str = "file") -> str:
    """The name to keep for an uploaded file: its last path part, in NFC, refused (422
    naming `field`) when it carries control or format characters, trimmed to
    MAX_NAME_BYTES with its extension kept."""
    name = unicodedata.normalize("NFC", raw or "")
    hidden = hidden_characters(name)
    if hidden:
        codes = ", ".join(hidden[:5])
        raise RuleRefused(
            f"Tên tệp (trường '{field}') có ký tự điều khiển hoặc ký tự ẩn ({codes}), có thể làm tên tệp hiển thị "
            "sai lệch. Hãy đổi tên tệp, chỉ dùng chữ, số, dấu cách, dấu gạch và dấu chấm, rồi tải lên lại.",
            f"The file name (field '{field}') contains control or invisible characters ({codes}) that can make "
            "it display misleadingly. Rename the file using letters, digits, spaces, dashes and dots, then "
            "upload it again.")
    name = PurePath(name.replace("\\", "/")).name.strip()
    return trim_name(name)


def trim_name(name: str, limit: int = MAX_NAME_BYTES) -> str:
    """`name` cut to `limit` UTF-8 bytes: the extension kept, the cut made between two
    characters that do not belong together (never between a letter and its combining
    marks), trailing spaces and dots dropped."""
    if len(name.encode("utf-8")) <= limit:
        return name
    suffix = PurePath(name).suffix
    if not (1 < len(suffix) <= _MAX_EXTENSION and suffix[1:].isalnum()):
        suffix = ""
    stem = name[:len(name) - len(suffix)] if suffix else name
    budget = limit - len(suffix.encode("utf-8"))
    end, used = 0, 0
    for i, ch in enumerate(stem):
        used += len(ch.encode("utf-8"))
        if used > budget:
            break
        end = i + 1
    # Back off to the start of a cluster: a base letter and the marks that follow it go together.
    while 0 < end < len(stem) and unicodedata.combining(stem[end]):
        end -= 1
    return stem[:end].rstrip(" .") + suffix
