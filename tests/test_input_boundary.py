"""The API's input boundary (workflow_app/validation.py, api/boundary.py): no input
is a 500. Integers beyond the database's range, NaN/Infinity/1e400, digits other
than 0-9, control and direction characters, deep JSON and oversized bodies are
refused with 400/404/413/422, the message naming the field, and nothing in the
database changes. Run on PostgreSQL too: that is where NUL and int4 overflow bite."""
from __future__ import annotations

import json
import re

import frozen_clock
import pytest
from helpers import make_pdf, upload

from workflow_app.extensions import db
from workflow_app.services import create_dossier

YEAR = frozen_clock.YEAR
INT_SEGMENT = re.compile(r"<int(?:\([^)]*\))?:(\w+)>")
BIG = 2**31  # one past PostgreSQL's integer
HUGE = 10**20  # past SQLite's 64-bit integer too


# --------------------------------------------------------------------------- fixtures and checks

def fingerprint() -> dict:
    """Every row of every table: "nothing changed" means this is equal."""
    db.session.expire_all()
    out = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(db.select(table)).all()
        out[table.name] = sorted(repr(tuple(r)) for r in rows)
    db.session.rollback()
    return out


@pytest.fixture
def cast(app, make_user, api_as):
    users = {
        "submitter": make_user("submitter", "na-tam"),
        "preparer": make_user("preparer", "na-tam-03"),
        "town_preparer": make_user("preparer", "tt-tam-duong"),
        "appraiser": make_user("appraiser", "tam-duong"),
        "approver": make_user("approver", "tam-duong"),
    }
    village = create_dossier(users["submitter"], "village_ntm", "na-tam-03", YEAR).id
    town = create_dossier(make_user("submitter", "tt-tam-duong"), "town_civilized", "tt-tam-duong", YEAR).id
    db.session.commit()

    class Cast:
        pass
    c = Cast()
    c.users, c.village, c.town = users, village, town
    clients = {}

    def api(who, lang="vi"):  # one token per user and language, made before any fingerprint
        if (who, lang) not in clients:
            clients[who, lang] = api_as(users[who], lang=lang)
        return clients[who, lang]
    c.api = api
    return c


def refused(response, status: int, field: str | None, code: str | None = None) -> dict:
    text = response.get_data(as_text=True)
    assert response.status_code == status, (response.status_code, text)
    err = response.get_json()["error"]
    if code:
        assert err["code"] == code, err
    if field is not None:
        assert field in err["message"], err
    return err


def raw(api, method: str, path: str, text: str):
    return api._call(method, path, data=text, content_type="application/json")


# --------------------------------------------------------------------------- numbers in JSON

NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]


@pytest.mark.parametrize("literal", NON_FINITE)
@pytest.mark.parametrize("target", ["create.year", "event.version", "criterion.version", "fields.pct",
                                    "fields.council", "batch.id", "batch.version"])
def test_non_finite_numbers_are_422_naming_the_field(cast, literal, target):
    api = cast.api("submitter")
    d, t = cast.village, cast.town
    method, path, who, body, field = {
        "create.year": ("POST", "/api/v1/dossiers", "preparer",
                        '{"kind": "village_ntm", "unit": "na-tam-03", "year": %s}', "year"),
        "event.version": ("POST", f"/api/v1/dossiers/{d}/events", "submitter",
                          '{"event": "submit", "version": %s}', "version"),
        "criterion.version": ("PUT", f"/api/v1/dossiers/{d}/criteria/1", "preparer",
                              '{"self_assessment": "met", "version": %s}', "version"),
        "fields.pct": ("PUT", f"/api/v1/dossiers/{t}/fields", "town_preparer",
                       '{"resident_satisfaction_pct": %s}', "resident_satisfaction_pct"),
        "fields.council": ("PUT", f"/api/v1/dossiers/{t}/fields", "appraiser",
                           '{"council_members": %s}', "council_members"),
        "batch.id": ("POST", "/api/v1/decisions", "approver", '{"dossiers": [%s]}', "dossiers"),
        "batch.version": ("POST", "/api/v1/decisions", "approver",
                          '{"dossiers": [{"id": 1, "version": %s}]}', "dossiers"),
    }[target]
    api = cast.api(who)
    before = fingerprint()
    refused(raw(api, method, path, body % literal), 422, field, "invalid_input")
    assert fingerprint() == before


