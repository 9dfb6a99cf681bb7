"""Vietnamese first, English on request.

Page strings are marked with Vietnamese msgids; the English catalogue
(workflow_app/translations/en/LC_MESSAGES/messages.po) must translate every one
of them. A new or changed string without finished English fails here, named:
run scripts/update_translations.sh, translate, and run this file again.
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po
from flask import render_template_string, session

from workflow_app.i18n import TRANSLATIONS, vn_date, vn_number

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
EN_PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
# The same keywords as scripts/update_translations.sh (babel.cfg cannot hold them).
KEYWORDS = ("_l", "lazy_gettext")

# A %-directive: %(name)s, %s, %d, %.1f, and %% (a literal percent sign).
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]?")


def read_catalog(path: Path):
    with path.open("rb") as fh:
        return read_po(fh)


@pytest.fixture(scope="module")
def fresh_template(tmp_path_factory):
    """messages.pot extracted now from the current sources, as the script does."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    args = ["pybabel", "-q", "extract", "-F", str(BABEL_CFG), "-o", str(pot)]
    for keyword in KEYWORDS:
        args += ["-k", keyword]
    CommandLineInterface().run([*args, str(ROOT)])
    return read_catalog(pot)


@pytest.fixture(scope="module")
def english():
    return read_catalog(EN_PO)


def relative(path: str) -> str:
    """Locations come out absolute (the input folder is ROOT); show them from the repo root."""
    p = Path(path)
    return p.relative_to(ROOT).as_posix() if p.is_absolute() and p.is_relative_to(ROOT) else p.as_posix()


def where(message) -> str:
    return ", ".join(f"{relative(path)}:{line}" for path, line in message.locations) or "?"


def test_extraction_finds_python_and_template_strings(fresh_template):
    ids = {m.id for m in fresh_template if m.id}
    files = {relative(path) for m in fresh_template for path, _line in m.locations}
    # One known string from each source kind: a template, a view's _(), a form's _l().
    assert "Nông thôn mới" in ids
    assert "Bạn đã đăng xuất." in ids
    assert "Tên đăng nhập" in ids
    assert any(f.startswith("templates/") for f in files)
    assert "workflow_app/web/forms.py" in files


def test_every_msgid_has_finished_english(fresh_template, english):
    problems = []
    for message in fresh_template:
        if not message.id:
            continue
        entry = english.get(message.id, message.context)
        if entry is None:
            problems.append(f"not in en/messages.po: {message.id!r} ({where(message)})")
        elif isinstance(entry.string, tuple) and not all(s.strip() for s in entry.string):
            problems.append(f"untranslated plural: {message.id!r} ({where(message)})")
        elif not isinstance(entry.string, tuple) and not entry.string.strip():
            problems.append(f"empty English: {message.id!r} ({where(message)})")
        elif entry.fuzzy:
            problems.append(f"fuzzy (check, then remove the flag): {message.id!r} ({where(message)})")
    assert not problems, (
        "Run scripts/update_translations.sh and translate:\n  " + "\n  ".join(problems))


def test_placeholders_match(english):
    problems = []
    for message in english:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = Counter(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            got = Counter(PLACEHOLDER.findall(text))
            if got != wanted:
                problems.append(f"{message.id!r} -> {text!r}: {sorted(got.elements())} "
                                f"instead of {sorted(wanted.elements())}")
    assert not problems, "\n".join(problems)


def test_pages_switch_between_vietnamese_and_english(app, make_user):
    user = make_user("viewer", "tam-duong")
    client = app.test_client()

    def get(path):
        # A fresh app context per request, as in production: the fixture's
        # shared context would keep Flask-Babel's cached locale in flask.g.
        with app.app_context():
            return client.get(path)

    with app.app_context():
        r = client.post("/login", data={"username": user.username, "password": "pw-123456"})
    assert r.status_code == 302, r.get_data(as_text=True)

    page = get("/").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Việc cần làm" in page and "My tasks" not in page

    r = get("/lang/en?next=/")
    assert r.status_code == 302 and r.headers["Location"].endswith("/")
    page = get("/").get_data(as_text=True)
    assert '<html lang="en">' in page
    for english in ("My tasks", "Dossiers", "Change password", "Sign out",
                    "No dossiers are waiting for you.", "View all dossiers"):
        assert english in page, english
    for vietnamese in ("Việc cần làm", "Đổi mật khẩu", "Đăng xuất",
                       "Không có hồ sơ nào đang chờ bạn xử lý.", "Xem tất cả hồ sơ"):
        assert vietnamese not in page, vietnamese

    get("/lang/vi")
    page = get("/").get_data(as_text=True)
    assert '<html lang="vi">' in page
    assert "Việc cần làm" in page and "Không có hồ sơ nào đang chờ bạn xử lý." in page
    assert "My tasks" not in page and "Sign out" not in page


def test_dates_and_numbers_vietnamese_style(app):
    with app.test_request_context("/"):
        assert vn_date(date(2025, 3, 7)) == "07/03/2025"
        # Datetimes are stored naive UTC and shown in Vietnam time (UTC+7).
        assert vn_date(datetime(2025, 12, 31, 18, 5)) == "01/01/2026 01:05"
        assert vn_date(None) == "—"
        assert vn_date("2025-03-07") == "07/03/2025"  # a date field as stored in JSON
        assert vn_number(1234.5, 1) == "1.234,5"
        assert vn_number(1234567) == "1.234.567"
        assert vn_number(Decimal("98.25"), 2) == "98,25"
        assert vn_number(None) == "—"
        page = render_template_string("{{ d|vndate }} · {{ n|vnnumber(1) }}", d=date(2025, 3, 7), n=1234.5)
        assert page == "07/03/2025 · 1.234,5"

    with app.test_request_context("/"):
        session["lang"] = "en"
        assert vn_number(1234.5, 1) == "1,234.5"
        assert vn_date(date(2025, 3, 7)) == "07/03/2025"  # dd/mm/yyyy in both languages
