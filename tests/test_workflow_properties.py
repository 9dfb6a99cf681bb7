"""Stateful property test of the workflow services (not the HTTP API).

A Hypothesis RuleBasedStateMachine drives the real services against fresh
tables per run (its own app, SQLite file and storage folder) with random actors - including people of other units and of
the wrong level - on a few dossiers (village_ntm for Nà Tăm / Giang Ma villages
and town_civilized for tt-tam-duong). A small independent model, written from
CONTRACT.md and states/*.yaml, predicts the outcome of every call (success or
the exact DomainError class) and the resulting state of every dossier; after
every step the database is checked against the model and against the
invariants: one transition audit record per event fired, states of the
definition only, a numbered decision for every recognized/revoked dossier,
gap-free decision numbers, no success by an actor outside the applicant's
subtree or at the wrong level, separation of duties, and an intact audit chain.

Runs on SQLite by default and on PostgreSQL when TEST_DATABASE_URL is set.
"""
from __future__ import annotations

import copy
import shutil
import tempfile
from dataclasses import dataclass, field

import pytest
from helpers import PDF, dispose_engines
from hypothesis import HealthCheck, event, settings, strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from workflow_app.app import create_app
from workflow_app.clock import local_now
from workflow_app.extensions import db
from workflow_app.models import (
    Attachment,
    AuditRecord,
    Decision,
    Dossier,
    Unit,
    User,
    decision_dossiers,
)
from workflow_app.services import (
    appraise_criterion,
    attach_evidence,
    create_dossier,
    fire_event,
    self_assess,
    set_fields,
)
from workflow_app.services.core.audit import verify_chains
from workflow_app.services.core.reference import load_units
from workflow_app.services.core.users import create_user
from workflow_app.workflow.errors import (
    BadRequest,
    Conflict,
    DomainError,
    EventNotAvailable,
    GuardFailed,
    NotPermitted,
    RuleRefused,
    StaleVersion,
    UnsupportedFileType,
)

pytestmark = pytest.mark.db

# --------------------------------------------------------------------------
# The expected rules, written down independently of the code under test.
# --------------------------------------------------------------------------

PARENT = {
    "lai-chau": None, "tam-duong": "lai-chau", "na-tam": "tam-duong", "giang-ma": "tam-duong",
    "tt-tam-duong": "tam-duong", "na-tam-01": "na-tam", "na-tam-02": "na-tam", "giang-ma-01": "giang-ma",
}
LEVEL = {
    "lai-chau": "province", "tam-duong": "district", "na-tam": "commune", "giang-ma": "commune",
    "tt-tam-duong": "town", "na-tam-01": "village", "na-tam-02": "village", "giang-ma-01": "village",
}
APPLICANT_LEVEL = {"village_ntm": "village", "town_civilized": "town"}
STATES = {"draft", "submitted", "returned", "appraised", "recognized", "rejected", "revoked"}
CLOSED = {"rejected", "revoked"}


def covers(unit: str, applicant: str) -> bool:
    """A role at `unit` covers the applicant when the applicant is in its subtree."""
    u: str | None = applicant
    while u is not None:
        if u == unit:
            return True
        u = PARENT[u]
    return False


# Who may act (role, level), from CONTRACT.md "Roles" and the `by:` lists of states/*.yaml.
LOCAL_V = frozenset({("preparer", "village"), ("preparer", "commune"), ("submitter", "commune")})
LOCAL_T = frozenset({("preparer", "town"), ("submitter", "town")})
APPRAISER = frozenset({("appraiser", "district")})
APPROVER = frozenset({("approver", "district")})
_COMMON = {"appraise_criterion": APPRAISER, "return": APPRAISER | APPROVER, "appraise": APPRAISER,
           "reject": APPROVER, "recognize": APPROVER, "revoke": APPROVER}
WHO = {
    "village_ntm": {"create": LOCAL_V, "self_assess": LOCAL_V, "attach": LOCAL_V,
                    "submit": frozenset({("submitter", "commune")}), **_COMMON},
    "town_civilized": {"create": LOCAL_T, "self_assess": LOCAL_T, "attach": LOCAL_T,
                       "submit": frozenset({("submitter", "town")}), **_COMMON},
}
# Whoever submitted a dossier may not do these on it (separation of duties).
NOT_BY_SUBMITTER = {"appraise_criterion", "appraise", "recognize"}
# event -> (from states, to state, comment required)
EVENTS = {
    "submit": ({"draft", "returned"}, "submitted", False),
    "return": ({"submitted", "appraised"}, "returned", True),
    "appraise": ({"submitted"}, "appraised", False),
    "reject": ({"submitted", "appraised"}, "rejected", True),
    "recognize": ({"appraised"}, "recognized", False),
    "revoke": ({"recognized"}, "revoked", True),
}
EVENT_NAMES = [*EVENTS, "publish"]  # "publish" is no event of any definition