@pytest.mark.parametrize("value,target,field", [
    (BIG, "create", "year"), (HUGE, "create", "year"), (-BIG - 1, "create", "year"),
    (BIG, "event", "version"), (HUGE, "event", "version"),
    (BIG, "criterion", "version"),
    (BIG, "batch", "dossiers"), (HUGE, "batch", "dossiers"),
    ({"id": BIG}, "batch", "dossiers"), ({"id": 1, "version": HUGE}, "batch", "dossiers"),
    (2**53, "fields", "council_members"), (HUGE, "fields", "resident_satisfaction_pct"),
])
def test_integers_beyond_the_database_range_are_400_naming_the_field(cast, value, target, field):
    d, t = cast.village, cast.town
    who, method, path, body = {
        "create": ("preparer", "POST", "/api/v1/dossiers", {"kind": "village_ntm", "unit": "na-tam-03", "year": value}),
        "event": ("submitter", "POST", f"/api/v1/dossiers/{d}/events", {"event": "submit", "version": value}),
        "criterion": ("preparer", "PUT", f"/api/v1/dossiers/{d}/criteria/1",
                      {"self_assessment": "met", "version": value}),
        "batch": ("approver", "POST", "/api/v1/decisions", {"dossiers": [value]}),
        "fields": ("appraiser", "PUT", f"/api/v1/dossiers/{t}/fields", {field: value}),
    }[target]
    api = cast.api(who)
    before = fingerprint()
    refused(api._call(method, path, json=body), 400, field, "bad_request")
    assert fingerprint() == before


def test_the_largest_database_integer_is_a_plain_404_or_409(cast):
    """In range but no such record: the usual answers, never a database error."""
    api = cast.api("approver")
    refused(api.post("/api/v1/decisions", json={"dossiers": [2**31 - 1]}), 404, None)
    refused(cast.api("submitter").post(f"/api/v1/dossiers/{cast.village}/events",
                                       json={"event": "submit", "version": 2**31 - 1}), 409, None)


# Past Python's int() limit (4300 digits): int() raises instead of answering.
LONG = "9" * 5000
LONG_FLOAT = "1" + "0" * 5000 + ".0"


@pytest.mark.parametrize("literal", [LONG, "-" + LONG])
@pytest.mark.parametrize("target,field", [
    ("create", "year"), ("event", "version"), ("criterion", "version"), ("batch", "dossiers"),
    ("batch_version", "dossiers"), ("fields", "year"), ("fields", "council_members"),
    ("fields", "resident_satisfaction_pct"),
])
def test_integers_of_thousands_of_digits_in_json_are_400_naming_the_field(cast, literal, target, field):
    d, t = cast.village, cast.town
    who, method, path, body = {
        "create": ("preparer", "POST", "/api/v1/dossiers",
                   '{"kind": "village_ntm", "unit": "na-tam-03", "year": %s}'),
        "event": ("submitter", "POST", f"/api/v1/dossiers/{d}/events", '{"event": "submit", "version": %s}'),
        "criterion": ("preparer", "PUT", f"/api/v1/dossiers/{d}/criteria/1",
                      '{"self_assessment": "met", "version": %s}'),
        "batch": ("approver", "POST", "/api/v1/decisions", '{"dossiers": [%s]}'),
        "batch_version": ("approver", "POST", "/api/v1/decisions", '{"dossiers": [{"id": 1, "version": %s}]}'),
        "fields": ("appraiser", "PUT", f"/api/v1/dossiers/{t}/fields", '{"%s": %%s}' % field),
    }[target]
    api = cast.api(who)
    before = fingerprint()
    refused(raw(api, method, path, body % literal), 400, field, "bad_request")
    assert fingerprint() == before


@pytest.mark.parametrize("literal", [LONG_FLOAT, "-" + LONG_FLOAT, LONG + "e0"])
@pytest.mark.parametrize("target,field", [("create", "year"), ("fields", "year"),
                                          ("fields", "resident_satisfaction_pct")])
