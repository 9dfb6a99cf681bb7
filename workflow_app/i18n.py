"""Which language to answer in: Vietnamese unless the client asks for English."""
from __future__ import annotations

from flask import request


def request_lang() -> str:
    if not request:
        return "vi"
    best = request.accept_languages.best_match(["vi", "en"], default="vi")
    return best or "vi"
