"""Every refusal of the CONTRACT, through the HTTP API.

Each refusal answers its status with JSON {"error": {"code", "message"}}, the
message in Vietnamese by default and in English with `Accept-Language: en`; a
refused request on an existing dossier changes nothing (state, version,
history, attachments, criteria, fields, audit records, counters, stored files).
States are set up through the services (fast); the refusals go through HTTP.
"""
from __future__ import annotations

import io
import re
from functools import cached_property
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import frozen_clock
import pytest
from helpers import PDF, fire, make_pdf, upload

from workflow_app.extensions import db
from workflow_app.models import AuditRecord, Counter, Decision, Dossier
from workflow_app.services import (
    appraise_criterion,
    attach_evidence,
    create_dossier,
    fire_event,
    self_assess,
    set_fields,
)

YEAR = frozen_clock.YEAR
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64

# Words that only a Vietnamese message carries (an English one may quote a unit name).
VI_WORDS = ("không", "hồ sơ", "hãy", "được", "của", "chưa", "tiêu chí", "quyền", "yêu cầu",
            "thao tác", "phải", "cần", "tệp", "đơn vị", "trạng thái", "thẩm định")
EN_WORDS = re.compile(r"\b(the|not|no|is|you|a|an|or|to|this|must|needs?|has|may|cannot|check|send|"
                      r"unknown|known|dossier|criterion|file|event|field)\b")


# --------------------------------------------------------------------------- checks

def error_of(response, status: int, code: str | None, lang: str) -> dict:
    """The response is the CONTRACT's error: status, JSON shape, language."""
    text = response.get_data(as_text=True)
    assert response.status_code == status, (response.status_code, text)
    assert response.is_json, text
    body = response.get_json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    err = body["error"]
    assert {"code", "message"} <= set(err), err
    assert isinstance(err["code"], str) and err["code"], err
    assert isinstance(err["message"], str) and err["message"].strip(), err
    if code is not None:
        assert err["code"] == code, err
    low = err["message"].lower()
    if lang == "vi":
        assert any(w in low for w in VI_WORDS), f"not Vietnamese: {err['message']!r}"
    else:
        assert not any(w in low for w in VI_WORDS), f"not English: {err['message']!r}"
        assert EN_WORDS.search(low), f"not English: {err['message']!r}"
    return err


class Person:
    """One user, speaking Vietnamese (default) or English through the API."""

    def __init__(self, user, api_as):
        self.user, self._api_as, self._clients = user, api_as, {}

    def api(self, lang: str = "vi"):
        if lang not in self._clients:
            self._clients[lang] = self._api_as(self.user, lang=lang)
        return self._clients[lang]

    @property
    def vi(self):
        return self.api("vi")

    @property
    def en(self):
        return self.api("en")


class World:
    """The cast (created on first use) and quick set-ups through the services."""

    def __init__(self, app, make_user, api_as):
        self.app, self.make_user, self.api_as = app, make_user, api_as

    def person(self, role: str, unit: str, **kw) -> Person:
        return Person(self.make_user(role, unit, **kw), self.api_as)

    @cached_property
    def preparer(self):  # village head of na-tam-03
        return self.person("preparer", "na-tam-03")

    @cached_property
    def submitter(self):  # commune officer of na-tam
        return self.person("submitter", "na-tam")

    @cached_property
    def appraiser(self):
        return self.person("appraiser", "tam-duong")

    @cached_property
    def approver(self):
        return self.person("approver", "tam-duong", name="Trần Quốc Khánh", capacity="vice_chairman")

    @cached_property
    def viewer(self):  # reads everything in the district: the observer of "nothing changed"
        return self.person("viewer", "tam-duong")

    @cached_property
    def gm_submitter(self):  # another commune: na-tam dossiers are invisible to them
        return self.person("submitter", "giang-ma")

    @cached_property
    def town_preparer(self):
        return self.person("preparer", "tt-tam-duong")

    @cached_property
    def town_submitter(self):
        return self.person("submitter", "tt-tam-duong")

    # ---- set-ups (services, committed)

    @staticmethod
    def dossier(did: int) -> Dossier:
        return db.session.get(Dossier, did)

    def village(self, state: str = "draft", unit: str = "na-tam-03", year: int = YEAR, *,
                no_evidence=(), not_met=(), not_passed=()) -> int:
        """A village dossier in `state`: draft, ready (prepared draft), submitted,
        submitted_passed (every criterion but `not_passed` passed), returned,
        rejected, appraised or recognized."""
        sub = self.submitter.user
        did = create_dossier(sub, "village_ntm", unit, year).id
        db.session.commit()
        if state == "draft":
            return did
        self._prepare(sub, did, no_evidence, not_met)
        if state == "ready":
            return did
        return self._advance(did, state, sub, not_passed)

    def town(self, state: str = "draft", year: int = YEAR, *, satisfaction=95, vote=(10, 8, 7),
             not_passed=()) -> int:
        """The town's dossier in `state`; `vote` is (members, present, in favour)
        recorded by the appraiser once submitted, or None."""
        sub = self.town_submitter.user
        did = create_dossier(sub, "town_civilized", "tt-tam-duong", year).id
        db.session.commit()
        if state == "draft":
            return did
        self._prepare(sub, did, (), ())
        if satisfaction is not None:
            set_fields(sub, self.dossier(did), {"resident_satisfaction_pct": satisfaction})
            db.session.commit()
        if state == "ready":
            return did
        return self._advance(did, state, sub, not_passed, vote=vote)

    def _prepare(self, actor, did, no_evidence, not_met):
        d = self.dossier(did)
        for code in [c.code for c in d.current_criteria()]:
            if code not in no_evidence:
                attach_evidence(actor, d, f"minh-chung-{code}.pdf", PDF, code)
            self_assess(actor, d, code, "not_met" if code in not_met else "met", "ok")
        db.session.commit()

    def _advance(self, did, state, submitter, not_passed, vote=None) -> int:
        fire_event(submitter, self.dossier(did), "submit")
        db.session.commit()
        if vote is not None:
            members, present, in_favour = vote
            set_fields(self.appraiser.user, self.dossier(did), {
                "council_members": members, "council_present": present, "council_in_favour": in_favour})
            db.session.commit()
        if state == "submitted":
            return did
        if state == "returned":
            fire_event(self.appraiser.user, self.dossier(did), "return", "Bổ sung minh chứng")
            db.session.commit()
            return did
        if state == "rejected":
            fire_event(self.approver.user, self.dossier(did), "reject", "Không đạt")
            db.session.commit()
            return did
        d = self.dossier(did)
        for code in [c.code for c in d.current_criteria()]:
            if code not in not_passed:
                appraise_criterion(self.appraiser.user, d, code, "pass", None)
        db.session.commit()
        if state == "submitted_passed":
            return did
        fire_event(self.appraiser.user, self.dossier(did), "appraise")
        db.session.commit()
        if state == "appraised":
            return did
        assert state == "recognized", state
        fire_event(self.approver.user, self.dossier(did), "recognize")
        db.session.commit()
        return did

    # ---- "nothing changed"

    def snapshot(self, did: int) -> dict:
        r = self.viewer.vi.get(f"/api/v1/dossiers/{did}")
        assert r.status_code == 200, r.json
        d = r.json
        storage = Path(self.app.config["STORAGE_DIR"])
        return {
            "state": d["state"], "version": d["version"], "round": d["round"],
            "history": len(d["history"]), "attachments": len(d["attachments"]),
            "attachment_ids": [a["id"] for a in d["attachments"]],
            "criteria": [(c["code"], c["self_assessment"], c["note"], c["verdict"], c["verdict_note"],
                          tuple(c["evidence"])) for c in d["criteria"]],
            "fields": d["fields"], "decision": d["decision"],
            "audit_records": db.session.scalar(db.select(db.func.count()).select_from(AuditRecord)
                                               .where(AuditRecord.dossier_id == did)),
            "dossiers": db.session.scalar(db.select(db.func.count()).select_from(Dossier)),
            "decisions": db.session.scalar(db.select(db.func.count()).select_from(Decision)),
            "counters": dict(db.session.execute(db.select(Counter.scope, Counter.value)).all()),
            "stored_files": sorted(str(p) for p in storage.rglob("*") if p.is_file()) if storage.exists() else [],
        }

    def global_snapshot(self) -> dict:
        storage = Path(self.app.config["STORAGE_DIR"])
        return {
            "dossiers": db.session.scalar(db.select(db.func.count()).select_from(Dossier)),
            "audit_records": db.session.scalar(db.select(db.func.count()).select_from(AuditRecord)),
            "counters": dict(db.session.execute(db.select(Counter.scope, Counter.value)).all()),
            "stored_files": sorted(str(p) for p in storage.rglob("*") if p.is_file()) if storage.exists() else [],
        }

    def refused(self, send, status: int, code: str | None = None, *, watch: int | None = None):
        """send(lang) -> response; asked in Vietnamese then English; nothing changes."""
        before = self.snapshot(watch) if watch is not None else self.global_snapshot()
        vi = error_of(send("vi"), status, code, "vi")
        en = error_of(send("en"), status, code, "en")
        assert vi["code"] == en["code"]
        assert vi["message"] != en["message"]
        after = self.snapshot(watch) if watch is not None else self.global_snapshot()
        assert after == before, "a refused request changed something"
        return vi, en

    def refused_as(self, person: Person, call, status: int, code: str | None = None, *, watch: int | None = None):
        """call(api_client) -> response, as this person."""
        return self.refused(lambda lang: call(person.api(lang)), status, code, watch=watch)


