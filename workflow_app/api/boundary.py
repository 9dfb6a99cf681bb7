"""The API's side of the input boundary (rules in workflow_app/validation.py):
a base schema and field types every request schema uses, and the arguments
parser that reads JSON with a depth limit. A refused value is 422
`invalid_input` naming the field; any other schema error is 400 `bad_request`
naming the fields."""
from __future__ import annotations

import flask_smorest
from marshmallow import Schema, ValidationError, fields, pre_load, validate
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from ..validation import (
    INT4_MAX,
    INT4_MIN,
    InputRefused,
    check_float,
    check_int,
    check_json,
    check_text,
    has_foreign_digits,
    loads,
    parse_int,
)
from ..workflow.errors import BadRequest


def _name(field: fields.Field, attr: str | None) -> str:
    return field.data_key or field.name or attr or "?"


class Int(fields.Integer):
    """An integer within lo..hi (default: the database's integer). A string (a
    query parameter, or "5" in JSON unless strict) follows the pages' rule
    (validation.parse_int); NaN, Infinity and 1e400 are refused, naming the field."""

    def __init__(self, *, lo: int = INT4_MIN, hi: int = INT4_MAX, **kwargs):
        kwargs.setdefault("validate", validate.Range(min=lo, max=hi))  # documents the range (OpenAPI)
        super().__init__(**kwargs)
        self.lo, self.hi = lo, hi

    def _deserialize(self, value, attr, data, **kwargs):
        name = _name(self, attr)
        if isinstance(value, str) and not self.strict:
            try:
                return parse_int(name, value, self.lo, self.hi)
            except InputRefused as exc:
                if exc.problem != "integer":
                    raise
                raise self.make_error("invalid") from None  # not a number at all: the wrong type, 400 as elsewhere
        if isinstance(value, float):
            check_float(name, value)
        return check_int(name, super()._deserialize(value, attr, data, **kwargs), self.lo, self.hi)


class Num(fields.Float):
    """A finite number written with the digits 0-9."""

    def _deserialize(self, value, attr, data, **kwargs):
        name = _name(self, attr)
        if isinstance(value, float):
            check_float(name, value)
        elif isinstance(value, str) and has_foreign_digits(value):
            raise InputRefused(name, "digits")
        return check_float(name, super()._deserialize(value, attr, data, **kwargs))


class Text(fields.String):
    """Text without control characters; `one_line` (codes, names, filters) also
    without TAB/LF/CR."""

    def __init__(self, *, one_line: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.one_line = one_line

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return check_text(_name(self, attr), text, one_line=self.one_line)


def Code(**kwargs) -> Text:
    """A code or name on one line: kind, unit, event, issuer, criterion."""
    kwargs.setdefault("validate", validate.Length(max=200))
    return Text(one_line=True, **kwargs)


def _field_names(messages) -> list[str]:
    if isinstance(messages, dict):
        return [("body" if key == "_schema" else str(key)) for key in messages]
    return ["body"]


class BoundarySchema(Schema):
    """Base of every request schema: every string, key and number of the raw
    input meets the boundary rules before the fields read it (free-form parts
    such as kind fields and criteria maps included)."""

    @pre_load
    def _check_raw(self, data, **kwargs):
        if isinstance(data, dict | list):
            check_json(data)
        return data

    def handle_error(self, error: ValidationError, data, *, many: bool, **kwargs):
        names = ", ".join(_field_names(error.messages))[:300]
        raise BadRequest(f"Yêu cầu không hợp lệ ở trường: {names}. Hãy kiểm tra dữ liệu gửi lên.",
                         f"Malformed request: check the field(s) {names}.")


class BoundaryParser(FlaskParser):
    """JSON bodies are parsed with the depth limit (validation.loads)."""

    def _raw_load_json(self, req):
        if not is_json_request(req):
            return core.missing
        return loads(req.get_data(cache=True).decode("utf-8"))


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = BoundaryParser()