def test_floats_of_thousands_of_digits_in_json_are_422_naming_the_field(cast, literal, target, field):
    who, method, path, body = {
        "create": ("preparer", "POST", "/api/v1/dossiers",
                   '{"kind": "village_ntm", "unit": "na-tam-03", "year": %s}'),
        "fields": ("appraiser", "PUT", f"/api/v1/dossiers/{cast.town}/fields", '{"%s": %%s}' % field),
    }[target]
    api = cast.api(who)
    before = fingerprint()
    refused(raw(api, method, path, body % literal), 422, field, "invalid_input")
    assert fingerprint() == before


def test_a_json_integer_of_twenty_digits_is_read_and_refused_by_its_range(cast):
    """The cut-off for not calling int() sits past every accepted range: the answer
    for 20 and for 21+ digits is the same range refusal."""
    api = cast.api("preparer")
    for literal in ("9" * 20, "9" * 21, "0." + "0" * 5000 + "1"):
        r = raw(api, "POST", "/api/v1/dossiers", '{"kind": "village_ntm", "unit": "na-tam-03", "year": %s}' % literal)
        assert r.status_code in (400, 422), (literal[:30], r.status_code)
        refused(r, r.status_code, "year")


# --------------------------------------------------------------------------- numbers in query strings

@pytest.mark.parametrize("query,status,field", [
    ("year=99999999999", 400, "year"), (f"page={HUGE}", 400, "page"), (f"page={BIG}", 400, "page"),
    ("year=-99999999999", 400, "year"),
    ("year=%C2%B2", 422, "year"),            # "²": str.isdigit() says yes, int() says no
    ("year=%D9%A3", 422, "year"),            # Arabic-Indic three: int() would take it
    ("page=%EF%BC%92", 422, "page"),         # full-width two
    ("page=NaN", 400, "page"), ("year=Infinity", 400, "year"),
    (f"year={LONG}", 400, "year"), (f"page={LONG}", 400, "page"), (f"year=-{LONG}", 400, "year"),
    ("year=1_000", 400, "year"), ("page=%2B5", 400, "page"), ("page=1%202", 400, "page"),
])
def test_list_query_numbers_out_of_range_or_not_ascii(cast, query, status, field):
    refused(cast.api("submitter").get(f"/api/v1/dossiers?{query}"), status, field)


def test_a_zero_padded_query_number_is_its_value(cast):
    """The digit cap counts significant digits: leading zeros are not out of range."""
    r = cast.api("submitter").get(f"/api/v1/dossiers?year={'0' * 5000}{YEAR}&page={'0' * 30}1")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]


@pytest.mark.parametrize("path", ["/healthz", "/login", "/verify/abc", "/api/v1/dossiers"])
@pytest.mark.parametrize("name", ["version", "page", "year"])
def test_anonymous_requests_with_a_number_of_thousands_of_digits_are_400(app, cast, path, name):
    before = fingerprint()
    r = app.test_client().get(f"{path}?{name}={LONG}")
    assert r.status_code == 400, (path, r.status_code)
    assert f"'{name}'" in r.get_data(as_text=True).replace("&#39;", "'")
    assert fingerprint() == before


@pytest.mark.parametrize("query,field", [
    ("issuer=tam-duong&year=99999999999", "year"), ("issuer=tam-duong&year=%D9%A3", "year"),
    ("issuer=tam%00duong&year=2024", "issuer"), (f"issuer=tam-duong&year={LONG}", "year"),
])
def test_register_query_is_checked_before_the_register_is_read(cast, query, field):
    for path in ("/api/v1/decisions", "/api/v1/decisions.xlsx"):
        r = cast.api("approver").get(f"{path}?{query}")
        assert r.status_code in (400, 422), r.status_code
        refused(r, r.status_code, field)


# --------------------------------------------------------------------------- control characters

BAD_TEXT = ["a\x00b", "a\x07b", "a\x1bb", "a\x7fb", "a\x85b", "a\u202ab", "a\u202eb", "a\u2066b", "a\u2069b",
            "a\ud800b"]
SOME_BAD_TEXT = ["a\x00b", "a\x85b", "a\u202eb", "a\ud800b"]