@pytest.fixture
def w(app, make_user, api_as) -> World:
    return World(app, make_user, api_as)


def anon(app, path: str, lang: str, method: str = "GET", headers: dict | None = None, **kw):
    """A request with no token; the Vietnamese one sends no Accept-Language at all."""
    h = dict(headers or {})
    if lang == "en":
        h["Accept-Language"] = "en"
    r = app.test_client().open(path, method=method, headers=h, **kw)
    r.get_data()
    r.close()
    return r


def raw_json(api, method: str, path: str, text: str):
    return api._call(method, path, data=text, content_type="application/json")


# =========================================================================== 400

@pytest.mark.parametrize("target", ["create", "event", "criterion", "fields", "appraisal"])
def test_malformed_json_body_is_400(w, target):
    did = None if target == "create" else w.village("submitted" if target == "appraisal" else "draft")
    person = w.appraiser if target == "appraisal" else w.submitter
    method, path = {
        "create": ("POST", "/api/v1/dossiers"),
        "event": ("POST", f"/api/v1/dossiers/{did}/events"),
        "criterion": ("PUT", f"/api/v1/dossiers/{did}/criteria/1"),
        "fields": ("PUT", f"/api/v1/dossiers/{did}/fields"),
        "appraisal": ("POST", f"/api/v1/dossiers/{did}/criteria/1/appraisal"),
    }[target]
    w.refused_as(person, lambda api: raw_json(api, method, path, '{"event": "submit", '),
                 400, "bad_request", watch=did)


@pytest.mark.parametrize("body", [
    {"unit": "na-tam-03", "year": YEAR},          # no kind
    {"kind": "village_ntm", "year": YEAR},        # no unit
    {"kind": "village_ntm", "unit": "na-tam-03"},  # no year
    {},
])
def test_create_without_required_fields_is_400(w, body):
    w.refused_as(w.preparer, lambda api: api.post("/api/v1/dossiers", json=body), 400, "bad_request")


@pytest.mark.parametrize("body", [
    {"kind": "village_ntm", "unit": "na-tam-03", "year": "abc"},
    {"kind": "village_ntm", "unit": "na-tam-03", "year": None},
    {"kind": "village_ntm", "unit": "na-tam-03", "year": True},
    {"kind": 5, "unit": "na-tam-03", "year": YEAR},
    {"kind": "village_ntm", "unit": ["na-tam-03"], "year": YEAR},
    ["village_ntm", "na-tam-03", YEAR],
    "village_ntm",
])
def test_create_with_wrong_types_is_400(w, body):
    w.refused_as(w.preparer, lambda api: api.post("/api/v1/dossiers", json=body), 400, "bad_request")


def test_create_with_a_fractional_year_is_400(w):
    body = {"kind": "village_ntm", "unit": "na-tam-03", "year": YEAR - 0.5}
    w.refused_as(w.preparer, lambda api: api.post("/api/v1/dossiers", json=body), 400, "bad_request")


