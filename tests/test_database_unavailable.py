"""A database that does not answer gives 503 with what to do, in the user's
language, and a Retry-After: not a 500 with a traceback per request."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from helpers import dispose_engines

from workflow_app.app import create_app

UNREACHABLE = {
    # Nothing listens on port 9 here: the connection is refused at once.
    "postgresql": "postgresql://postgres@127.0.0.1:9/ntm",
    "sqlite": "sqlite:////nonexistent-folder/ntm/app.db",
}


@pytest.fixture(params=sorted(UNREACHABLE))
def down(request, tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": UNREACHABLE[request.param], "SECRET_KEY": "x", "TESTING": True,
                      "STORAGE_DIR": str(tmp_path / "storage"), "SIGNING_DIR": str(tmp_path / "signing")})
    yield app
    with app.app_context():
        dispose_engines()


@pytest.mark.parametrize("path", ["/api/v1/dossiers", "/api/v1/dossiers/1/decision.pdf"])
def test_api_calls_get_503_with_retry_after(down, path):
    r = down.test_client().get(path, headers={"Authorization": "Bearer some-token", "Accept-Language": "vi"})
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "30"
    error = r.get_json()["error"]
    assert error["code"] == "database_unavailable"
    assert error["message"].startswith("Cơ sở dữ liệu tạm thời không trả lời. Hãy thử lại sau ít phút")
    english = down.test_client().get(path, headers={"Authorization": "Bearer x", "Accept-Language": "en"})
    assert english.get_json()["error"]["message"].startswith("The database is not answering right now.")


def test_a_page_gets_503_in_html(down):
    r = down.test_client().get("/verify/abcdef", headers={"Accept": "text/html", "Accept-Language": "vi"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    assert r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    assert "Tạm thời chưa phục vụ được" in page and "Hãy thử lại sau ít phút" in page


def signed_in_cookie(app, make_user) -> str:
    """The session cookie of a real sign-in on a database that answers."""
    make_user("viewer", "tam-duong", username="xem")
    client = app.test_client()
    r = client.post("/login", data={"username": "xem", "password": "pw-123456"})
    assert r.status_code == 302
    return client.get_cookie("session").value


def assert_503_page(r, lang: str = "vi"):
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    assert r.mimetype == "text/html"
    page = r.get_data(as_text=True)
    if lang == "vi":
        assert "Tạm thời chưa phục vụ được" in page and "Hãy thử lại sau ít phút" in page
    else:
        assert "Temporarily unavailable" in page and "Try again in a few minutes" in page


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_signed_in_page_gets_503_not_500(app, make_user, tmp_path, lang):
    # The same secret key and a database that does not answer: the cookie is
    # valid, so finding whose it is (the session's user loader) is what fails.
    cookie = signed_in_cookie(app, make_user)
    url = UNREACHABLE["postgresql" if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else "sqlite"]
    down = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": app.config["SECRET_KEY"], "TESTING": True,
                       "STORAGE_DIR": str(tmp_path / "down"), "SIGNING_DIR": str(tmp_path / "down-signing")})
    try:
        client = down.test_client()
        client.set_cookie("session", cookie)
        if lang == "en":
            assert client.get("/lang/en").status_code == 302  # kept in the session, no database needed
        for path in ("/", "/dossiers", "/verify/abcdef"):  # the last is public, but shows who is signed in
            assert_503_page(client.get(path), lang)
        # The outage signs nobody out: the cookie is left as it was.
        r = client.get("/dossiers")
        assert "Set-Cookie" not in r.headers
    finally:
        with down.app_context():
            dispose_engines()


def test_sign_in_gets_503(down):
    down.config["WTF_CSRF_ENABLED"] = True
    client = down.test_client()
    form = client.get("/login")  # the form needs no database: it is what a user sees first
    assert form.status_code == 200
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.get_data(as_text=True)).group(1)
    r = client.post("/login", data={"csrf_token": token, "username": "xem", "password": "pw-123456"})
    assert_503_page(r)


def test_api_call_with_a_body_gets_503(down):
    r = down.test_client().post("/api/v1/dossiers", json={"kind": "village_ntm", "unit": "na-tam-01", "year": 2026},
                                headers={"Authorization": "Bearer some-token"})
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    assert r.get_json()["error"]["code"] == "database_unavailable"


@pytest.fixture
def stopped_postgres(pg_app_database):
    """Stop the test database answering: new connections refused and every open
    one ended, as when the server is stopped or restarted. Undone afterwards."""
    from sqlalchemy import create_engine, text

    from tests.conftest import PG_URL

    name = pg_app_database.rsplit("/", 1)[1]
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")

    def stop():
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})

    def start():
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    try:
        yield SimpleNamespace(stop=stop, start=start)
    finally:
        start()
        admin.dispose()


@pytest.fixture
def pg_app_database(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if not url.startswith("postgresql"):
        pytest.skip("terminating server connections needs PostgreSQL (TEST_DATABASE_URL)")
    return url


@pytest.mark.pg
def test_postgres_stopped_under_a_running_app(app, make_user, api_as, stopped_postgres):
    """The running app's pooled connections die and new ones are refused: a
    signed-in page, an API call and a sign-in each answer 503, never 500."""
    api = api_as(make_user("viewer", "tam-duong", username="api-user"))
    cookie = signed_in_cookie(app, make_user)
    page = app.test_client()
    page.set_cookie("session", cookie)
    assert page.get("/dossiers").status_code == 200  # connections now pooled
    assert api.get("/api/v1/me").status_code == 200
    stopped_postgres.stop()
    assert_503_page(page.get("/dossiers"))
    r = api.get("/api/v1/me")
    assert r.status_code == 503 and r.headers["Retry-After"] == "30"
    assert r.get_json()["error"]["code"] == "database_unavailable"
    assert_503_page(app.test_client().post("/login", data={"username": "xem", "password": "pw-123456"}))
    stopped_postgres.start()  # back by itself: the pool replaces the dead connections
    assert page.get("/dossiers").status_code == 200
    assert api.get("/api/v1/me").status_code == 200