TEXT_TARGETS = ["note", "verdict_note", "comment", "field", "field_key", "batch_comment", "create_unit",
                "visit_notes", "report_body", "apology_reason"]


@pytest.mark.parametrize("bad,target", [(b, "note") for b in BAD_TEXT]
                         + [(b, t) for b in SOME_BAD_TEXT for t in TEXT_TARGETS[1:]],
                         ids=lambda v: f"U+{ord(v[1]):04X}" if len(v) == 3 else v)
def test_control_and_direction_characters_are_422_and_never_stored(cast, bad, target):
    d, t = cast.village, cast.town
    who, method, path, body, field = {
        "note": ("preparer", "PUT", f"/api/v1/dossiers/{d}/criteria/1", {"self_assessment": "met", "note": bad},
                 "note"),
        "verdict_note": ("appraiser", "POST", f"/api/v1/dossiers/{d}/criteria/1/appraisal",
                         {"verdict": "fail", "note": bad}, "note"),
        "comment": ("submitter", "POST", f"/api/v1/dossiers/{d}/events", {"event": "submit", "comment": bad},
                    "comment"),
        "field": ("town_preparer", "PUT", f"/api/v1/dossiers/{t}/fields", {"request_ref": bad}, "request_ref"),
        "field_key": ("town_preparer", "PUT", f"/api/v1/dossiers/{t}/fields", {bad: 1}, "U+"),
        "batch_comment": ("approver", "POST", "/api/v1/decisions", {"dossiers": [d], "comment": bad}, "comment"),
        "create_unit": ("preparer", "POST", "/api/v1/dossiers", {"kind": "village_ntm", "unit": bad, "year": YEAR},
                        "unit"),
        "visit_notes": ("submitter", "POST", "/api/v1/committee/visits",
                        {"commune": "na-tam", "visited_on": "2026-12-01", "notes": bad}, "notes"),
        "report_body": ("submitter", "PUT", "/api/v1/committee/reports/na-tam/2026-11", {"body": bad}, "body"),
        "apology_reason": ("submitter", "POST", f"/api/v1/dossiers/{d}/apology",
                           {"new_date": "2026-12-20", "reason": bad}, "reason"),
    }[target]
    body = json.dumps(body)  # NUL and lone surrogates go as \u escapes, as a client sends them
    api = cast.api(who)
    before = fingerprint()
    refused(raw(api, method, path, body), 422, field, "invalid_input")
    assert fingerprint() == before


def test_nested_text_in_free_form_json_is_checked_with_its_path(cast):
    api = cast.api("submitter")
    before = fingerprint()
    body = {"body": "ok", "criteria": {"village_ntm": {"1": {"status": "met", "note": "x\x00y"}}}}
    refused(api.put("/api/v1/committee/reports/na-tam/2026-11", json=body), 422,
            "criteria.village_ntm.1.note", "invalid_input")
    assert fingerprint() == before