@pytest.mark.parametrize("body", [
    {},                                        # no event
    {"event": 5},
    {"event": "submit", "version": "abc"},
    {"event": "submit", "comment": ["a"]},
    {"event": "submit", "comment": "x" * 5001},
])
def test_event_with_missing_or_wrong_typed_fields_is_400(w, body):
    did = w.village("ready")
    w.refused_as(w.submitter, lambda api: api.post(f"/api/v1/dossiers/{did}/events", json=body),
                 400, "bad_request", watch=did)


@pytest.mark.parametrize("body", [
    {"self_assessment": "maybe"}, {"self_assessment": "MET"}, {"self_assessment": ""},
    {"self_assessment": None}, {"self_assessment": True}, {"note": "no assessment"},
    {"self_assessment": "met", "version": "abc"},
])
def test_self_assessment_value_not_met_or_not_met_is_400(w, body):
    did = w.village("draft")
    w.refused_as(w.preparer, lambda api: api.put(f"/api/v1/dossiers/{did}/criteria/1", json=body),
                 400, "bad_request", watch=did)


@pytest.mark.parametrize("body", [
    {"verdict": "ok"}, {"verdict": "passed"}, {"verdict": "PASS"}, {"verdict": None}, {"note": "x"},
    {"verdict": 1},
])
def test_verdict_not_pass_or_fail_is_400(w, body):
    did = w.village("submitted")
    w.refused_as(w.appraiser, lambda api: api.post(f"/api/v1/dossiers/{did}/criteria/1/appraisal", json=body),
                 400, "bad_request", watch=did)


@pytest.mark.parametrize("how", ["criterion_only", "other_part_name", "json_body", "empty"])
def test_upload_without_a_file_part_is_400(w, how):
    did = w.village("draft")
    path = f"/api/v1/dossiers/{did}/attachments"

    def send(api):
        if how == "criterion_only":
            return api.post(path, data={"criterion": "1"}, content_type="multipart/form-data")
        if how == "other_part_name":
            return api.post(path, data={"upload": (io.BytesIO(PDF), "a.pdf"), "criterion": "1"},
                            content_type="multipart/form-data")
        if how == "json_body":
            return api.post(path, json={"file": "JVBERi0xLjQ=", "criterion": "1"})
        return api.post(path)
    w.refused_as(w.preparer, send, 400, "bad_request", watch=did)


@pytest.mark.parametrize("value", ["lots", "95", True, [95], {"pct": 95}])
def test_field_value_of_the_wrong_type_is_400(w, value):
    did = w.town("ready", satisfaction=None)
    w.refused_as(w.town_preparer,
                 lambda api: api.put(f"/api/v1/dossiers/{did}/fields", json={"resident_satisfaction_pct": value}),
                 400, "bad_request", watch=did)


def test_integer_field_given_a_fraction_and_text_field_given_a_number_are_400(w):
    town = w.town("submitted", vote=None)
    w.refused_as(w.appraiser, lambda api: api.put(f"/api/v1/dossiers/{town}/fields", json={"council_members": 7.5}),
                 400, "bad_request", watch=town)
    village = w.village("draft")
    w.refused_as(w.submitter, lambda api: api.put(f"/api/v1/dossiers/{village}/fields", json={"request_ref": 12}),
                 400, "bad_request", watch=village)


@pytest.mark.parametrize("body", [{}, [], ["resident_satisfaction_pct"], "resident_satisfaction_pct"])
def test_fields_body_that_is_not_a_non_empty_mapping_is_400(w, body):
    did = w.town("draft")
    w.refused_as(w.town_preparer, lambda api: api.put(f"/api/v1/dossiers/{did}/fields", json=body),
                 400, "bad_request", watch=did)


@pytest.mark.parametrize("query", ["page=0", "page=abc", "year=abc"])
def test_list_with_malformed_query_is_400(w, query):
    w.refused_as(w.viewer, lambda api: api.get(f"/api/v1/dossiers?{query}"), 400, "bad_request")


# =========================================================================== 401

BAD_AUTHORIZATIONS = [None, "", "Bearer", "Bearer ", "Bearer not-a-real-token", "Basic dXNlcjpwdy0xMjM0NTY=",
                      "VALID_TOKEN_WITHOUT_SCHEME", "Basic VALID_TOKEN", "Token VALID_TOKEN"]


def _auth_headers(authorization, token):
    if authorization is None:
        return {}
    return {"Authorization": authorization.replace("VALID_TOKEN_WITHOUT_SCHEME", token).replace("VALID_TOKEN", token)}


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATIONS)
def test_event_with_no_or_bad_token_is_401(w, app, authorization):
    did = w.village("ready")
    headers = _auth_headers(authorization, w.submitter.vi.token)  # a real token, offered the wrong way
    w.refused(lambda lang: anon(app, f"/api/v1/dossiers/{did}/events", lang, "POST", headers,
                                json={"event": "submit"}), 401, "unauthorized", watch=did)


@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/dossiers", "/api/v1/dossiers/DID", "/api/v1/units",
                                  "/api/v1/decisions?issuer=tam-duong&year=2024"])
def test_reads_with_no_or_bad_token_are_401(w, app, path):
    did = w.village("draft")
    path = path.replace("DID", str(did))
    for authorization in BAD_AUTHORIZATIONS:
        headers = _auth_headers(authorization, w.submitter.vi.token)
        w.refused(lambda lang, headers=headers: anon(app, path, lang, headers=headers), 401, "unauthorized", watch=did)


def test_token_of_a_deactivated_user_is_401(w, app):
    did = w.village("ready")
    api_vi, api_en = w.submitter.vi, w.submitter.en
    assert api_vi.get("/api/v1/me").status_code == 200
    w.submitter.user.active = False
    db.session.commit()
    w.refused(lambda lang: fire({"vi": api_vi, "en": api_en}[lang], did, "submit"), 401, "unauthorized", watch=did)


