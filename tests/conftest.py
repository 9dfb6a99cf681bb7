"""A fresh app and database per test. SQLite by default; PostgreSQL when
TEST_DATABASE_URL is set (make test runs the db tests a second time there).

Speed (docs/testing.md, "Speed"): test databases do not wait for the disk at commit
(SQLite synchronous=OFF, PostgreSQL synchronous_commit=off: a process killed mid-write
still leaves a consistent database, only a machine crash could lose the last commits),
and the workflow definitions are parsed once per session while their files are unchanged."""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import frozen_clock
import pytest
from audit_helpers import allow_audit_rewrite
from flask import Flask
from helpers import dispose_engines, dossier_in, fire
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine as SqlEngine
from werkzeug.routing import Rule

from workflow_app.app import create_app
from workflow_app.config import normalize_db_url
from workflow_app.extensions import db
from workflow_app.services.admin.setup import load_reference_data
from workflow_app.services.core.users import create_user, issue_token
from workflow_app.workflow import Engine

PG_URL = normalize_db_url(os.environ["TEST_DATABASE_URL"]) if os.environ.get("TEST_DATABASE_URL") else None
ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config):
    frozen_clock.start()  # before collection: nothing reads the real date
    event.listen(SqlEngine, "connect", _sqlite_without_fsync)
    Engine.from_dir = _parsed_once
    Rule._compile_builder = _builder_compiled_once
    Flask.jinja_options = {**Flask.jinja_options, "bytecode_cache": _TemplatesCompiledOnce()}


def _sqlite_without_fsync(dbapi_connection, connection_record) -> None:
    """SQLite's default (synchronous=FULL) waits for the disk several times a commit,
    ~10 ms each; the suite commits tens of thousands of times. Locking and the
    rollback journal are unchanged, so concurrency and kill tests mean the same."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.execute("PRAGMA synchronous=OFF")


_from_dir = Engine.from_dir.__func__
_ENGINES: dict[tuple, Engine] = {}


def _contents_of(states_dir) -> str:
    """A digest of every file's name and bytes (~1 ms for the app's 170 kB)."""
    root, digest = Path(states_dir), hashlib.blake2b()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@classmethod
def _parsed_once(cls, states_dir):
    """Engine.from_dir, kept while the directory's files are unchanged (names and
    contents): every app of the suite reads the same definitions, and parsing them is
    half of create_app. The Engine is immutable (frozen definitions, machines fired
    through holders), so apps can share it; a test that writes its own states directory
    gets its own Engine, and a broken one still raises."""
    key = (str(Path(states_dir).resolve()), _contents_of(states_dir))
    if key not in _ENGINES:
        _ENGINES[key] = _from_dir(cls, states_dir)
    return _ENGINES[key]


_compile_builder = Rule._compile_builder
_BUILDERS: dict[tuple, object] = {}


def _builder_compiled_once(self, append_unknown: bool = True):
    """Werkzeug's Rule._compile_builder, kept per rule: every app registers the same
    80 rules, and generating each rule's two URL builders (Python source through ast
    and compile) is a quarter of create_app. A builder is a plain function of the rule's
    parts and defaults (the rule comes in as its first argument), so apps can share it.
    Rules whose defaults fill a part of the path go through the converter: not kept."""
    defaults = self.defaults or {}
    if any(is_dynamic and data in defaults for is_dynamic, data in self._trace):
        return _compile_builder(self, append_unknown)
    key = (self.rule, append_unknown, tuple(self._trace), tuple(sorted(defaults)))
    if key not in _BUILDERS:
        _BUILDERS[key] = _compile_builder(self, append_unknown)
    return _BUILDERS[key]


class _TemplatesCompiledOnce(BytecodeCache):
    """Every app has its own Jinja environment, which compiles each template it renders
    again: ~18 ms for a page's templates, more than the rest of the request. The code is
    kept for the session by template and checked against the source's checksum, so a
    changed template is compiled anew. All apps' environments are set up alike."""

    def __init__(self) -> None:
        self._code: dict[str, tuple[str, object]] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        checksum, code = self._code.get(bucket.key, (None, None))
        if checksum == bucket.checksum:
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = (bucket.checksum, bucket.code)