def test_one_line_fields_refuse_line_breaks_and_multi_line_text_keeps_them(cast):
    cast.api("preparer")
    before = fingerprint()
    refused(cast.api("preparer").post("/api/v1/dossiers", json={"kind": "village_ntm\n", "unit": "na-tam-03",
                                                                 "year": YEAR}), 422, "kind", "invalid_input")
    assert fingerprint() == before
    r = cast.api("preparer").put(f"/api/v1/dossiers/{cast.village}/criteria/1",
                                 json={"self_assessment": "met", "note": "dòng 1\r\n\tdòng 2"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["criteria"][0]["note"] == "dòng 1\r\n\tdòng 2"


def test_the_message_names_the_field_in_english_too(cast):
    err = refused(cast.api("preparer", "en").put(f"/api/v1/dossiers/{cast.village}/criteria/1",
                                                 json={"self_assessment": "met", "note": "a\x00"}),
                  422, "note", "invalid_input")
    assert "The field 'note'" in err["message"] and "U+0000" in err["message"]
    err = refused(cast.api("preparer").put(f"/api/v1/dossiers/{cast.village}/criteria/1",
                                           json={"self_assessment": "met", "note": "a\x00"}), 422, "note")
    assert "Trường 'note'" in err["message"]


@pytest.mark.parametrize("query,field", [("kind=village%00ntm", "kind"), ("unit=na-tam%0A", "unit"),
                                         ("state=draft%E2%80%AE", "state"), ("q=%1B", "q")])
def test_control_characters_in_query_strings_are_422(cast, query, field):
    refused(cast.api("submitter").get(f"/api/v1/dossiers?{query}"), 422, field, "invalid_input")


def test_a_multipart_criterion_with_a_nul_is_422(cast):
    api = cast.api("preparer")
    before = fingerprint()
    refused(upload(api, cast.village, "1\x00"), 422, "criterion", "invalid_input")
    assert fingerprint() == before


# --------------------------------------------------------------------------- path ids

def test_every_api_rule_with_out_of_range_or_non_ascii_ids_is_404(app, cast):
    """Every /api/ rule with an integer segment, every method, with ids the database
    cannot hold or that are written in other digits: 404, never 500."""
    api = cast.api("approver")
    checked = 0
    for rule in app.url_map.iter_rules():
        ints = INT_SEGMENT.findall(rule.rule)
        if not rule.rule.startswith("/api/") or not ints:
            continue
        for bad in (str(BIG), str(HUGE), "٣", "３", "-1"):
            url = rule.rule
            for name in ints:
                url = re.sub(rf"<int(\([^)]*\))?:{name}>", bad, url)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                r = api._call(method, url, json={})
                assert r.status_code == 404, (method, url, r.status_code)
                checked += 1
    assert checked >= 50


# --------------------------------------------------------------------------- depth and size

@pytest.mark.parametrize("depth", [65, 2000, 100_000])
def test_json_nested_too_deep_is_400(cast, depth):
    api = cast.api("town_preparer")
    before = fingerprint()
    body = '{"request_ref": ' + "[" * depth + "]" * depth + "}"
    err = refused(raw(api, "PUT", f"/api/v1/dossiers/{cast.town}/fields", body), 400, None,
                  "bad_request")
    assert "64" in err["message"]
    assert fingerprint() == before


def test_json_at_the_depth_limit_is_read(cast):
    body = '{"resident_satisfaction_pct": ' + "[" * 63 + "]" * 63 + "}"  # 64 levels with the object
    err = refused(raw(cast.api("town_preparer"), "PUT", f"/api/v1/dossiers/{cast.town}/fields", body), 400, None)
    assert "64" not in err["message"]  # refused by the field's type, not by depth


def test_a_json_body_past_json_max_bytes_is_413_and_an_upload_is_not_held_to_it(app, cast):
    cast.api("town_preparer")
    before = fingerprint()
    big = {"request_ref": "x" * (app.config["JSON_MAX_BYTES"] + 1)}
    refused(cast.api("town_preparer").put(f"/api/v1/dossiers/{cast.town}/fields", json=big), 413, None)
    assert fingerprint() == before
    app.config["JSON_MAX_BYTES"] = 4096
    refused(cast.api("town_preparer").put(f"/api/v1/dossiers/{cast.town}/fields",
                                          json={"request_ref": "x" * 5000}), 413, None)
    # An evidence upload is multipart: held to MAX_CONTENT_LENGTH and EVIDENCE_MAX_BYTES only.
    r = upload(cast.api("preparer"), cast.village, "1", content=make_pdf(size=64 * 1024))
    assert r.status_code == 201, r.get_json()


def test_any_body_past_max_content_length_is_413(app, cast):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    cast.api("preparer")
    before = fingerprint()
    r = upload(cast.api("preparer"), cast.village, "1", content=make_pdf(size=100 * 1024))
    refused(r, 413, None)
    assert fingerprint() == before


def test_the_limits_come_from_the_environment(monkeypatch):
    from workflow_app.config import Config

    monkeypatch.setenv("MAX_REQUEST_BYTES", "5000000")
    monkeypatch.setenv("JSON_MAX_BYTES", "200000")
    config = Config()
    assert (config.MAX_CONTENT_LENGTH, config.JSON_MAX_BYTES) == (5_000_000, 200_000)
    monkeypatch.setenv("JSON_MAX_BYTES", "lots")
    with pytest.raises(RuntimeError, match="JSON_MAX_BYTES"):
        Config()