@dataclass(frozen=True)
class FieldRule:
    type: str
    lo: float | None
    hi: float | None
    max_length: int | None
    states: frozenset
    by: frozenset


_DR = frozenset({"draft", "returned"})
FIELDS = {
    "village_ntm": {
        "request_ref": FieldRule("string", None, None, 200, _DR, frozenset({("submitter", "commune")})),
    },
    "town_civilized": {
        "resident_satisfaction_pct": FieldRule("number", 0, 100, None, _DR, LOCAL_T),
        "request_ref": FieldRule("string", None, None, 200, _DR, frozenset({("submitter", "town")})),
        "council_members": FieldRule("integer", 1, 100, None, frozenset({"submitted"}), APPRAISER),
        "council_present": FieldRule("integer", 0, 100, None, frozenset({"submitted"}), APPRAISER),
        "council_in_favour": FieldRule("integer", 0, 100, None, frozenset({"submitted"}), APPRAISER),
    },
}
COUNCIL_OK = {"council_members": 10, "council_present": 8, "council_in_favour": 7}
FIELD_VALUES = {
    "village_ntm": [
        {"request_ref": "Tờ trình số 12/TTr-UBND ngày 02/9/2024"},
        {"request_ref": "x" * 201},
        {"request_ref": 12},
        {"resident_satisfaction_pct": 95},
        {},
    ],
    "town_civilized": [
        {"resident_satisfaction_pct": 92.5},
        {"resident_satisfaction_pct": 85},
        {"resident_satisfaction_pct": 101},
        {"resident_satisfaction_pct": True},
        {"request_ref": "Tờ trình số 7/TTr-UBND"},
        COUNCIL_OK,
        {"council_members": 10, "council_present": 6, "council_in_favour": 6},
        {"council_members": 10, "council_present": 8, "council_in_favour": 4},
        {"council_members": 5, "council_present": 8, "council_in_favour": 7},
        {"council_present": 8.5},
        {"resident_satisfaction_pct": 95, "council_members": 10},
        {"no_such_field": 1},
    ],
}

# (filename, bytes, refusal the model expects from the file itself)
FILES = [
    ("minh-chung.pdf", PDF, None),
    ("C:\\Tai lieu\\bien-ban.pdf", PDF, None),
    ("   ", PDF, RuleRefused),
    ("rong.pdf", b"", RuleRefused),
    ("virus.exe", b"MZ\x90\x00\x03", UnsupportedFileType),
    ("gia-mao.pdf", b"PK\x03\x04not a pdf", UnsupportedFileType),
]

# Users: key -> roles (role, unit). Created through services.core.users.create_user,
# one call per role, so "dual" is one user holding three roles.
ACTORS = {
    "prep_v1": [("preparer", "na-tam-01")],
    "prep_v2": [("preparer", "na-tam-02")],             # another village of the same commune
    "prep_nt": [("preparer", "na-tam")],
    "sub_nt": [("submitter", "na-tam")],
    "sub_gm": [("submitter", "giang-ma")],              # another commune
    "dual": [("submitter", "na-tam"), ("appraiser", "tam-duong"), ("approver", "tam-duong")],
    "appr": [("appraiser", "tam-duong")],
    "appr_prov": [("appraiser", "lai-chau")],           # province: the wrong level
    "apv": [("approver", "tam-duong")],
    "apv_prov": [("approver", "lai-chau")],             # province: the wrong level
    "viewer": [("viewer", "tam-duong")],
    "admin": [("admin", "tam-duong")],
    "town_prep": [("preparer", "tt-tam-duong")],
    "town_sub": [("submitter", "tt-tam-duong")],
    "retired": [("approver", "tam-duong")],             # deactivated account
}
INACTIVE = {"retired"}
ACTOR_KEYS = sorted(ACTORS)

CREATE_TARGETS = [
    ("village_ntm", "na-tam-01"), ("village_ntm", "na-tam-02"), ("village_ntm", "giang-ma-01"),
    ("town_civilized", "tt-tam-duong"),
    ("village_ntm", "na-tam"),             # a commune is not an applicant of this kind
    ("town_civilized", "na-tam-01"),       # a village is not a town
]
COMMENTS = [None, "", "   ", "Bổ sung biên bản họp dân và minh chứng tiêu chí 7", "Hồ sơ chưa đạt yêu cầu"]


def qualifies(actor: str, by: frozenset, applicant: str) -> bool:
    """Role at the right level at a unit whose subtree holds the applicant."""
    if actor in INACTIVE:
        return False
    return any((role, LEVEL[unit]) in by and covers(unit, applicant) for role, unit in ACTORS[actor])


# --------------------------------------------------------------------------
# The model.
# --------------------------------------------------------------------------