# The two decision downloads: the same 401 for every way of getting the token wrong, nothing sent.
@pytest.mark.parametrize("document", ["decision", "revocation"])
def test_decision_downloads_with_no_or_bad_token_are_401(w, app, document):
    did = w.village("recognized")
    if document == "revocation":
        assert fire(w.approver.vi, did, "revoke", "Không còn đạt").json["state"] == "revoked"
    path = f"/api/v1/dossiers/{did}/{document}.pdf"
    assert w.viewer.vi.get(path).status_code == 200  # the same address answers a good token
    for authorization in BAD_AUTHORIZATIONS:
        headers = _auth_headers(authorization, w.submitter.vi.token)
        w.refused(lambda lang, headers=headers: anon(app, path, lang, headers=headers), 401, "unauthorized", watch=did)


def test_decision_download_by_a_deactivated_user_is_401(w):
    did = w.village("recognized")
    api_vi, api_en = w.submitter.vi, w.submitter.en  # (the viewer takes the snapshots)
    assert api_vi.get(f"/api/v1/dossiers/{did}/decision.pdf").status_code == 200
    w.submitter.user.active = False
    db.session.commit()
    w.refused(lambda lang: {"vi": api_vi, "en": api_en}[lang].get(f"/api/v1/dossiers/{did}/decision.pdf"),
              401, "unauthorized", watch=did)


def test_decision_download_by_a_user_without_roles_is_404_as_for_a_missing_dossier(w):
    did = w.village("recognized")
    api_vi = w.submitter.vi
    assert api_vi.get(f"/api/v1/dossiers/{did}/decision.pdf").status_code == 200
    for ra in list(w.submitter.user.roles):
        db.session.delete(ra)
    db.session.commit()
    hidden = error_of(api_vi.get(f"/api/v1/dossiers/{did}/decision.pdf"), 404, "not_found", "vi")
    missing = error_of(api_vi.get("/api/v1/dossiers/987654/decision.pdf"), 404, "not_found", "vi")
    assert hidden["message"] == missing["message"]


def test_openapi_json_is_public(app):
    r = anon(app, "/api/v1/openapi.json", "vi")
    assert r.status_code == 200 and r.is_json
    doc = r.get_json()
    assert doc["openapi"].startswith("3.") and "/api/v1/dossiers" in doc["paths"]


# =========================================================================== 403

@pytest.mark.parametrize("who, event, state", [
    ("preparer", "submit", "ready"),          # a village head may prepare, not submit
    ("approver", "submit", "ready"),
    ("viewer", "submit", "ready"),
    ("submitter", "appraise", "submitted_passed"),
    ("preparer", "return", "submitted"),
    ("viewer", "recognize", "appraised"),
    ("appraiser", "recognize", "appraised"),  # the appraiser appraises, the approver recognizes
    ("submitter", "recognize", "appraised"),
    ("appraiser", "reject", "appraised"),
])
def test_wrong_role_firing_an_event_is_403(w, who, event, state):
    did = w.village(state)
    person = getattr(w, who)
    w.refused_as(person, lambda api: fire(api, did, event, "lý do / reason"), 403, "forbidden", watch=did)
    assert event not in person.vi.get(f"/api/v1/dossiers/{did}").json["allowed_events"]


def test_viewer_may_not_self_assess_upload_or_set_fields(w):
    did = w.village("draft")
    w.refused_as(w.viewer, lambda api: api.put(f"/api/v1/dossiers/{did}/criteria/1", json={"self_assessment": "met"}),
                 403, "forbidden", watch=did)
    w.refused_as(w.viewer, lambda api: upload(api, did, "1"), 403, "forbidden", watch=did)
    w.refused_as(w.viewer, lambda api: api.put(f"/api/v1/dossiers/{did}/fields", json={"request_ref": "TTr 1"}),
                 403, "forbidden", watch=did)


def test_preparer_may_not_appraise_a_criterion(w):
    did = w.village("submitted")
    w.refused_as(w.preparer, lambda api: api.post(f"/api/v1/dossiers/{did}/criteria/1/appraisal",
                                                  json={"verdict": "pass"}), 403, "forbidden", watch=did)


def test_preparer_may_not_set_the_council_vote(w):
    did = w.town("submitted", vote=None)
    w.refused_as(w.town_preparer, lambda api: api.put(f"/api/v1/dossiers/{did}/fields", json={"council_members": 10}),
                 403, "forbidden", watch=did)


def test_separation_of_duties_submitter_may_not_appraise_own_submission(w, make_user, api_as):
    dual = make_user("submitter", "na-tam", username="hai-vai")
    dual = make_user("appraiser", "tam-duong", username="hai-vai")
    person = Person(dual, api_as)
    did = w.village("ready")
    r = fire(person.vi, did, "submit")
    assert r.status_code == 200 and r.json["state"] == "submitted"
    assert "appraise" not in r.json["allowed_events"]

    # Criterion verdicts: refused to them...
    vi, en = w.refused_as(person, lambda api: api.post(f"/api/v1/dossiers/{did}/criteria/1/appraisal",
                                                       json={"verdict": "pass"}), 403, "forbidden", watch=did)
    assert "tách bạch" in vi["message"] and "separation of duties" in en["message"]
    # ...even when every criterion is passed by a colleague, the appraise event too.
    d = w.dossier(did)
    for code in [c.code for c in d.current_criteria()]:
        appraise_criterion(w.appraiser.user, d, code, "pass", None)
    db.session.commit()
    vi, en = w.refused_as(person, lambda api: fire(api, did, "appraise"), 403, "forbidden", watch=did)
    assert "separation of duties" in en["message"]
    # The colleague may.
    assert fire(w.appraiser.vi, did, "appraise").json["state"] == "appraised"


def test_appraiser_limited_to_some_criteria_may_not_appraise_others(w, make_user, api_as):
    limited = Person(make_user("appraiser", "tam-duong", criteria=["1", "2"]), api_as)
    did = w.village("submitted")
    r = limited.vi.post(f"/api/v1/dossiers/{did}/criteria/1/appraisal", json={"verdict": "pass"})
    assert r.status_code == 200, r.json
    vi, en = w.refused_as(limited, lambda api: api.post(f"/api/v1/dossiers/{did}/criteria/3/appraisal",
                                                        json={"verdict": "pass"}), 403, "forbidden", watch=did)
    assert "1, 2" in vi["message"] and "1, 2" in en["message"]


