"""The pages' input boundary (workflow_app/validation.py, web/forms.py): query
strings, forms and path segments never give a 500. Out-of-range numbers are 400,
control characters and digits other than 0-9 422, each naming the field, and
nothing in the database changes; `next=` redirects only to a local path."""
from __future__ import annotations

import re

import frozen_clock
import pytest
from werkzeug.datastructures import ImmutableMultiDict

from workflow_app.extensions import db
from workflow_app.services import create_dossier

YEAR = frozen_clock.YEAR
BIG, HUGE = str(2**31), str(10**20)
INT_SEGMENT = re.compile(r"<int(?:\([^)]*\))?:(\w+)>")


def fingerprint() -> dict:
    """Every row of every table: "nothing changed" means this is equal."""
    db.session.expire_all()
    out = {table.name: sorted(repr(tuple(r)) for r in db.session.execute(db.select(table)).all())
           for table in db.metadata.sorted_tables}
    db.session.rollback()
    return out


def sign_in(app, user):
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": "pw-123456"})
    assert r.status_code == 302, r.status_code
    return client


@pytest.fixture
def site(app, make_user):
    users = {
        "submitter": make_user("submitter", "na-tam"),
        "preparer": make_user("preparer", "na-tam-03"),
        "town_preparer": make_user("preparer", "tt-tam-duong"),
        "approver": make_user("approver", "tam-duong"),
        "viewer": make_user("viewer", "tam-duong"),
        "admin": make_user("admin", "lai-chau"),
    }
    village = create_dossier(users["submitter"], "village_ntm", "na-tam-03", YEAR).id
    town = create_dossier(users["town_preparer"], "town_civilized", "tt-tam-duong", YEAR).id
    db.session.commit()
    clients = {}

    class Site:
        pass
    s = Site()
    s.users, s.village, s.town = users, village, town

    def client(who):
        if who not in clients:
            clients[who] = sign_in(app, users[who])
        return clients[who]
    s.client = client
    return s


def refused(response, status: int, field: str | None):
    text = response.get_data(as_text=True)
    assert response.status_code == status, (response.status_code, text[:500])
    if field is not None:
        assert f"'{field}'" in text.replace("&#39;", "'"), text[:2000]
    return text


# --------------------------------------------------------------------------- path segments

def test_every_page_rule_with_out_of_range_or_non_ascii_ids_is_404(app, site):
    client = site.client("admin")
    checked = 0
    for rule in app.url_map.iter_rules():
        ints = INT_SEGMENT.findall(rule.rule)
        if rule.rule.startswith("/api/") or not ints:
            continue
        for bad in (BIG, HUGE, "٣", "３", "²", "-1"):
            url = rule.rule
            for name in ints:
                url = re.sub(rf"<int(\([^)]*\))?:{name}>", bad, url)
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                r = client.open(url, method=method)
                assert r.status_code == 404, (method, url, r.status_code)
                checked += 1
    assert checked >= 20


def test_every_rule_answers_an_in_range_missing_id_without_a_500(app, site):
    """The largest id the database holds: a plain "not found" (or a refusal), on every rule."""
    client = site.client("admin")
    for rule in app.url_map.iter_rules():
        if "<int:" not in rule.rule:
            continue
        url = rule.rule
        for name in rule.arguments:
            url = url.replace(f"<int:{name}>", str(2**31 - 1)).replace(f"<{name}>", "x")
        headers = {"Authorization": "Bearer nothing"} if url.startswith("/api/") else {}
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            r = client.open(url, method=method, headers=headers)
            assert r.status_code in (400, 401, 403, 404, 409, 422), (method, url, r.status_code)


@pytest.mark.parametrize("path", ["/verify/ab%00cd", "/verify/ab%E2%80%AEcd", "/verify/ab%0Acd",
                                  "/lang/e%00n", "/api/v1/committee/reports/na%00tam/2026-11"])
def test_path_strings_with_control_characters_match_no_route(app, site, path):
    assert site.client("submitter").get(path).status_code == 404
    assert app.test_client().get(path).status_code in (302, 401, 404)


