"""Input at the boundary: the rules every value from outside meets before a view
or a service sees it, for the API and the pages alike.

- Path ids are database-range integers written in ASCII digits (the `int`
  converter); any other id is simply no record (404). Path strings never hold
  control characters (the `default`/`string` converter).
- Text holds no control characters (C0 but TAB/LF/CR, DEL, C1), no direction
  overrides (U+202A-U+202E, U+2066-U+2069) and no lone surrogates: PostgreSQL
  refuses NUL in text and surrogates in UTF-8, and the others hide or reorder
  what a reader sees. Query-string values are one line (no TAB/LF/CR either).
- Numbers are finite and within range. A whole number written as text (query
  string, form, a string in JSON) follows one rule, parse_int: the digits 0-9
  with an optional leading minus, at most INT_MAX_DIGITS significant digits
  (a longer one is out of range before int() reads it), within the range.
- JSON is at most JSON_MAX_DEPTH deep and JSON_MAX_BYTES long; any body at most
  MAX_CONTENT_LENGTH (which leaves room for an evidence file of EVIDENCE_MAX_BYTES).
- A redirect target read from the request is a local path (safe_next).

A refusal names the field (InputRefused): 422 `invalid_input`, or 400
`bad_request` for a number out of range. Too deep JSON is 400 and too large
bodies 413. The API's schemas (api/boundary.py) and the pages' forms
(web/forms.py) apply the same rules; every query-string and form value is
checked for control characters before any view runs (_scan_request)."""
from __future__ import annotations

import json
import math
import re
from urllib.parse import urlsplit

from flask import Flask, Request, current_app, request, url_for
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter, UnicodeConverter, ValidationError

from .workflow.errors import BadRequest, RuleRefused

INT4_MIN, INT4_MAX = -(2**31), 2**31 - 1  # PostgreSQL `integer`: ids, versions, years, pages
JSON_SAFE_INT = 2**53 - 1  # free-form JSON numbers (kind fields, criteria): exact in every JSON reader
# More significant digits than any range accepts: refused as out of range before
# int() runs (which gives up past 4300 digits, and spends time well before that).
INT_MAX_DIGITS = 20
_PAST_RANGE = 10**INT_MAX_DIGITS  # what a longer JSON integer reads as: every range refuses it
JSON_MAX_DEPTH = 64
JSON_MAX_BYTES = 1024 * 1024

_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_BAD_TEXT = re.compile(f"[{_CONTROL}]")
_BAD_LINE = re.compile(f"[{_CONTROL}\t\n\r]")
_INTEGER = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)?")
# Query parameters that are numbers wherever they appear (pages and API).
NUMERIC_ARGS = ("year", "page", "version")
REDIRECT_ARGS = ("next",)

_PROBLEMS = {
    "control": ("chứa ký tự điều khiển hoặc ký tự đảo chiều không được phép ({char}). Hãy xóa ký tự đó rồi gửi lại.",
                "contains a control or direction character that is not allowed ({char}). Remove it and send again."),
    "line": ("phải nằm trên một dòng: không có tab hay xuống dòng ({char}).",
             "must be one line: no tab or line break ({char})."),
    "not_finite": ("phải là một số hữu hạn (không nhận NaN, Infinity hay số quá lớn).",
                   "must be a finite number (NaN, Infinity and overflowing numbers are not accepted)."),
    "range": ("phải là số trong khoảng {lo} đến {hi}.", "must be a number from {lo} to {hi}."),
    "digits": ("chỉ được viết bằng các chữ số 0-9.", "must be written with the digits 0-9 only."),
    "integer": ("phải là số nguyên viết bằng các chữ số 0-9.", "must be a whole number written with the digits 0-9."),
    "number": ("phải là số viết bằng các chữ số 0-9, ví dụ 92,5.",
               "must be a number written with the digits 0-9, e.g. 92.5."),
}


class InputRefused(RuleRefused):
    """A value the boundary refuses (422 `invalid_input`); the message names the
    field. A number out of range is a malformed request (400 `bad_request`), like
    a value of the wrong type."""

    code = "invalid_input"

    def __init__(self, field: str, problem: str, **values) -> None:
        vi, en = (text.format(**values) for text in _PROBLEMS[problem])
        name = _printable(field)
        super().__init__(f"Trường '{name}' {vi}", f"The field '{name}' {en}")
        self.field, self.problem = field, problem
        if problem == "range":
            self.status, self.code = 400, "bad_request"


def _printable(text: str) -> str:
    """A field name as a message may quote it (it may itself be the bad input)."""
    return _BAD_LINE.sub(lambda m: f"U+{ord(m.group()):04X}", str(text))[:80]