@pytest.mark.parametrize("who, unit", [
    ("preparer", "na-tam-04"),     # a sibling village
    ("preparer", "giang-ma-01"),   # another commune's village
    ("gm_submitter", "na-tam-03"),
    ("appraiser", "na-tam-03"),    # district offices do not file dossiers
    ("viewer", "na-tam-03"),
])
def test_creating_a_dossier_outside_ones_subtree_or_role_is_403(w, who, unit):
    person = getattr(w, who)
    w.refused_as(person,
                 lambda api: api.post("/api/v1/dossiers", json={"kind": "village_ntm", "unit": unit, "year": YEAR}),
                 403, "forbidden")


# =========================================================================== 404

@pytest.mark.parametrize("method, suffix, kw", [
    ("GET", "", {}),
    ("POST", "/events", {"json": {"event": "submit"}}),
    ("PUT", "/criteria/1", {"json": {"self_assessment": "met"}}),
    ("PUT", "/fields", {"json": {"request_ref": "x"}}),
    ("POST", "/attachments", {"upload": True}),
    ("GET", "/attachments/1", {}),
    ("GET", "/decision.pdf", {}),
])
def test_unknown_dossier_is_404(w, method, suffix, kw):
    def send(api):
        if kw.get("upload"):
            return upload(api, 987654, "1")
        return api._call(method, f"/api/v1/dossiers/987654{suffix}", **kw)
    w.refused_as(w.submitter, send, 404, "not_found")


@pytest.mark.parametrize("method, suffix, kw", [
    ("GET", "", {}),
    ("POST", "/events", {"json": {"event": "submit"}}),
    ("POST", "/events", {"json": {"event": "no-such-event"}}),
    ("PUT", "/criteria/1", {"json": {"self_assessment": "not_met"}}),
    ("PUT", "/fields", {"json": {"request_ref": "x"}}),
    ("POST", "/attachments", {"upload": True}),
    ("GET", "/attachments/ATTACHMENT", {}),
    ("GET", "/decision.pdf", {}),
])
def test_dossier_of_another_commune_is_404_not_403(w, method, suffix, kw):
    did = w.village("ready")
    aid = w.dossier(did).attachments[0].id
    path = f"/api/v1/dossiers/{did}{suffix.replace('ATTACHMENT', str(aid))}"
    if method == "GET" and suffix != "/decision.pdf":
        assert w.submitter.vi.get(path).status_code == 200  # the same address answers its own commune

    def send(api):
        if kw.get("upload"):
            return upload(api, did, "1")
        return api._call(method, path, **kw)
    vi, _ = w.refused_as(w.gm_submitter, send, 404, "not_found", watch=did)
    if suffix != "/decision.pdf":  # no existence leak: the same answer as for a dossier that does not exist
        missing = error_of(w.gm_submitter.vi.get("/api/v1/dossiers/987654"), 404, "not_found", "vi")
        assert vi["message"] == missing["message"]


def test_unknown_attachment_is_404(w):
    did = w.village("ready")
    other = w.village("ready", unit="na-tam-04")
    foreign = w.dossier(other).attachments[0].id
    for aid in (987654, foreign):  # unknown, and one that belongs to another dossier
        w.refused_as(w.preparer, lambda api, aid=aid: api.get(f"/api/v1/dossiers/{did}/attachments/{aid}"),
                     404, "not_found", watch=did)


@pytest.mark.parametrize("state", ["draft", "submitted", "appraised"])
def test_decision_pdf_without_a_decision_is_404(w, state):
    did = w.village(state)
    w.refused_as(w.viewer, lambda api: api.get(f"/api/v1/dossiers/{did}/decision.pdf"), 404, "not_found", watch=did)


@pytest.mark.parametrize("token", ["unknown-token", "x" * 65, "%20"])
def test_verify_unknown_token_is_404_json(w, app, token):
    w.refused(lambda lang: anon(app, f"/verify/{token}", lang, headers={"Accept": "application/json"}),
              404, "not_found")
    page = anon(app, "/verify/unknown-token", "vi")
    assert page.status_code == 404


def test_list_filtered_by_unknown_unit_is_404(w):
    w.refused_as(w.viewer, lambda api: api.get("/api/v1/dossiers?unit=no-such-unit"), 404, "not_found")


@pytest.mark.parametrize("accept_language, lang", [
    (None, "vi"), ("vi", "vi"), ("fr", "vi"), ("en", "en"), ("en-US,en;q=0.9", "en"),
    ("vi-VN,vi;q=0.9,en;q=0.8", "vi"),
    ("vi-VN,en;q=0.5", "vi"),
])
def test_error_language_negotiation(w, app, accept_language, lang):
    token = w.viewer.vi.token
    headers = {"Authorization": f"Bearer {token}"}
    if accept_language is not None:
        headers["Accept-Language"] = accept_language
    r = app.test_client().get("/api/v1/dossiers/987654", headers=headers)
    error_of(r, 404, "not_found", lang)


# =========================================================================== 409

@pytest.mark.parametrize("state, who, event", [
    ("draft", "approver", "recognize"),
    ("ready", "appraiser", "appraise"),
    ("ready", "approver", "reject"),
    ("submitted", "submitter", "submit"),
    ("submitted_passed", "approver", "recognize"),
    ("appraised", "appraiser", "appraise"),
    ("appraised", "approver", "revoke"),
    ("rejected", "approver", "recognize"),
    ("rejected", "submitter", "submit"),
])
def test_event_not_available_in_this_state_is_409(w, state, who, event):
    did = w.village(state)
    w.refused_as(getattr(w, who), lambda api: fire(api, did, event, "lý do"), 409, "not_available", watch=did)


def test_actions_not_available_in_this_state_are_409(w):
    did = w.village("submitted")
    w.refused_as(w.preparer, lambda api: upload(api, did, "1"), 409, "not_available", watch=did)
    w.refused_as(w.preparer, lambda api: api.put(f"/api/v1/dossiers/{did}/criteria/1", json={"self_assessment": "met"}),
                 409, "not_available", watch=did)
    draft = w.village("draft", unit="na-tam-05")
    w.refused_as(w.appraiser, lambda api: api.post(f"/api/v1/dossiers/{draft}/criteria/1/appraisal",
                                                   json={"verdict": "pass"}), 409, "not_available", watch=draft)
    town = w.town("submitted", vote=None)
    w.refused_as(w.town_preparer, lambda api: api.put(f"/api/v1/dossiers/{town}/fields",
                                                      json={"resident_satisfaction_pct": 99}), 409, "not_available",
                 watch=town)


