"""Language: Vietnamese by default, English on request. Page strings go
through Flask-Babel with Vietnamese msgids, so a missing catalogue still
shows Vietnamese; domain errors carry both languages themselves."""
from __future__ import annotations

from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, has_request_context, request, session
from flask_babel import Babel

from . import formats
from .formats import vn_date, vn_decimal

LANGS = ("vi", "en")
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def request_lang() -> str:
    """Pages: Vietnamese unless the user switched to English (kept in the session).
    API and JSON clients: Accept-Language, Vietnamese by default."""
    if not has_request_context():
        return "vi"
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return header_lang()
    chosen = session.get("lang")
    return chosen if chosen in LANGS else "vi"


def header_lang() -> str:
    """The client's most preferred of vi/en by primary tag: "vi-VN,en;q=0.5" is vi."""
    for tag, _quality in request.accept_languages:  # already sorted by preference
        primary = tag.split("-")[0].lower()
        if primary in LANGS:
            return primary
    return "vi"


def compile_catalogues() -> None:
    """Compile .po to .mo when the .mo is missing or older (no build step to forget)."""
    for po in TRANSLATIONS.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as fh:
            catalog = read_po(fh)
        tmp = mo.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog)
        tmp.replace(mo)


def vn_number(value, digits: int = 0) -> str:
    """Vietnamese separators: 1.234,5 (English pages: 1,234.5)."""
    return vn_decimal(value, request_lang(), digits)


def page_file_size(size: int) -> str:
    return formats.file_size(size, request_lang())


def page_field_value(value) -> str:
    return formats.field_value(value, request_lang())


def init_i18n(app: Flask) -> None:
    compile_catalogues()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "vi")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    Babel(app, locale_selector=request_lang)
    app.jinja_env.filters["vndate"] = vn_date
    app.jinja_env.filters["vnnumber"] = vn_number
    app.jinja_env.filters["filesize"] = page_file_size
    app.jinja_env.filters["fieldvalue"] = page_field_value
    app.jinja_env.globals["current_lang"] = request_lang