def pytest_unconfigure(config):
    frozen_clock.stop()
    for path in _SQLITE_TEMPLATE:
        shutil.rmtree(path.parent, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    # Every test that builds the app touches the database: mark it so the
    # PostgreSQL pass can select exactly these (pytest -m db).
    for item in items:
        if {"app", "pg_app"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.db)


@contextmanager
def throwaway_pg_database() -> Iterator[str | None]:
    """A PostgreSQL database of its own, dropped afterwards (None on SQLite): each test
    session, and each extra live server, never meets another's tables."""
    if not PG_URL:
        yield None
        return
    name = f"ntm_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # Commits do not wait for the WAL to reach the disk (a crash of the server could
        # lose the last ones; visibility, locks and isolation are unchanged).
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pg_database():
    """One throw-away PostgreSQL database for the session."""
    with throwaway_pg_database() as url:
        yield url


_SQLITE_TEMPLATE: list[Path] = []  # one SQLite file with the schema and units, made once


def _sqlite_template(storage: Path) -> Path:
    """Creating 18 tables and loading the units costs ~0.1 s; copying a file made
    once per session costs ~1 ms."""
    if not _SQLITE_TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="ntm-template-"))
        app = build_app(folder, None, template=False)
        with app.app_context():
            db.session.remove()
            dispose_engines()
        _SQLITE_TEMPLATE.append(folder / "test.db")
        # At exit, not only at pytest_unconfigure: test modules that import from conftest
        # load a second copy of it (tests.conftest and conftest), with its own template.
        atexit.register(shutil.rmtree, folder, True)
    return _SQLITE_TEMPLATE[0]


def build_app(storage: Path, pg_url: str | None, *, template: bool = True):
    """A configured app with a clean schema and the reference units loaded."""
    url = pg_url or f"sqlite:///{storage / 'test.db'}"
    copied = not pg_url and template and not (storage / "test.db").exists()  # a second app shares the first's
    if copied:
        storage.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_sqlite_template(storage), storage / "test.db")
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "STORAGE_DIR": str(storage / "storage"),
        "SIGNING_DIR": str(storage / "signing"),  # empty: unsigned unless a test makes keys
        "SECRET_KEY": "test-secret-key",
        "PUBLIC_BASE_URL": "http://ntm.test",
        "WTF_CSRF_ENABLED": False,
        # Passwords are not what these tests measure; scrypt costs ~0.15 s a user.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # Papers rendered before an act's answer: a test reads them right after the act.
        # The background thread (production's default) is tested in test_papers_at_event.py.
        "PAPERS_RENDER": "inline",
    })
    if copied:
        return app
    with app.app_context():
        if pg_url:
            _pg_reset()
        else:
            db.create_all()
            load_reference_data()
        db.session.commit()
    return app


_REFERENCE_TABLES = ("reforms", "units", "unit_links")  # what load_reference_data writes, parents first


def _pg_reset() -> None:
    """Tables are created once per session (again if a test dropped one); emptying them
    is much faster than dropping and creating them for every test. DELETE, not TRUNCATE:
    the tables of one test hold a few rows, and TRUNCATE makes new files for every table
    and index (~0.3 s for the 23 tables, against ~3 ms). Every sequence starts again at 1,
    as in a new database. The units and the reforms applied to them are loaded once,
    kept in side tables, and copied back (~4 ms instead of ~0.2 s)."""
    tables = db.metadata.sorted_tables
    present = db.session.execute(text("SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() "
                                      "AND tablename = ANY(:names)"), {"names": [t.name for t in tables]}).scalar()
    if present != len(tables):
        db.create_all()
    allow_audit_rewrite()  # no triggers in this transaction: the audit's refusal, foreign keys
    for table in reversed(tables):
        db.session.execute(text(f'DELETE FROM "{table.name}"'))
    db.session.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace s "
                            "ON s.oid = c.relnamespace WHERE c.relkind = 'S' AND s.nspname = current_schema()"))
    # The side tables are made in the transaction that loads the data, so when they
    # exist they are whole (the app may have been built by another process first).
    if db.session.execute(text("SELECT to_regclass('saved_unit_links')")).scalar() is None:
        load_reference_data()
        db.session.flush()
        for table in _REFERENCE_TABLES:
            db.session.execute(text(f'CREATE TABLE "saved_{table}" AS SELECT * FROM "{table}"'))
        return
    for table in _REFERENCE_TABLES:
        db.session.execute(text(f'INSERT INTO "{table}" SELECT * FROM "saved_{table}"'))
        db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                f"(SELECT coalesce(max(id), 0) + 1 FROM \"{table}\"), false)"))