class Expected(Exception):
    """Raised by the model: the service should refuse with exactly `cls`."""

    def __init__(self, cls: type[DomainError]):
        super().__init__(cls.__name__)
        self.cls = cls


@dataclass
class DossierModel:
    id: int
    kind: str
    unit: str
    year: int
    codes: tuple[str, ...]
    state: str = "draft"
    version: int = 1
    round: int = 1
    sa: dict = field(default_factory=dict)
    verdict: dict = field(default_factory=dict)
    verdict_by: dict = field(default_factory=dict)     # who gave each standing verdict
    evidence: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)
    submitters: set = field(default_factory=set)
    transitions: list = field(default_factory=list)   # [(event, from, to)]
    audit: int = 1                                     # the "create" record
    decision: int | None = None
    decision_status: str | None = None


@dataclass
class Model:
    dossiers: dict[int, DossierModel] = field(default_factory=dict)
    recognitions: int = 0  # numbers issued by the district: recognitions and revocations
    unauthorized_attempts: int = 0
    unauthorized_successes: list = field(default_factory=list)


def m_capacity(actor: str, dm: DossierModel, what: str) -> None:
    if not qualifies(actor, WHO[dm.kind][what], dm.unit):
        raise Expected(NotPermitted)
    if what in NOT_BY_SUBMITTER and actor in dm.submitters:
        raise Expected(NotPermitted)