# ----------------------------------------------------------------------------- values

def is_digits(text: str) -> bool:
    """Only the digits 0-9, at least one: what str.isdigit() should mean before int()
    (which refuses "²" that isdigit() takes, and reads "٣" as 3)."""
    return text.isascii() and text.isdigit()


def has_foreign_digits(text: str) -> bool:
    """Digits other than 0-9: "٣" and "３" (int() takes them), "²" (isdigit() says yes)."""
    return any(c.isnumeric() and not "0" <= c <= "9" for c in text)


def check_text(field: str, value: str, *, one_line: bool = False) -> str:
    bad = (_BAD_LINE if one_line else _BAD_TEXT).search(value)
    if bad:
        char = f"U+{ord(bad.group()):04X}"
        problem = "line" if bad.group() in "\t\n\r" else "control"
        raise InputRefused(field, problem, char=char)
    return value


def check_int(field: str, value: int, lo: int = INT4_MIN, hi: int = INT4_MAX) -> int:
    if not lo <= value <= hi:
        raise InputRefused(field, "range", lo=lo, hi=hi)
    return value


def check_float(field: str, value: float) -> float:
    if not math.isfinite(value):
        raise InputRefused(field, "not_finite")
    return value


def parse_int(field: str, raw: str, lo: int = INT4_MIN, hi: int = INT4_MAX) -> int:
    """The one rule for a whole number written as text (a form, a query string, a
    string in JSON): the digits 0-9 with an optional leading minus, so not "+5",
    "1_000", "٣" or "1e3" (all of which int() or float() would take); surrounding
    spaces are dropped. More than INT_MAX_DIGITS significant digits is out of
    range without calling int()."""
    text = check_text(field, raw, one_line=True).strip()
    if has_foreign_digits(text):
        raise InputRefused(field, "digits")
    if not _INTEGER.fullmatch(text):
        raise InputRefused(field, "integer")
    negative, digits = text.startswith("-"), text.lstrip("-").lstrip("0") or "0"
    if len(digits) > INT_MAX_DIGITS:
        raise InputRefused(field, "range", lo=lo, hi=hi)
    return check_int(field, -int(digits) if negative else int(digits), lo, hi)