def app_in_context(storage: Path, pg_url: str | None) -> Iterator:
    """build_app, with its app context pushed until the fixture ends."""
    app = build_app(storage, pg_url)
    with app.app_context():
        yield app
        db.session.remove()
        dispose_engines()


@pytest.fixture
def app(tmp_path, pg_database):
    yield from app_in_context(tmp_path, pg_database)


def user_maker():
    counter = iter(range(1, 10_000))

    def make(role: str, unit: str, username: str | None = None, **kw):
        user = create_user(username or f"{role}{next(counter)}", "pw-123456", role, unit,
                           kw.pop("name", None), **kw)
        db.session.commit()
        return user
    return make


@pytest.fixture
def make_user(app):
    return user_maker()


class ApiClient:
    """The Flask test client speaking as one user through a Bearer token."""

    def __init__(self, client, token: str, lang: str = "vi"):
        self.client, self.token, self.lang = client, token, lang

    def _headers(self, extra=None):
        headers = {"Authorization": f"Bearer {self.token}", "Accept-Language": self.lang}
        headers.update(extra or {})
        return headers

    def _call(self, method, path, **kw):
        response = self.client.open(path, method=method, headers=self._headers(kw.pop("headers", None)), **kw)
        response.get_data()  # read streamed files fully, then release them
        response.close()
        return response

    def get(self, path, **kw):
        return self._call("GET", path, **kw)

    def post(self, path, **kw):
        return self._call("POST", path, **kw)

    def put(self, path, **kw):
        return self._call("PUT", path, **kw)


def api_maker(app):
    client = app.test_client()

    def as_user(user, lang: str = "vi") -> ApiClient:
        token = issue_token(user)
        db.session.commit()
        return ApiClient(client, token, lang)
    return as_user


@pytest.fixture
def api_as(app):
    return api_maker(app)


# A module whose tests only read what one costly fixture built may share one app and
# database among its tests (docs/testing.md, "Speed"), by overriding the three fixtures:
#
#     @pytest.fixture(scope="module")
#     def app(tmp_path_factory, pg_database):
#         yield from app_in_context(tmp_path_factory.mktemp("app"), pg_database)
#
#     @pytest.fixture(scope="module")
#     def make_user(app):
#         return user_maker()
#
#     @pytest.fixture(scope="module")
#     def api_as(app):
#         return api_maker(app)
#
# and making the costly fixture module-scoped too. Usernames keep counting across the
# module's tests; what a test adds stays for the next ones, in any order (pytest-randomly).


@pytest.fixture
def issued(app, make_user, api_as):
    """A recognised village dossier, its decision and a district viewer's API client
    (the decision download's tests)."""
    from types import SimpleNamespace

    from workflow_app.models import Dossier
    from workflow_app.services.core.storage import path_of
    from workflow_app.services.core.users import token_hash
    from workflow_app.services.documents.decisions import decision_of

    officer = make_user("submitter", "na-tam")
    approver = make_user("approver", "tam-duong", name="Lò Văn Hùng", capacity="chairman")
    dossier = dossier_in(officer, "na-tam-01", 2024, "appraised")
    assert fire(api_as(approver), dossier.id, "recognize").status_code == 200
    decision = decision_of(db.session.get(Dossier, dossier.id))
    viewer = make_user("viewer", "tam-duong")
    api = api_as(viewer)
    return SimpleNamespace(url=f"/api/v1/dossiers/{dossier.id}/decision.pdf", decision=decision,
                           name=f"QD-{decision.number}-{decision.year}-{dossier.code}.pdf",
                           path=path_of(decision.pdf_key), api=api, user_id=viewer.id, dossier_id=dossier.id,
                           token_hash=token_hash(api.token))