def m_version(dm: DossierModel, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != dm.version:
        raise Expected(StaleVersion)


def m_changed(dm: DossierModel) -> None:
    dm.version += 1
    dm.audit += 1


def m_self_assess(actor, dm, code, assessment, ev=None):
    if assessment not in ("met", "not_met"):
        raise Expected(BadRequest)
    m_capacity(actor, dm, "self_assess")
    m_version(dm, ev)
    if dm.state not in ("draft", "returned"):
        raise Expected(EventNotAvailable)
    if code not in dm.codes:
        raise Expected(RuleRefused)
    if dm.sa[code] != assessment:
        dm.verdict[code] = None   # a changed claim must be appraised again
    dm.sa[code] = assessment
    m_changed(dm)


def m_attach(actor, dm, file_refusal, code, ev=None):
    m_capacity(actor, dm, "attach")
    m_version(dm, ev)
    if dm.state not in ("draft", "returned"):
        raise Expected(EventNotAvailable)
    if file_refusal is not None:
        raise Expected(file_refusal)
    if code is not None:
        if code not in dm.codes:
            raise Expected(RuleRefused)
        dm.evidence[code] += 1
        dm.verdict[code] = None   # new evidence reopens the appraisal
    m_changed(dm)


def m_appraise(actor, dm, code, verdict, note, ev=None):
    if verdict not in ("pass", "fail"):
        raise Expected(BadRequest)
    m_capacity(actor, dm, "appraise_criterion")
    m_version(dm, ev)
    if dm.state != "submitted":
        raise Expected(EventNotAvailable)
    if code not in dm.codes:
        raise Expected(RuleRefused)
    if verdict == "fail" and not (note or "").strip():
        raise Expected(RuleRefused)
    dm.verdict[code] = verdict
    dm.verdict_by[code] = actor
    m_changed(dm)


def m_coerce(rule: FieldRule, value):
    if value is None:
        return None
    if rule.type == "string":
        if not isinstance(value, str):
            raise Expected(BadRequest)
        if rule.max_length and len(value) > rule.max_length:
            raise Expected(RuleRefused)
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Expected(BadRequest)
    if rule.type == "integer" and int(value) != value:
        raise Expected(BadRequest)
    value = int(value) if rule.type == "integer" else float(value)
    if (rule.lo is not None and value < rule.lo) or (rule.hi is not None and value > rule.hi):
        raise Expected(RuleRefused)
    return value


def m_set_fields(actor, dm, values, ev=None):
    if not values:
        raise Expected(BadRequest)
    new = dict(dm.fields)
    for name, value in values.items():
        rule_ = FIELDS[dm.kind].get(name)
        if rule_ is None:
            raise Expected(RuleRefused)
        if not qualifies(actor, rule_.by, dm.unit):
            raise Expected(NotPermitted)
        if dm.state not in rule_.states:
            raise Expected(EventNotAvailable)
        new[name] = m_coerce(rule_, value)
    m_version(dm, ev)
    dm.fields = new
    m_changed(dm)


def council_passes(f: dict) -> bool:
    members, present, favour = f.get("council_members"), f.get("council_present"), f.get("council_in_favour")
    if members is None or present is None or favour is None:
        return False
    if present > members or favour > present:
        return False
    if present < 0.7 * members:
        return False
    return favour * 2 > present


def ready_to_submit(dm: DossierModel) -> bool:
    return all(dm.sa[c] == "met" and dm.evidence[c] > 0 for c in dm.codes)


def satisfaction_ok(dm: DossierModel) -> bool:
    value = dm.fields.get("resident_satisfaction_pct")
    return dm.kind != "town_civilized" or (value is not None and value >= 90)


def m_fire(actor, dm, name, comment, ev, model: Model):
    if name not in EVENTS:
        raise Expected(RuleRefused)
    m_capacity(actor, dm, name)
    m_version(dm, ev)
    sources, dest, needs_comment = EVENTS[name]
    if dm.state not in sources:
        raise Expected(EventNotAvailable)
    if needs_comment and not (comment or "").strip():
        raise Expected(RuleRefused)
    if name == "submit" and not (ready_to_submit(dm) and satisfaction_ok(dm)):
        raise Expected(GuardFailed)
    if name == "appraise":
        if any(dm.verdict[c] != "pass" for c in dm.codes):
            raise Expected(GuardFailed)
        if dm.kind == "town_civilized" and not council_passes(dm.fields):
            raise Expected(GuardFailed)
    source = dm.state
    dm.state = dest
    if name == "submit":
        dm.submitters.add(actor)
        # Separation of duties: the submitter's own verdicts no longer stand.
        for c in dm.codes:
            if dm.verdict_by.get(c) == actor:
                dm.verdict[c], dm.verdict_by[c] = None, None
    if name == "return":   # a new round: passes stay passed, the rest is appraised again
        dm.round += 1
        dm.verdict = {c: ("pass" if v == "pass" else None) for c, v in dm.verdict.items()}
    if name == "recognize":
        model.recognitions += 1
        dm.decision, dm.decision_status = model.recognitions, "valid"
    if name == "revoke":  # a revocation is a numbered decision of its own
        model.recognitions += 1
        dm.decision_status = "revoked"
    dm.transitions.append((name, source, dest))
    m_changed(dm)


# --------------------------------------------------------------------------
# The machine.
# --------------------------------------------------------------------------

class WorkflowMachine(RuleBasedStateMachine):
    database_url: str | None = None   # PostgreSQL database to reuse, else SQLite per run

    def __init__(self):
        super().__init__()
        self.model = Model()
        self.tmp = tempfile.mkdtemp(prefix="ntm-props-")
        url = self.database_url or f"sqlite:///{self.tmp}/test.db"
        self.app = create_app({
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "STORAGE_DIR": f"{self.tmp}/storage",
            "SIGNING_DIR": f"{self.tmp}/signing",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # passwords are not under test here
            "SECRET_KEY": "test-secret-key",
            "PUBLIC_BASE_URL": "http://ntm.test",
            "WTF_CSRF_ENABLED": False,
        })
        self.ctx = self.app.app_context()
        self.ctx.push()
        if self.database_url:
            db.drop_all()
        db.create_all()
        load_units()
        db.session.commit()
        self.user_ids: dict[str, int] = {}
        for key, roles in ACTORS.items():
            for role, unit in roles:
                user = create_user(key, "pw-123456", role, unit, name=f"Cán bộ {key}",
                                   capacity="vice_chairman" if role == "approver" else None)
            if key in INACTIVE:
                user.active = False
            db.session.commit()
            self.user_ids[key] = user.id
        engine = self.app.extensions["workflow_engine"]
        self.codes = {kind: tuple(c.code for c in engine.definition(kind).criteria) for kind in APPLICANT_LEVEL}
        self.states = {kind: set(engine.definition(kind).states) for kind in APPLICANT_LEVEL}
        self.this_year = local_now().year

    def teardown(self):
        db.session.remove()
        dispose_engines()
        self.ctx.pop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---------------------------------------------------------------- helpers

    def user(self, key: str) -> User:
        return db.session.get(User, self.user_ids[key])

    def dossier(self, dossier_id: int) -> Dossier:
        return db.session.get(Dossier, dossier_id)

    def draw_actor(self, data, candidates: list[str]) -> str:
        """Half the time someone the model says may act, else anyone at all."""
        if candidates:
            return data.draw(st.one_of(st.sampled_from(candidates), st.sampled_from(ACTOR_KEYS)), label="actor")
        return data.draw(st.sampled_from(ACTOR_KEYS), label="actor")

    def qualified(self, dm: DossierModel, by: frozenset) -> list[str]:
        return [a for a in ACTOR_KEYS if qualifies(a, by, dm.unit)]

    def draw_dossier(self, data) -> DossierModel:
        return self.model.dossiers[data.draw(st.sampled_from(sorted(self.model.dossiers)), label="dossier")]

    def draw_version(self, data, dm: DossierModel) -> int | None:
        mode = data.draw(st.sampled_from(["none", "none", "current", "stale"]), label="expected_version")
        return {"none": None, "current": dm.version, "stale": dm.version - 1}[mode]

    def snapshot(self, dossier_id: int | None):
        """What a refusal must leave untouched, read from the database."""
        counts = tuple(db.session.execute(select(func.count()).select_from(t)).scalar()
                       for t in (Dossier, AuditRecord, Decision, Attachment))
        if dossier_id is None:
            return counts
        row = db.session.execute(select(Dossier.state, Dossier.version, Dossier.round, Dossier.fields)
                                 .where(Dossier.id == dossier_id)).one()
        audit = db.session.execute(select(func.count()).select_from(AuditRecord)
                                   .where(AuditRecord.dossier_id == dossier_id)).scalar()
        return counts, tuple(row), audit

    def attempt(self, label: str, actor: str, dossier_id: int | None, authorized: bool, predict, call):
        """Predict with the model, call the service, commit or roll back, compare.
        Returns whether the call succeeded (its result is kept in last_result)."""
        model = copy.deepcopy(self.model)
        try:
            predict(model)
            expected = None
        except Expected as e:
            expected = e.cls
        if not authorized:
            self.model.unauthorized_attempts += 1
            model.unauthorized_attempts += 1
        before = self.snapshot(dossier_id)
        try:
            result = call()
        except DomainError as exc:
            db.session.rollback()
            after = self.snapshot(dossier_id)
            assert after == before, f"{label} by {actor}: the refusal changed the database: {before} -> {after}"
            event(f"{label}: refused {type(exc).__name__}" + ("" if authorized else " (unauthorized actor)"))
            assert type(exc) is expected, (
                f"{label} by {actor}: service refused with {type(exc).__name__} ({exc}); "
                f"model expected {expected.__name__ if expected else 'success'}")
            return False
        db.session.commit()
        event(f"{label}: ok")
        if not authorized:
            self.model.unauthorized_successes.append((label, actor, dossier_id))
            raise AssertionError(f"{label} by {actor} succeeded on dossier {dossier_id}, but the actor holds no "
                                 f"qualifying role at the right level over the applicant")
        assert expected is None, f"{label} by {actor}: service succeeded; model expected {expected.__name__}"
        self.model = model
        self.last_result = result
        return True

    # ------------------------------------------------------------- operations

    def op_create(self, actor, kind, unit, year):
        def predict(model):
            if LEVEL[unit] != APPLICANT_LEVEL[kind]:
                raise Expected(RuleRefused)
            if not 2020 <= year <= self.this_year + 1:
                raise Expected(RuleRefused)
            if not qualifies(actor, WHO[kind]["create"], unit):
                raise Expected(NotPermitted)
            if any((d.kind, d.unit, d.year) == (kind, unit, year) and d.state not in CLOSED
                   for d in model.dossiers.values()):
                raise Expected(Conflict)

        def call():
            return create_dossier(self.user(actor), kind, unit, year)

        authorized = qualifies(actor, WHO[kind]["create"], unit)
        if self.attempt("create", actor, None, authorized, predict, call):
            dossier = self.last_result
            codes = self.codes[kind]
            self.model.dossiers[dossier.id] = DossierModel(
                id=dossier.id, kind=kind, unit=unit, year=year, codes=codes,
                sa=dict.fromkeys(codes), verdict=dict.fromkeys(codes), evidence=dict.fromkeys(codes, 0))

    def op_self_assess(self, actor, dm, code, assessment, note, ev):
        return self.attempt(
            "self_assess", actor, dm.id, qualifies(actor, WHO[dm.kind]["self_assess"], dm.unit),
            lambda m: m_self_assess(actor, m.dossiers[dm.id], code, assessment, ev),
            lambda: self_assess(self.user(actor), self.dossier(dm.id), code, assessment, note, ev))

    def op_attach(self, actor, dm, file, code, ev):
        filename, data, refusal = file
        return self.attempt(
            "attach", actor, dm.id, qualifies(actor, WHO[dm.kind]["attach"], dm.unit),
            lambda m: m_attach(actor, m.dossiers[dm.id], refusal, code, ev),
            lambda: attach_evidence(self.user(actor), self.dossier(dm.id), filename, data, code, ev))

    def op_prepare_all(self, actor, dm):
        """Evidence and 'met' for every criterion, in one transaction."""
        def predict(m):
            for code in dm.codes:
                m_attach(actor, m.dossiers[dm.id], None, code)
                m_self_assess(actor, m.dossiers[dm.id], code, "met")

        def call():
            user, dossier = self.user(actor), self.dossier(dm.id)
            for code in dm.codes:
                attach_evidence(user, dossier, f"minh-chung-{code}.pdf", PDF, code)
                self_assess(user, dossier, code, "met", "Đạt theo báo cáo của bản")

        authorized = qualifies(actor, WHO[dm.kind]["attach"], dm.unit)
        return self.attempt("prepare_all", actor, dm.id, authorized, predict, call)

    def op_appraise(self, actor, dm, code, verdict, note, ev):
        return self.attempt(
            "appraise_criterion", actor, dm.id, qualifies(actor, WHO[dm.kind]["appraise_criterion"], dm.unit),
            lambda m: m_appraise(actor, m.dossiers[dm.id], code, verdict, note, ev),
            lambda: appraise_criterion(self.user(actor), self.dossier(dm.id), code, verdict, note, ev))

    def op_pass_all(self, actor, dm):
        def predict(m):
            for code in dm.codes:
                m_appraise(actor, m.dossiers[dm.id], code, "pass", None)

        def call():
            user, dossier = self.user(actor), self.dossier(dm.id)
            for code in dm.codes:
                appraise_criterion(user, dossier, code, "pass", None)

        authorized = qualifies(actor, WHO[dm.kind]["appraise_criterion"], dm.unit)
        return self.attempt("pass_all", actor, dm.id, authorized, predict, call)

    def op_set_fields(self, actor, dm, values, ev):
        authorized = all(qualifies(actor, FIELDS[dm.kind][n].by, dm.unit) for n in values if n in FIELDS[dm.kind])
        return self.attempt(
            "set_fields", actor, dm.id, authorized,
            lambda m: m_set_fields(actor, m.dossiers[dm.id], values, ev),
            lambda: set_fields(self.user(actor), self.dossier(dm.id), dict(values), ev))

    def op_fire(self, actor, dm, name, comment, ev):
        authorized = name in EVENTS and qualifies(actor, WHO[dm.kind][name], dm.unit)
        return self.attempt(
            f"fire {name}", actor, dm.id, authorized,
            lambda m: m_fire(actor, m.dossiers[dm.id], name, comment, ev, m),
            lambda: fire_event(self.user(actor), self.dossier(dm.id), name, comment, ev))

    # ------------------------------------------------------------------ rules

    @rule(data=st.data())
    def create(self, data):
        kind, unit = data.draw(st.sampled_from(CREATE_TARGETS), label="kind, unit")
        years = [self.this_year, self.this_year, self.this_year - 1, 2019, self.this_year + 2]
        year = data.draw(st.sampled_from(years), label="year")
        candidates = [a for a in ACTOR_KEYS if qualifies(a, WHO[kind]["create"], unit)]
        self.op_create(self.draw_actor(data, candidates), kind, unit, year)

    @precondition(lambda self: self.model.dossiers)
    @rule(data=st.data())
    def self_assess_one(self, data):
        dm = self.draw_dossier(data)
        actor = self.draw_actor(data, self.qualified(dm, WHO[dm.kind]["self_assess"]))
        code = data.draw(st.sampled_from([*dm.codes, "99"]), label="criterion")
        assessment = data.draw(st.sampled_from(["met", "met", "not_met", "maybe"]), label="self_assessment")
        note = data.draw(st.sampled_from([None, "Đã đạt"]), label="note")
        self.op_self_assess(actor, dm, code, assessment, note, self.draw_version(data, dm))

    @precondition(lambda self: self.model.dossiers)
    @rule(data=st.data())
    def attach_one(self, data):
        dm = self.draw_dossier(data)
        actor = self.draw_actor(data, self.qualified(dm, WHO[dm.kind]["attach"]))
        file = data.draw(st.sampled_from(FILES), label="file")
        code = data.draw(st.sampled_from([*dm.codes, None, "99"]), label="criterion")
        self.op_attach(actor, dm, file, code, self.draw_version(data, dm))

    @precondition(lambda self: self.model.dossiers)
    @rule(data=st.data())
    def prepare_all(self, data):
        dm = self.draw_dossier(data)
        self.op_prepare_all(self.draw_actor(data, self.qualified(dm, WHO[dm.kind]["attach"])), dm)

    @precondition(lambda self: self.model.dossiers)
    @rule(data=st.data())
    def set_some_fields(self, data):
        dm = self.draw_dossier(data)
        values = data.draw(st.sampled_from(FIELD_VALUES[dm.kind]), label="values")
        by = frozenset().union(*(FIELDS[dm.kind][n].by for n in values if n in FIELDS[dm.kind]))
        actor = self.draw_actor(data, self.qualified(dm, by))
        self.op_set_fields(actor, dm, values, self.draw_version(data, dm))

    @precondition(lambda self: self.model.dossiers)
    @rule(data=st.data())
    def appraise_one(self, data):
        dm = self.draw_dossier(data)
        actor = self.draw_actor(data, self.qualified(dm, APPRAISER))
        code = data.draw(st.sampled_from([*dm.codes, "99"]), label="criterion")
        verdict = data.draw(st.sampled_from(["pass", "pass", "fail", "maybe"]), label="verdict")
        note = data.draw(st.sampled_from([None, "  ", "Thiếu danh sách lao động"]), label="note")
        self.op_appraise(actor, dm, code, verdict, note, self.draw_version(data, dm))

    @precondition(lambda self: self.model.dossiers)
    @rule(data=st.data())
    def pass_all(self, data):
        dm = self.draw_dossier(data)
        self.op_pass_all(self.draw_actor(data, self.qualified(dm, APPRAISER)), dm)

    @precondition(lambda self: self.model.dossiers)
    @rule(data=st.data())
    def fire(self, data):
        dm = self.draw_dossier(data)
        possible = [e for e, (sources, _, _) in EVENTS.items() if dm.state in sources]
        names = st.sampled_from(EVENT_NAMES)
        name = data.draw(st.one_of(st.sampled_from(possible), names) if possible else names, label="event")
        actor = self.draw_actor(data, self.qualified(dm, WHO[dm.kind][name]) if name in EVENTS else [])
        comment = data.draw(st.sampled_from(COMMENTS), label="comment")
        self.op_fire(actor, dm, name, comment, self.draw_version(data, dm))

    @initialize(data=st.data())
    def first_dossier(self, data):
        kind, unit = data.draw(st.sampled_from(CREATE_TARGETS[:4]), label="kind, unit")
        candidates = [a for a in ACTOR_KEYS if qualifies(a, WHO[kind]["create"], unit)]
        self.op_create(data.draw(st.sampled_from(candidates), label="actor"), kind, unit, self.this_year)

    @precondition(lambda self: self.model.dossiers)
    @rule(data=st.data(), steps=st.sampled_from([2, 4, 8]))
    def drive(self, data, steps):
        """Take the next steps on the road to recognition, each by someone
        entitled to it (who may still be refused for separation of duties)."""
        dm = self.draw_dossier(data)
        for _ in range(steps):
            dm = self.model.dossiers[dm.id]
            if not self.drive_one(data, dm):
                break

    def drive_one(self, data, dm: DossierModel) -> bool:
        # Now and then a detour: a claim withdrawn, a criterion failed and the
        # dossier returned, a rejection.
        detour = data.draw(st.sampled_from([False, False, False, True]), label="detour")
        reason = "Bổ sung biên bản họp dân và minh chứng tiêu chí 7"
        if dm.state in ("draft", "returned"):
            local = WHO[dm.kind]["attach"]
            if detour:
                code = data.draw(st.sampled_from(dm.codes), label="criterion")
                if dm.state == "returned" and data.draw(st.booleans(), label="new evidence"):
                    return self.op_attach(self.draw_qualified(data, dm, local), dm, FILES[0], code, None)
                return self.op_self_assess(self.draw_qualified(data, dm, local), dm, code, "not_met", "Chưa đạt", None)
            if not ready_to_submit(dm):
                return self.op_prepare_all(self.draw_qualified(data, dm, local), dm)
            if not satisfaction_ok(dm):
                return self.op_set_fields(self.draw_qualified(data, dm, LOCAL_T), dm,
                                          {"resident_satisfaction_pct": 95}, None)
            return self.op_fire(self.draw_qualified(data, dm, WHO[dm.kind]["submit"]), dm, "submit", None, None)
        if dm.state == "submitted":
            if detour:
                code = data.draw(st.sampled_from(dm.codes), label="criterion")
                if data.draw(st.booleans(), label="reject"):
                    return self.op_fire(self.draw_qualified(data, dm, APPROVER), dm, "reject", reason, None)
                return (self.op_appraise(self.draw_qualified(data, dm, APPRAISER), dm, code, "fail", reason, None)
                        and self.op_fire(self.draw_qualified(data, dm, APPRAISER | APPROVER), dm, "return",
                                         reason, None))
            if any(dm.verdict[c] != "pass" for c in dm.codes):
                return self.op_pass_all(self.draw_qualified(data, dm, APPRAISER), dm)
            if dm.kind == "town_civilized" and not council_passes(dm.fields):
                return self.op_set_fields(self.draw_qualified(data, dm, APPRAISER), dm, COUNCIL_OK, None)
            return self.op_fire(self.draw_qualified(data, dm, APPRAISER), dm, "appraise", None, dm.version)
        if dm.state == "appraised":
            if detour:
                name = data.draw(st.sampled_from(["return", "reject"]), label="event")
                return self.op_fire(self.draw_qualified(data, dm, WHO[dm.kind][name]), dm, name, reason, None)
            return self.op_fire(self.draw_qualified(data, dm, APPROVER), dm, "recognize", None, None)
        if dm.state == "recognized":
            return self.op_fire(self.draw_qualified(data, dm, APPROVER), dm, "revoke",
                                "Tiêu chí môi trường không còn đạt", dm.version)
        return False

    def draw_qualified(self, data, dm, by) -> str:
        return data.draw(st.sampled_from(self.qualified(dm, by)), label="actor")

    # ------------------------------------------------------------- invariants

    @invariant()
    def no_unauthorized_success(self):
        assert self.model.unauthorized_successes == []

    @invariant()
    def dossiers_match_model(self):
        assert db.session.execute(select(func.count()).select_from(Dossier)).scalar() == len(self.model.dossiers)
        for dm in self.model.dossiers.values():
            d = self.dossier(dm.id)
            assert d.state in self.states[d.kind] and d.state in STATES, d.state
            assert (d.kind, d.unit.code, d.year) == (dm.kind, dm.unit, dm.year)
            assert (d.state, d.version, d.round) == (dm.state, dm.version, dm.round), \
                f"dossier {dm.id}: database {(d.state, d.version, d.round)} != model {(dm.state, dm.version, dm.round)}"
            entries = {e.code: (e.self_assessment, e.verdict) for e in d.current_criteria()}
            assert entries == {c: (dm.sa[c], dm.verdict[c]) for c in dm.codes}, f"dossier {dm.id} criteria"
            evidence = dict.fromkeys(dm.codes, 0)
            for a in d.attachments:
                if a.criterion_code:
                    evidence[a.criterion_code] += 1
            assert evidence == dm.evidence
            assert dict(d.fields or {}) == dm.fields
            assert (d.open_key is None) == (dm.state in CLOSED)

    @invariant()
    def one_transition_record_per_event(self):
        for dm in self.model.dossiers.values():
            rows = db.session.execute(
                select(AuditRecord.action, AuditRecord.from_state, AuditRecord.to_state)
                .where(AuditRecord.dossier_id == dm.id, AuditRecord.is_transition)
                .order_by(AuditRecord.seq)).all()
            assert [tuple(r) for r in rows] == [("create", None, "draft"), *dm.transitions]
            total = db.session.execute(select(func.count()).select_from(AuditRecord)
                                       .where(AuditRecord.dossier_id == dm.id)).scalar()
            assert total == dm.audit

    @invariant()
    def decisions_numbered_without_gaps(self):
        for dm in self.model.dossiers.values():
            rows = db.session.execute(
                select(Decision.number, Decision.status, Unit.code)
                .join(decision_dossiers, decision_dossiers.c.decision_id == Decision.id)
                .join(Unit, Unit.id == Decision.issuer_id)
                .where(decision_dossiers.c.dossier_id == dm.id, Decision.type == "recognition")).all()
            if dm.state in ("recognized", "revoked"):
                assert len(rows) == 1 and rows[0].number is not None, f"dossier {dm.id} ({dm.state}) has no decision"
                assert tuple(rows[0]) == (dm.decision, dm.decision_status, "tam-duong")
            else:
                assert rows == []
        numbers = db.session.execute(
            select(Decision.number).join(Unit, Unit.id == Decision.issuer_id)
            .where(Unit.code == "tam-duong", Decision.year == local_now().year)).scalars().all()
        assert sorted(numbers) == list(range(1, self.model.recognitions + 1)), numbers
        assert db.session.execute(select(func.count()).select_from(Decision)).scalar() == self.model.recognitions

    @invariant()
    def submitter_never_appraises_or_recognizes(self):
        rows = db.session.execute(select(AuditRecord.dossier_id, AuditRecord.action, AuditRecord.actor_id)
                                  .order_by(AuditRecord.dossier_id, AuditRecord.seq)).all()
        submitted_by: dict[int, set] = {}
        for dossier_id, action, actor_id in rows:
            if action == "submit":
                submitted_by.setdefault(dossier_id, set()).add(actor_id)
            elif action in NOT_BY_SUBMITTER:
                assert actor_id not in submitted_by.get(dossier_id, set()), \
                    f"dossier {dossier_id}: {action} by user {actor_id}, who submitted it"

    @invariant()
    def audit_chain_verifies(self):
        checked, broken = verify_chains()
        assert broken is None, broken
        assert checked == db.session.execute(select(func.count()).select_from(AuditRecord)).scalar()


SETTINGS = settings(max_examples=15, stateful_step_count=25, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


def test_workflow_services_state_machine(pg_database):
    # pg_database (conftest): one throw-away PostgreSQL database when
    # TEST_DATABASE_URL is set; every run of the machine drops and recreates its tables.
    WorkflowMachine.database_url = pg_database
    run_state_machine_as_test(WorkflowMachine, settings=SETTINGS)


def test_second_open_dossier_is_a_conflict(app, make_user):
    preparer = make_user("preparer", "na-tam-01")
    create_dossier(preparer, "village_ntm", "na-tam-01", 2024)
    db.session.commit()
    with pytest.raises(Conflict):
        create_dossier(preparer, "village_ntm", "na-tam-01", 2024)
    # The savepoint kept the transaction usable: other work still commits.
    other = create_dossier(preparer, "village_ntm", "na-tam-01", 2025)
    db.session.commit()
    assert other.id is not None
