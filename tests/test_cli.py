"""The CONTRACT's command line, run as a user would run it."""
from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from audit_helpers import allow_audit_rewrite
from conftest import PG_URL
from helpers import dispose_engines
from sqlalchemy import create_engine, text

from workflow_app.app import create_app
from workflow_app.extensions import db
from workflow_app.models import (
    AuditRecord,
    Decision,
    Dossier,
    Unit,
    User,
)
from workflow_app.models.audit import APPEND_ONLY_TABLES, APPEND_ONLY_TRIGGER

pytestmark = pytest.mark.db


@pytest.fixture
def empty_app(tmp_path):
    """An app on an empty database (no tables): what init-db meets on a fresh machine."""
    admin, name = None, None
    if PG_URL:
        name = f"ntm_cli_{uuid.uuid4().hex[:8]}"
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_URL.rsplit("/", 1)[0] + f"/{name}"
    else:
        url = f"sqlite:///{tmp_path / 'fresh.db'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "t",
                      "STORAGE_DIR": str(tmp_path / "storage"), "SIGNING_DIR": str(tmp_path / "signing"),
                      "PUBLIC_BASE_URL": "http://ntm.test"})
    yield app
    with app.app_context():
        db.session.remove()
        dispose_engines()
    if admin is not None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def test_init_db_creates_schema_by_migrations_and_is_idempotent(empty_app):
    first = run(empty_app, "init-db")
    assert first.exit_code == 0, first.output
    assert "99 new units" in first.output  # 94 of the base file, 5 communes of the 2025 reform
    again = run(empty_app, "init-db")
    assert again.exit_code == 0 and "0 new units" in again.output
    with empty_app.app_context():
        levels = dict(db.session.execute(db.select(Unit.level, db.func.count()).group_by(Unit.level)).all())
        # The district's 12 communes and the 5 communes of the 2025 reform (reference_data/reforms/).
        assert levels == {"province": 1, "district": 1, "town": 1, "commune": 12 + 5, "village": 79}
        new = db.session.execute(db.select(Unit.code).where(Unit.valid_from == date(2025, 7, 1))).scalars()
        assert sorted(new) == ["ban-bo-2025", "binh-lu-2025", "khun-ha-2025", "sin-suoi-ho-2025", "ta-leng-2025"]
        assert db.session.execute(db.select(db.func.count(User.id))).scalar() == 0
        assert db.session.execute(db.select(db.func.count(Dossier.id))).scalar() == 0
        # The migrations produce exactly the schema the models describe.
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == []
        if db.engine.dialect.name == "postgresql":  # and the triggers: the append-only audit's, no other
            rows = db.session.execute(text(
                "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                "WHERE NOT t.tgisinternal")).all()
            assert sorted(map(tuple, rows)) == sorted((table, APPEND_ONLY_TRIGGER) for table in APPEND_ONLY_TABLES)
            functions = db.session.execute(text(
                "SELECT count(*) FROM pg_proc WHERE proname = 'ntm_notify_change'")).scalar()
            assert functions == 0


def test_seed_demo_gives_a_living_district_and_is_idempotent(empty_app):
    result = run(empty_app, "seed-demo")
    assert result.exit_code == 0, result.output
    for login in ("truongban", "canbo.natam", "thamdinh", "chutich", "xem", "quantri"):
        assert login in result.output
    assert "demo1234" in result.output
    with empty_app.app_context():
        states = {s for (s,) in db.session.execute(db.select(Dossier.state).distinct())}
        # Recognition's states, and "accepted" of the communes' plans and cement requests.
        assert states == {"draft", "submitted", "returned", "appraised", "recognized", "rejected", "revoked",
                          "accepted"}
        roles = {ra.role for u in db.session.execute(db.select(User)).scalars() for ra in u.roles}
        assert roles == {"preparer", "submitter", "appraiser", "approver", "viewer", "admin"}
        count = db.session.execute(db.select(db.func.count(Dossier.id))).scalar()
        # One decision for three Giang Ma villages; the revoked village has its revocation decision.
        kinds = sorted((d.type, len(d.dossiers)) for d in db.session.execute(db.select(Decision)).scalars())
        assert kinds == [("recognition", 1)] * 8 + [("recognition", 3), ("revocation", 1)]
    again = run(empty_app, "seed-demo")
    assert again.exit_code == 0 and "0 new dossiers" in again.output
    with empty_app.app_context():
        assert db.session.execute(db.select(db.func.count(Dossier.id))).scalar() == count
    assert run(empty_app, "audit", "verify").exit_code == 0


def test_users_create_adds_roles_and_token_is_the_last_line(app):
    out = run(app, "users", "create", "mai", "--password", "secret-1", "--role", "submitter", "--unit", "na-tam",
              "--name", "Tao Thị Mai")
    assert out.exit_code == 0, out.output
    out = run(app, "users", "create", "mai", "--role", "viewer", "--unit", "tam-duong")
    assert "submitter@na-tam" in out.output and "viewer@tam-duong" in out.output
    token = run(app, "users", "token", "mai").output.strip().splitlines()[-1]
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json["username"] == "mai"
    assert {(r["role"], r["unit"]["code"]) for r in me.json["roles"]} == \
        {("submitter", "na-tam"), ("viewer", "tam-duong")}


@pytest.mark.parametrize("args,message", [
    (["users", "create", "x", "--password", "p", "--role", "mayor", "--unit", "na-tam"], "Unknown role 'mayor'"),
    (["users", "create", "x", "--password", "p", "--role", "viewer", "--unit", "atlantis"],
     "No unit with code 'atlantis'"),
    (["users", "create", "x", "--role", "viewer", "--unit", "na-tam"], "needs a password"),
    (["users", "token", "nobody"], "No user 'nobody'"),
])
def test_cli_refusals_exit_1_with_a_message(app, args, message):
    out = run(app, *args)
    assert out.exit_code == 1 and message in out.output


def test_audit_verify_finds_an_altered_record(app, make_user):
    from workflow_app.services import create_dossier, self_assess

    user = make_user("submitter", "na-tam")
    dossier = create_dossier(user, "village_ntm", "na-tam-01", 2024)
    self_assess(user, dossier, "1", "met", "ok")
    self_assess(user, dossier, "2", "met", "ok")
    db.session.commit()
    assert run(app, "audit", "verify").exit_code == 0
    second = db.session.execute(db.select(AuditRecord).where(AuditRecord.seq == 2)).scalar_one()
    allow_audit_rewrite()
    db.session.execute(text("UPDATE audit_records SET comment = 'sửa lén' WHERE id = :id"), {"id": second.id})
    db.session.commit()
    out = run(app, "audit", "verify")
    assert out.exit_code == 1
    assert f"record {second.id}" in out.output and "altered" in out.output


def test_the_openapi_document_is_written_whole_once_however_many_read_it_first(app):
    # Written at its first reading, not at start-up: eight readers at once all get the
    # whole document (with its amendments), and the CLI prints the same one.
    client = app.test_client

    def read(_):
        return client().get("/api/v1/openapi.json").get_data(as_text=True)

    with ThreadPoolExecutor(8) as pool:
        bodies = list(pool.map(read, range(8)))
    assert len(set(bodies)) == 1
    doc = json.loads(bodies[0])
    assert len(doc["paths"]) > 20 and doc["components"]["schemas"]["FieldsIn"]["minProperties"] == 1
    assert {t["name"] for t in doc["tags"]} >= {"dossiers", "lines", "summaries", "committee"}
    printed = app.test_cli_runner().invoke(args=["openapi", "print"])
    assert printed.exit_code == 0 and json.loads(printed.output) == doc


def test_openapi_document_is_generated_and_public(app):
    spec = app.test_client().get("/api/v1/openapi.json")
    assert spec.status_code == 200
    doc = spec.json
    assert doc["openapi"].startswith("3.")
    paths = set(doc["paths"])
    for path in ("/api/v1/me", "/api/v1/units", "/api/v1/dossiers", "/api/v1/dossiers/{dossier_id}",
                 "/api/v1/dossiers/{dossier_id}/criteria/{code}",
                 "/api/v1/dossiers/{dossier_id}/criteria/{code}/appraisal",
                 "/api/v1/dossiers/{dossier_id}/fields", "/api/v1/dossiers/{dossier_id}/attachments",
                 "/api/v1/dossiers/{dossier_id}/attachments/{attachment_id}", "/api/v1/dossiers/{dossier_id}/events",
                 "/api/v1/dossiers/{dossier_id}/decision.pdf", "/api/v1/decisions"):
        assert path in paths, path
    # Every API route of the app is described (nothing hand-listed is missing).
    rules = {r.rule.replace("<int:", "{").replace("<", "{").replace(">", "}") for r in app.url_map.iter_rules()
             if r.rule.startswith("/api/v1/") and not r.rule.endswith("openapi.json")}
    assert rules <= paths


def test_healthz(app):
    r = app.test_client().get("/healthz")
    assert r.status_code == 200 and r.json == {"status": "ok"}


def test_users_create_sets_the_reminder_address_and_refuses_a_bad_one(empty_app):
    run(empty_app, "init-db")
    ok = run(empty_app, "users", "create", "mai", "--password", "pw-123456", "--role", "submitter",
             "--unit", "na-tam", "--email", "mai@natam.gov.vn")
    assert ok.exit_code == 0, ok.output
    bad = run(empty_app, "users", "create", "mai", "--role", "viewer", "--unit", "na-tam", "--email", "mai-at-natam")
    assert bad.exit_code == 1 and "Invalid e-mail address" in bad.output
    with empty_app.app_context():
        user = db.session.execute(db.select(User).where(User.username == "mai")).scalar_one()
        assert user.email == "mai@natam.gov.vn" and [ra.role for ra in user.roles] == ["submitter"]