def test_stale_version_is_409(w):
    did = w.village("ready")
    version = w.snapshot(did)["version"]
    for stale in (version - 1, version + 1, 0):
        w.refused_as(w.submitter, lambda api, stale=stale: fire(api, did, "submit", version=stale),
                     409, "stale_version", watch=did)
        w.refused_as(w.submitter, lambda api, stale=stale: api.put(f"/api/v1/dossiers/{did}/criteria/1", json={
            "self_assessment": "met", "note": "x", "version": stale}),
                     409, "stale_version", watch=did)
    r = fire(w.submitter.vi, did, "submit", version=version)
    assert r.status_code == 200 and r.json["state"] == "submitted" and r.json["version"] > version
    w.refused_as(w.appraiser, lambda api: api.post(f"/api/v1/dossiers/{did}/criteria/1/appraisal",
                                                   json={"verdict": "pass", "version": version}),
                 409, "stale_version", watch=did)


def test_second_open_dossier_for_same_kind_unit_year_is_409(w):
    body = {"kind": "village_ntm", "unit": "na-tam-03", "year": YEAR}
    first = w.preparer.vi.post("/api/v1/dossiers", json=body)
    assert first.status_code == 201, first.json
    seq = int(first.json["code"].rsplit("-", 1)[1])
    for person in (w.preparer, w.submitter):
        vi, en = w.refused_as(person, lambda api: api.post("/api/v1/dossiers", json=body), 409, "conflict",
                              watch=first.json["id"])
        assert str(YEAR) in vi["message"] and str(YEAR) in en["message"]
    # Another year is a different slot; the refusals consumed no dossier number.
    other = w.preparer.vi.post("/api/v1/dossiers", json={**body, "year": YEAR - 1})
    assert other.status_code == 201 and int(other.json["code"].rsplit("-", 1)[1]) == seq + 1


@pytest.mark.parametrize("close_by", ["reject", "revoke"])
def test_after_the_open_dossier_closes_a_new_one_may_be_created(w, close_by):
    body = {"kind": "village_ntm", "unit": "na-tam-03", "year": YEAR}
    first = w.village("submitted" if close_by == "reject" else "recognized")
    r = fire(w.approver.vi, first, close_by, "Chưa đạt tiêu chí 7")
    assert r.status_code == 200 and r.json["state"] == {"reject": "rejected", "revoke": "revoked"}[close_by]
    again = w.preparer.vi.post("/api/v1/dossiers", json=body)
    assert again.status_code == 201, again.json
    assert again.json["id"] != first and again.json["state"] == "draft" and again.json["version"] == 1


# =========================================================================== 413

def test_upload_larger_than_evidence_max_bytes_is_413(w, app):
    app.config["EVIDENCE_MAX_BYTES"] = 1024
    did = w.village("draft")
    big = make_pdf(size=1025)
    vi, en = w.refused_as(w.preparer, lambda api: upload(api, did, "1", content=big, name="qua-lon.pdf"),
                          413, "file_too_large", watch=did)
    assert "qua-lon.pdf" in vi["message"] and "qua-lon.pdf" in en["message"]
    exact = make_pdf(size=1024)
    assert upload(w.preparer.vi, did, "1", content=exact).status_code == 201  # the limit itself is allowed


def test_file_too_large_message_states_a_real_limit(w, app):
    app.config["EVIDENCE_MAX_BYTES"] = 1024
    did = w.village("draft")
    r = upload(w.preparer.en, did, "1", content=make_pdf(size=len(PDF) + 2048))
    assert r.status_code == 413
    assert not re.search(r"\b0 MB\b", r.json["error"]["message"]), r.json["error"]["message"]


@pytest.mark.parametrize("target", ["upload", "fields", "event", "create"])
def test_request_larger_than_max_content_length_is_413_json(w, app, target):
    did = None if target == "create" else w.village("draft")
    app.config["MAX_CONTENT_LENGTH"] = 4096
    filler = "x" * 8000

    def send(api):
        if target == "upload":
            return upload(api, did, "1", content=make_pdf(size=len(PDF) + 8000))
        if target == "fields":
            return api.put(f"/api/v1/dossiers/{did}/fields", json={"request_ref": filler})
        if target == "event":
            return api.post(f"/api/v1/dossiers/{did}/events", json={"event": "submit", "comment": filler})
        return api.post("/api/v1/dossiers",
                        json={"kind": "village_ntm", "unit": "na-tam-03", "year": YEAR, "x": filler})
    w.refused_as(w.submitter, send, 413, "file_too_large", watch=did)


# =========================================================================== 415

@pytest.mark.parametrize("name, content", [
    ("setup.exe", EXE),
    ("setup.exe", PDF),                     # PDF bytes do not make an .exe acceptable
    ("bao-cao.pdf", EXE),                   # renamed executable
    ("bao-cao.pdf", b"just some text, not a PDF"),
    ("BAO-CAO.PDF", b"<html>not a pdf</html>"),
    ("anh.png", PDF),
    ("bien-ban.docx", PDF),
    ("khong-duoi", PDF),
    ("bao-cao.pdf.exe", EXE),
])
def test_file_type_not_accepted_is_415(w, name, content):
    did = w.village("draft")
    vi, en = w.refused_as(w.preparer, lambda api: upload(api, did, "1", content=content, name=name),
                          415, "unsupported_file_type", watch=did)
    assert name in vi["message"] and "PDF" in en["message"]


# =========================================================================== 422

@pytest.mark.parametrize("missing", ["evidence", "self_assessment"])
def test_submit_with_criterion_7_not_ready_is_422_naming_it(w, missing):
    did = w.village("ready", no_evidence=("7",) if missing == "evidence" else (),
                    not_met=("7",) if missing == "self_assessment" else ())
    vi, en = w.refused_as(w.submitter, lambda api: fire(api, did, "submit"), 422, "guard_failed", watch=did)
    assert "tiêu chí 7" in vi["message"].lower() and "criterion 7" in en["message"].lower()
    assert "tiêu chí 6" not in vi["message"].lower()  # only what is missing


