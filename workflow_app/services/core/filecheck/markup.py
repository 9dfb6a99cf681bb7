"""Markup that makes a file readable as a web page or an active document."""
from __future__ import annotations

import re

# Tags that open an HTML or SVG document, run code, load other content or send a form.
# Case-insensitive, white space allowed after "<", and each followed by a delimiter (or,
# for <img> and <a>, by the attribute that makes them active), so that random bytes of
# compressed data match about never.
_MARKUP = re.compile(
    rb"<\s*(?:!doctype\s+html|html[\s>/]|body[\s>/]|script[\s>/]|iframe[\s>/]|svg[\s>/:]|"
    rb"object[\s>/]|embed[\s>/]|form[\s>/]|"
    rb"img\s[^<>]{0,1000}?\bon[a-z]+\s*=|"
    rb"a\s[^<>]{0,1000}?\bhref\s*=\s*[\"']?\s*javascript\s*:|"
    rb"meta\s+http-equiv|\?xml-stylesheet)",
    re.IGNORECASE)
# Longest stretch one match can span (white space after "<" aside): what a scan fed in
# pieces keeps of the previous piece.
_OVERLAP = 1100


def find_markup(data: bytes, start: int = 0, end: int | None = None) -> re.Match | None:
    return _MARKUP.search(data, start, len(data) if end is None else end)


def iter_markup(data: bytes):
    return _MARKUP.finditer(data)


class MarkupScan:
    """Markup in data that arrives in pieces (inflated a few MB at a time), found across
    the joins too."""

    def __init__(self) -> None:
        self._tail = b""

    def feed(self, piece: bytes) -> bool:
        """Whether markup was found in what was fed so far (ending with `piece`)."""
        window = self._tail + piece
        self._tail = window[-_OVERLAP:]
        return find_markup(window) is not None