# --------------------------------------------------------------------------- query strings

@pytest.mark.parametrize("path,status,field", [
    ("/dossiers?year=99999999999", 400, "year"),
    (f"/dossiers?page={HUGE}", 400, "page"),
    ("/dossiers?year=%C2%B2", 422, "year"),
    ("/dossiers?page=%D9%A3", 422, "page"),
    ("/dossiers?page=1e400", 422, "page"),
    ("/dossiers?q=a%00b", 422, "q"),
    ("/dossiers?kind=village_ntm%E2%80%AE", 422, "kind"),
    ("/dossiers?commune=na-tam%0D%0A", 422, "commune"),
    (f"/outbox?page={HUGE}", 400, "page"),
    ("/outbox?page=%EF%BC%92", 422, "page"),
    ("/decisions?year=%C2%B2", 422, "year"),
    (f"/decisions?year={HUGE}", 400, "year"),
    ("/decisions?issuer=tam%00duong", 422, "issuer"),
    ("/decisions.xlsx?year=%D9%A3", 422, "year"),
    ("/dashboard?year=%C2%B2", 422, "year"),
    ("/dashboard.xlsx?year=99999999999", 400, "year"),
    ("/reports/monthly?month=2026-11%00", 422, "month"),
    ("/committee/office?month=%1B", 422, "month"),
    ("/committee?commune=na%00tam", 422, "commune"),
    ("/dossiers?a%00b=1", 422, None),
])
def test_query_strings_out_of_range_foreign_digits_or_control_characters(site, path, status, field):
    before = fingerprint()
    refused(site.client("approver").get(path), status, field)
    assert fingerprint() == before


LONG = "9" * 5000  # past Python's int() limit (4300 digits): int() raises instead of answering


@pytest.mark.parametrize("path,field", [
    (f"/dossiers?year={LONG}", "year"), (f"/dossiers?page={LONG}", "page"), (f"/dossiers?page=-{LONG}", "page"),
    (f"/outbox?page={LONG}", "page"), (f"/decisions?year={LONG}", "year"), (f"/dashboard?year={LONG}", "year"),
    (f"/?page={LONG}", "page"), (f"/committee?version={LONG}", "version"),
])
def test_query_numbers_of_thousands_of_digits_are_400_on_signed_in_pages(site, path, field):
    client = site.client("approver")
    before = fingerprint()
    refused(client.get(path), 400, field)
    assert fingerprint() == before


@pytest.mark.parametrize("path", ["/login", "/healthz", "/verify/abc"])
@pytest.mark.parametrize("name", ["page", "version", "year"])
def test_query_numbers_of_thousands_of_digits_are_400_before_sign_in(app, site, path, name):
    before = fingerprint()
    refused(app.test_client().get(f"{path}?{name}={LONG}"), 400, name)
    assert fingerprint() == before


@pytest.mark.parametrize("path,field", [("/dossiers?page=%2B2", "page"), ("/dossiers?year=1_000", "year"),
                                        ("/outbox?page=%2B1", "page")])
def test_list_numbers_are_digits_with_at_most_a_minus(site, path, field):
    refused(site.client("approver").get(path), 422, field)


def test_a_zero_padded_page_number_is_its_value(site):
    r = site.client("approver").get(f"/dossiers?year={'0' * 5000}{YEAR}&page={'0' * 30}1")
    assert r.status_code == 200


def test_an_ordinary_list_query_still_works(site):
    r = site.client("approver").get(f"/dossiers?year={YEAR}&page=1&q=n%C3%A0&kind=village_ntm")
    assert r.status_code == 200


# --------------------------------------------------------------------------- forms

def _event(site, **data):
    return site.client("submitter").post(f"/dossiers/{site.village}/events",
                                         data={"event": "submit", "confirm": "y", **data})


