"""Markup that makes a file readable as a web page or an active document."""
from __future__ import annotations

import re

# Tags that open an HTML or SVG document or run code in it. Case-insensitive, and each
# followed by a delimiter, so that random bytes of compressed data match about never.
_MARKUP = re.compile(
    rb"<\s*(?:!doctype\s+html|html[\s>/]|body[\s>/]|script[\s>/]|iframe[\s>/]|svg[\s>/:]|"
    rb"meta\s+http-equiv|\?xml-stylesheet)",
    re.IGNORECASE)


def find_markup(data: bytes, start: int = 0, end: int | None = None) -> re.Match | None:
    return _MARKUP.search(data, start, len(data) if end is None else end)


def iter_markup(data: bytes):
    return _MARKUP.finditer(data)