def test_submit_of_an_empty_draft_names_every_criterion(w):
    did = w.village("draft")
    vi, _ = w.refused_as(w.submitter, lambda api: fire(api, did, "submit"), 422, "guard_failed", watch=did)
    for code in ("1", "7", "14"):
        assert f"tiêu chí {code} " in vi["message"].lower()


@pytest.mark.parametrize("verdict", [None, "fail"])
def test_appraise_with_criterion_7_not_passed_is_422_naming_it(w, verdict):
    did = w.village("submitted_passed", not_passed=("7",))
    if verdict == "fail":
        appraise_criterion(w.appraiser.user, w.dossier(did), "7", "fail", "Thiếu danh sách lao động")
        db.session.commit()
    vi, en = w.refused_as(w.appraiser, lambda api: fire(api, did, "appraise"), 422, "guard_failed", watch=did)
    assert "tiêu chí 7" in vi["message"].lower() and "criterion 7" in en["message"].lower()
    assert "tiêu chí 6" not in vi["message"].lower()


def test_failing_verdict_without_a_note_is_422(w):
    did = w.village("submitted")
    w.refused_as(w.appraiser, lambda api: api.post(f"/api/v1/dossiers/{did}/criteria/7/appraisal",
                                                   json={"verdict": "fail", "note": "  "}), 422, "rule_refused",
                 watch=did)


@pytest.mark.parametrize("state, who, event", [
    ("submitted", "appraiser", "return"),
    ("appraised", "approver", "return"),
    ("submitted", "approver", "reject"),
    ("appraised", "approver", "reject"),
])
def test_return_or_reject_without_comment_is_422(w, state, who, event):
    did = w.village(state)
    for comment in (None, "", "   "):
        w.refused_as(getattr(w, who), lambda api, comment=comment: fire(api, did, event, comment),
                     422, "rule_refused", watch=did)


def test_revoke_without_comment_is_422(w):
    did = w.village("recognized")
    for comment in (None, "", " \n "):
        w.refused_as(w.approver, lambda api, comment=comment: fire(api, did, "revoke", comment),
                     422, "rule_refused", watch=did)
    assert fire(w.approver.vi, did, "revoke", "Không còn đạt").json["state"] == "revoked"


@pytest.mark.parametrize("code", ["99", "7a"])
def test_unknown_criterion_code_is_422(w, code):
    draft = w.village("draft")
    w.refused_as(w.preparer, lambda api: api.put(f"/api/v1/dossiers/{draft}/criteria/{code}",
                                                 json={"self_assessment": "met"}), 422, "rule_refused", watch=draft)
    w.refused_as(w.preparer, lambda api: upload(api, draft, code), 422, "rule_refused", watch=draft)
    submitted = w.village("submitted", unit="na-tam-06")
    w.refused_as(w.appraiser, lambda api: api.post(f"/api/v1/dossiers/{submitted}/criteria/{code}/appraisal",
                                                   json={"verdict": "pass"}), 422, "rule_refused", watch=submitted)


@pytest.mark.parametrize("event", ["approve", "publish", "SUBMIT", "", "create", "self_assess"])
def test_unknown_event_name_is_422(w, event):
    did = w.village("ready")
    w.refused_as(w.submitter, lambda api: fire(api, did, event), 422, "rule_refused", watch=did)


@pytest.mark.parametrize("body", [
    {"kind": "model_village", "unit": "na-tam-03", "year": YEAR},       # unknown kind
    {"kind": "", "unit": "na-tam-03", "year": YEAR},
    {"kind": "village_ntm", "unit": "na-tam", "year": YEAR},            # a commune for village_ntm
    {"kind": "village_ntm", "unit": "tam-duong", "year": YEAR},
    {"kind": "village_ntm", "unit": "tt-tam-duong", "year": YEAR},
    {"kind": "town_civilized", "unit": "na-tam-03", "year": YEAR},
    {"kind": "village_ntm", "unit": "na-tam-03", "year": 2019},         # years 2020 .. next year
    {"kind": "village_ntm", "unit": "na-tam-03", "year": YEAR + 2},
    {"kind": "village_ntm", "unit": "na-tam-03", "year": -1},
])
def test_create_refused_by_the_rules_is_422(w, body):
    w.refused_as(w.submitter, lambda api: api.post("/api/v1/dossiers", json=body), 422, "rule_refused")


@pytest.mark.parametrize("year", [2020, YEAR + 1])
def test_create_at_the_year_bounds_is_201(w, year):
    r = w.submitter.vi.post("/api/v1/dossiers", json={"kind": "village_ntm", "unit": "na-tam-03", "year": year})
    assert r.status_code == 201, r.json


@pytest.mark.parametrize("body", [
    {"resident_satisfaction_pct": 95},               # a town field on a village dossier
    {"bogus": 1},
    {"request_ref": "TTr 12", "bogus": 1},           # all or nothing
])
def test_field_not_declared_for_the_kind_is_422(w, body):
    did = w.village("draft")
    w.refused_as(w.submitter, lambda api: api.put(f"/api/v1/dossiers/{did}/fields", json=body),
                 422, "rule_refused", watch=did)


@pytest.mark.parametrize("body", [
    {"resident_satisfaction_pct": 150}, {"resident_satisfaction_pct": -1},
    {"resident_satisfaction_pct": 95, "bogus": 1},  # the valid part is not kept either
])
def test_town_field_out_of_range_or_undeclared_is_422(w, body):
    did = w.town("ready", satisfaction=91)
    w.refused_as(w.town_preparer, lambda api: api.put(f"/api/v1/dossiers/{did}/fields", json=body),
                 422, "rule_refused", watch=did)
    assert w.snapshot(did)["fields"]["resident_satisfaction_pct"] == 91


@pytest.mark.parametrize("satisfaction", [None, 85, 89.9])
def test_town_submit_with_satisfaction_below_90_is_422(w, satisfaction):
    did = w.town("ready", satisfaction=satisfaction)
    vi, en = w.refused_as(w.town_submitter, lambda api: fire(api, did, "submit"), 422, "guard_failed", watch=did)
    assert "resident_satisfaction_pct" in vi["message"] and "90" in en["message"]