@pytest.mark.parametrize("data,status,field", [
    ({"version": "99999999999"}, 400, "version"),
    ({"version": HUGE}, 400, "version"),
    ({"version": "٣"}, 422, "version"),
    ({"version": "１"}, 422, "version"),
    ({"comment": "lý do\x00"}, 422, "comment"),
    ({"comment": "lý do\u202e"}, 422, "comment"),
    ({"event": "sub\x85mit"}, 422, "event"),
    ({"version": LONG}, 400, "version"),
    ({"version": "-" + LONG}, 400, "version"),
])
def test_event_form_values(site, data, status, field):
    site.client("submitter")
    before = fingerprint()
    refused(_event(site, **data), status, field)
    assert fingerprint() == before


@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-Infinity", "1e400", "٩٥", "９５", "9²", "95\x00"])
def test_number_fields_on_the_fields_page(site, value):
    client = site.client("town_preparer")
    before = fingerprint()
    r = client.post(f"/dossiers/{site.town}/fields", data={"field-resident_satisfaction_pct": value})
    # The page names the field by its label, not by its internal name.
    refused(r, 422, "Tỷ lệ người dân hài lòng (%)" if "\x00" not in value else "field-resident_satisfaction_pct")
    assert fingerprint() == before


def test_the_fields_page_still_takes_a_decimal_comma(site):
    client = site.client("town_preparer")
    r = client.post(f"/dossiers/{site.town}/fields", data={"field-resident_satisfaction_pct": "92,5"})
    assert r.status_code == 302
    db.session.expire_all()
    from workflow_app.models import Dossier

    assert db.session.get(Dossier, site.town).fields["resident_satisfaction_pct"] == 92.5


@pytest.mark.parametrize("data,status,field", [
    ({"sa-1": "met", "note-1": "ghi chú\x00"}, 422, "note-1"),
    ({"sa-1": "met", "note-1": "ok", "version": "٣"}, 422, "version"),
    ({"sa-1": "met", "note-1": "ok", "version": BIG}, 400, "version"),
    ({"sa-1": "met", "note-1": "ok", "version": LONG}, 400, "version"),
])
def test_self_assessment_form(site, data, status, field):
    client = site.client("preparer")
    before = fingerprint()
    refused(client.post(f"/dossiers/{site.village}/self-assessment", data=data), status, field)
    assert fingerprint() == before


@pytest.mark.parametrize("choice,status", [(f"{BIG}:1", 400), ("1:99999999999", 400), ("²:1", 422),
                                           ("٣:1", 422), ("1:٣", 422), ("1\x00:1", 422),
                                           (f"{LONG}:1", 400), (f"1:{LONG}", 400)])
def test_batch_page_dossier_choices(site, choice, status):
    client = site.client("approver")
    before = fingerprint()
    refused(client.post("/decisions/batch", data={"dossier": [choice], "confirm": "y"}), status, "dossier")
    assert fingerprint() == before


@pytest.mark.parametrize("path,data,field", [
    ("/dossiers/new", {"kind": "village_ntm\x00", "unit": "na-tam-03", "year": str(YEAR)}, "kind"),
    ("/dossiers/new", {"kind": "village_ntm", "unit": "na-tam-03", "year": HUGE}, "year"),
    ("/dossiers/new", {"kind": "village_ntm", "unit": "na-tam-03", "year": LONG}, "year"),
    ("/committee/visits", {"commune": "na-tam", "visited_on": "2026-12-01", "notes": "a\x00"}, "notes"),
    ("/committee/reports", {"commune": "na-tam", "month": "2026-11", "body": "ok", "note-village_ntm-1": "\x1b"},
     "note-village_ntm-1"),
    ("/password", {"current": "pw-123456", "new": "new-pass\x00word"}, "new"),
])
def test_other_forms_refuse_control_characters_and_huge_numbers(site, path, data, field):
    client = site.client("submitter")
    before = fingerprint()
    r = client.post(path, data=data)
    assert r.status_code in (400, 422), r.status_code
    if field == "year":
        assert "Năm" in r.get_data(as_text=True)  # the form names it by its label
    else:
        refused(r, 422, field)
    assert fingerprint() == before


def test_a_username_with_a_nul_is_422_before_any_sign_in(app, site):
    before = fingerprint()
    r = app.test_client().post("/login", data={"username": "submitter1\x00", "password": "pw-123456"})
    refused(r, 422, "username")
    assert fingerprint() == before