def _optional_int(values, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = values.get(name) or ""
    return parse_int(name, raw, lo, hi) if raw.strip() else default


def query_int(name: str, default: int | None = None, *, lo: int = INT4_MIN, hi: int = INT4_MAX) -> int | None:
    """`?name=` of this request by parse_int's rule; `default` when absent or blank."""
    return _optional_int(request.args, name, default, lo, hi)


def form_int(name: str, default: int | None = None, *, lo: int = INT4_MIN, hi: int = INT4_MAX) -> int | None:
    """A form value of this request by parse_int's rule; `default` when absent or blank."""
    return _optional_int(request.form, name, default, lo, hi)


def parse_decimal(field: str, raw: str) -> float:
    """A number typed in a form, with a decimal point or the Vietnamese comma ("92,5")."""
    text = check_text(field, raw, one_line=True).strip()
    if has_foreign_digits(text):
        raise InputRefused(field, "digits")
    if not _DECIMAL.fullmatch(text) or len(text) > 40:
        raise InputRefused(field, "number")
    return check_float(field, float(text.replace(",", ".")))


def check_json(value, field: str | None = None):
    """Every string, key and number of a parsed JSON document (iterative: depth is
    bounded by the parser, but a walk should not spend the stack either)."""
    stack = [(field, value)]
    while stack:
        name, item = stack.pop()
        label = name or "body"
        if isinstance(item, str):
            check_text(label, item)
        elif isinstance(item, bool) or item is None:
            continue
        elif isinstance(item, int):
            check_int(label, item, -JSON_SAFE_INT, JSON_SAFE_INT)
        elif isinstance(item, float):
            check_float(label, item)
        elif isinstance(item, dict):
            for key, sub in item.items():
                check_text(label, str(key), one_line=True)
                stack.append((f"{name}.{key}" if name else str(key), sub))
        elif isinstance(item, list | tuple):
            stack.extend((f"{label}[{i}]", sub) for i, sub in enumerate(item))
    return value


# ----------------------------------------------------------------------------- JSON

def _too_deep() -> BadRequest:
    return BadRequest(f"Dữ liệu JSON lồng nhau quá sâu (tối đa {JSON_MAX_DEPTH} cấp).",
                      f"The JSON is nested too deep (at most {JSON_MAX_DEPTH} levels).")


def _depth_exceeds(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            stack.extend((sub, depth + 1) for sub in (item.values() if isinstance(item, dict) else item))
    return False


def _json_int(text: str) -> int:
    """An integer literal in JSON; past INT_MAX_DIGITS digits it reads as
    ±_PAST_RANGE without int() (which raises past 4300 digits), so that the range
    check of the field it sits in refuses it by name."""
    if len(text) - text.startswith("-") > INT_MAX_DIGITS:
        return -_PAST_RANGE if text.startswith("-") else _PAST_RANGE
    return int(text)


def loads(data: str | bytes):
    """json.loads with a depth limit: a deeper document is 400, never a RecursionError.
    NaN, Infinity, 1e400 and a float of any length parse (to float nan/inf) and an
    over-long integer to ±_PAST_RANGE, so that the field they sit in can be named
    when the schema refuses them."""
    try:
        value = json.loads(data, parse_int=_json_int)
    except RecursionError:
        raise _too_deep() from None
    if _depth_exceeds(value, JSON_MAX_DEPTH):
        raise _too_deep()
    return value


class BoundedJSONProvider(DefaultJSONProvider):
    """request.get_json() anywhere in the app parses with the same depth limit."""

    def loads(self, s: str | bytes, **kwargs):
        return loads(s)


class BoundedRequest(Request):
    """A JSON body may be at most JSON_MAX_BYTES; other bodies (forms, uploads)
    MAX_CONTENT_LENGTH. Werkzeug answers 413 past either while reading."""

    @property
    def max_content_length(self) -> int | None:
        limit = super().max_content_length
        if self.is_json and current_app:
            json_limit = current_app.config.get("JSON_MAX_BYTES", JSON_MAX_BYTES)
            limit = json_limit if limit is None else min(limit, json_limit)
        return limit


# ----------------------------------------------------------------------------- URLs

class BoundedIntConverter(IntegerConverter):
    """`<int:...>`: ASCII digits only (a plain `\\d` also matches "٣" and "３") and
    within the database's integer; anything else matches no route (404)."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)
        self.regex = r"-?[0-9]+" if signed else r"[0-9]+"

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if not INT4_MIN <= number <= INT4_MAX:
            raise ValidationError()
        return number


class CleanStringConverter(UnicodeConverter):
    """`<name>` and `<string:name>`: a segment with a control character matches no route."""

    def __init__(self, map, minlength=1, maxlength=None, length=None):
        super().__init__(map, minlength=minlength, maxlength=maxlength, length=length)
        self.regex = self.regex.replace("[^/]", f"[^/{_CONTROL}\\t\\n\\r]", 1)


# ----------------------------------------------------------------------------- redirects

def safe_next(target: str | None) -> str:
    """A local path to redirect to after sign-in or a language switch; the home page
    for anything else: another host (`//host`, `/\\host`, `https://...`), a scheme
    (`javascript:`), or any control character or space a browser would strip
    (`/%09/evil.example` arrives as "/\\t/evil.example" and becomes `//evil.example`)."""
    if (not target or not target.startswith("/") or target.startswith(("//", "/\\"))
            or "\\" in target or _BAD_LINE.search(target) or any(c.isspace() for c in target)):
        return url_for("web.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for("web.index")
    return target


# ----------------------------------------------------------------------------- request scan

def _scan_request() -> None:
    """Every query-string value (one line) and form value (multi-line) of every
    request: no control characters, and the numeric query parameters in ASCII
    digits within range. Keys too: a view may echo them."""
    for key, value in request.args.items(multi=True):
        check_text(key, key, one_line=True)
        if key in REDIRECT_ARGS:
            continue  # any bad target falls back to the home page (safe_next), as the browser expects
        check_text(key, value, one_line=True)
        if key in NUMERIC_ARGS and value.strip():
            try:
                parse_int(key, value)
            except InputRefused as exc:
                if exc.problem != "integer":
                    raise  # foreign digits or out of range, whatever the view would make of it
                # not a number at all: the view answers (a default, or its own explanation)
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.mimetype in (
            "application/x-www-form-urlencoded", "multipart/form-data"):
        for key, value in request.form.items(multi=True):
            check_text(key, key, one_line=True)
            check_text(key, value)


def init_validation(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter
    app.url_map.converters["default"] = CleanStringConverter
    app.url_map.converters["string"] = CleanStringConverter
    app.request_class = BoundedRequest
    app.json = BoundedJSONProvider(app)
    app.before_request_funcs.setdefault(None, []).insert(0, _scan_request)