@pytest.mark.parametrize("vote, shows", [
    ((10, 6, 6), "6/10"),     # no quorum
    ((10, 8, 4), "4/8"),      # no majority of those present
    ((10, 11, 5), None),      # inconsistent figures
    (None, None),             # no vote recorded
])
def test_town_appraise_without_council_quorum_or_majority_is_422(w, vote, shows):
    did = w.town("submitted", vote=vote)
    d = w.dossier(did)
    for code in [c.code for c in d.current_criteria()]:
        appraise_criterion(w.appraiser.user, d, code, "pass", None)
    db.session.commit()
    vi, en = w.refused_as(w.appraiser, lambda api: fire(api, did, "appraise"), 422, "guard_failed", watch=did)
    if shows:
        assert shows in vi["message"] and shows in en["message"]


def test_empty_file_is_422(w):
    did = w.village("draft")
    w.refused_as(w.preparer, lambda api: upload(api, did, "1", content=b""), 422, "rule_refused", watch=did)


# =========================================================================== lists

SUMMARY_KEYS = {"id", "code", "kind", "unit", "year", "state"}


def _list(api, query: str = ""):
    r = api.get(f"/api/v1/dossiers{'?' + query if query else ''}")
    assert r.status_code == 200, r.json
    assert {"items", "page", "pages", "total", "next"} <= set(r.json)
    for item in r.json["items"]:
        assert SUMMARY_KEYS <= set(item) and {"code", "name"} <= set(item["unit"])
    return r.json


def test_list_shape_visibility_and_filters(w):
    a = w.village("draft", unit="na-tam-01")
    b = w.village("submitted", unit="na-tam-02")
    c = w.village("draft", unit="na-tam-03", year=YEAR - 1)
    t = w.town("draft")
    gm = create_dossier(w.gm_submitter.user, "village_ntm", "giang-ma-01", YEAR).id
    db.session.commit()

    everything = _list(w.viewer.vi)
    assert everything["page"] == 1 and everything["pages"] == 1 and everything["next"] is None
    assert everything["total"] == 5 and {i["id"] for i in everything["items"]} == {a, b, c, t, gm}
    item = next(i for i in everything["items"] if i["id"] == b)
    assert item["kind"] == "village_ntm" and item["unit"]["code"] == "na-tam-02" and item["state"] == "submitted"
    assert item["year"] == YEAR and item["code"].startswith("TD-")

    def ids(api, query):
        page = _list(api, query)
        assert page["total"] == len(page["items"])
        return {i["id"] for i in page["items"]}

    # Another commune sees only its own, whatever it asks for.
    assert ids(w.gm_submitter.vi, "") == {gm}
    assert ids(w.gm_submitter.vi, "unit=na-tam") == set()
    assert ids(w.gm_submitter.vi, "state=submitted") == set()
    assert ids(w.submitter.vi, "") == {a, b, c}
    assert ids(w.preparer.vi, "") == {c}
    assert ids(w.town_preparer.vi, "") == {t}

    assert ids(w.viewer.vi, "kind=town_civilized") == {t}
    assert ids(w.viewer.vi, "kind=village_ntm") == {a, b, c, gm}
    assert ids(w.viewer.vi, "state=submitted") == {b}
    assert ids(w.viewer.vi, "state=draft") == {a, c, t, gm}
    assert ids(w.viewer.vi, "unit=na-tam") == {a, b, c}
    assert ids(w.viewer.vi, "unit=na-tam-03") == {c}
    assert ids(w.viewer.vi, f"year={YEAR - 1}") == {c}
    assert ids(w.viewer.vi, f"kind=village_ntm&unit=na-tam&year={YEAR}&state=draft") == {a}
    assert ids(w.viewer.vi, "kind=no_such_kind") == set()


def test_list_pagination(w):
    villages = [f"na-tam-{n:02d}" for n in range(1, 10)]
    made = []
    for year in (YEAR - 2, YEAR - 1, YEAR):
        for unit in villages:
            if len(made) < 23:
                made.append(create_dossier(w.submitter.user, "village_ntm", unit, year).id)
    db.session.commit()
    gm = create_dossier(w.gm_submitter.user, "village_ntm", "giang-ma-01", YEAR).id
    db.session.commit()

    first = _list(w.submitter.vi, "kind=village_ntm")
    assert first["total"] == 23 and first["pages"] == 2 and first["page"] == 1 and len(first["items"]) == 20
    assert first["next"]
    parts = urlsplit(first["next"])
    query = parse_qs(parts.query)
    assert parts.path == "/api/v1/dossiers" and query["page"] == ["2"] and query["kind"] == ["village_ntm"]

    second = _list(w.submitter.vi, parts.query)
    assert second["page"] == 2 and second["pages"] == 2 and second["total"] == 23
    assert len(second["items"]) == 3 and second["next"] is None
    ids1, ids2 = [i["id"] for i in first["items"]], [i["id"] for i in second["items"]]
    assert set(ids1).isdisjoint(ids2) and set(ids1) | set(ids2) == set(made) and gm not in ids1 + ids2
    assert ids1 + ids2 == sorted(made, reverse=True)  # newest first, no gaps or repeats

    same = _list(w.submitter.vi, "kind=village_ntm&page=2")
    assert [i["id"] for i in same["items"]] == ids2
    beyond = _list(w.submitter.vi, "page=3")
    assert beyond["items"] == [] and beyond["next"] is None

    viewer = _list(w.viewer.vi)
    assert viewer["total"] == 24 and viewer["pages"] == 2


def test_the_api_answers_bearer_tokens_without_csrf_tokens(app, make_user, api_as):
    """Pages need the CSRF token; the API (no cookies, a Bearer token) does not."""
    app.config["WTF_CSRF_ENABLED"] = True
    preparer = api_as(make_user("preparer", "na-tam-03"))
    r = preparer.post("/api/v1/dossiers", json={"kind": "village_ntm", "unit": "na-tam-03", "year": frozen_clock.YEAR})
    assert r.status_code == 201, r.json
    assert app.test_client().post("/logout").status_code == 400  # a page's form without its token