# --------------------------------------------------------------------------- redirects

BAD_NEXT = ["//evil.example", "/%09/evil.example", "/%0A/evil.example", "/%0D%0ASet-Cookie:%20x=1",
            "/\\evil.example", "/%5Cevil.example", "https://evil.example", "http:evil.example",
            "javascript:alert(1)", "%2F%2Fevil.example", "%20//evil.example", "/%E2%80%AE/evil",
            "///evil.example", "/.%0A/x", "evil.example", ""]


@pytest.mark.parametrize("target", BAD_NEXT)
def test_sign_in_redirects_only_to_a_local_path(app, site, target):
    r = app.test_client().post(f"/login?next={target}",
                               data={"username": site.users["viewer"].username, "password": "pw-123456"})
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers.get("Location")


@pytest.mark.parametrize("target", BAD_NEXT)
def test_the_language_switch_redirects_only_to_a_local_path(app, target):
    r = app.test_client().get(f"/lang/en?next={target}")  # works without signing in
    assert r.status_code == 302 and r.headers["Location"] == "/", r.headers.get("Location")


@pytest.mark.parametrize("target", ["/dossiers?kind=village_ntm&year=2026", "/committee/office?month=2024-09",
                                    "/dossiers/7#c-1"])
def test_local_paths_are_kept(app, site, target):
    from urllib.parse import quote

    r = app.test_client().get(f"/lang/vi?next={quote(target)}")
    assert r.headers["Location"] == target
    r = app.test_client().post(f"/login?next={quote(target)}",
                               data={"username": site.users["viewer"].username, "password": "pw-123456"})
    assert r.headers["Location"] == target


# --------------------------------------------------------------------------- a sweep of the pages

ODD_VALUES = ["٣", "²", "99999999999", str(10**20), "-1", "1e400", "NaN", "x" * 300, "٢٠٢٤-٠٩", "2024-13"]
QUERY_NAMES = ["year", "page", "month", "kind", "state", "q", "issuer", "commune", "village", "unsent", "next"]


class _ReadArgs(ImmutableMultiDict):
    """A query string that notes the names a view asks it for (`get`, `[]`, `in`,
    `getlist`); the request-wide scan, which walks every item, notes nothing."""

    read: set[str] = set()

    def __getitem__(self, key):
        _ReadArgs.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None, type=None):  # noqa: A002 (werkzeug's signature)
        _ReadArgs.read.add(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        _ReadArgs.read.add(key)
        return super().getlist(key, type)

    def __contains__(self, key):
        _ReadArgs.read.add(key)
        return super().__contains__(key)


def test_every_page_answers_odd_query_values_without_a_500(app, site):
    """Every page GET (ids filled with a real dossier) with odd values in each query
    parameter the page asks for: whatever the answer, it is not a 500. A name no page
    asks for meets only the request-wide scan, swept once on the first page."""
    app.request_class = type("ReadArgsRequest", (app.request_class,), {"parameter_storage_class": _ReadArgs})
    client = site.client("approver")
    pages = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/") or "GET" not in rule.methods or rule.endpoint == "static":
            continue
        url = re.sub(r"<int(\([^)]*\))?:\w+>", str(site.village), rule.rule)
        pages.append(re.sub(r"<[^>]+>", "x", url))
    assert len(pages) >= 15
    asked = set()
    for n, url in enumerate(pages):
        names = list(QUERY_NAMES)
        if n:
            _ReadArgs.read = set()
            client.get(url)  # a view asks for its names even when they are absent
            names = sorted(_ReadArgs.read)
        for name in names:
            for value in ODD_VALUES:
                _ReadArgs.read = set()
                r = client.get(url, query_string={name: value})
                assert r.status_code != 500 and r.status_code < 600, (url, name, value, r.status_code)
                # A name asked for only after another's value (`page` once `month` is good) is swept too.
                names += sorted(_ReadArgs.read - set(names))
        asked.update(names)
    # The sweep reaches the pages' own parameters, not only the first page's scan.
    assert {"year", "month", "page", "kind", "q", "issuer", "round"} <= asked, asked
