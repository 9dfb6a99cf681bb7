"""Signing in and out: clear messages, rotated session tokens, CSRF."""
from __future__ import annotations

import gc
import re
import weakref

import pytest
from conftest import build_app
from helpers import dispose_engines

from workflow_app.extensions import db
from workflow_app.services.core.users import create_user, set_active

pytestmark = pytest.mark.db


@pytest.fixture
def app(tmp_path, pg_database):
    """No app context stays pushed: each request gets its own, as in production
    (a shared context would share flask.g, and the signed-in user cached there)."""
    app = build_app(tmp_path, pg_database)
    yield app
    with app.app_context():
        db.session.remove()
        dispose_engines()


@pytest.fixture
def make_user(app):
    def make(role, unit, username):
        with app.app_context():
            user = create_user(username, "pw-123456", role, unit)
            db.session.commit()
            return user.id
    return make


def login(client, username, password="pw-123456"):
    return client.post("/login", data={"username": username, "password": password})


def test_pages_need_login_and_redirect_back(app):
    client = app.test_client()
    r = client.get("/dossiers?kind=village_ntm")
    assert r.status_code == 302 and r.headers["Location"].startswith("/login?next=")
    assert client.get("/verify/nothing").status_code == 404  # public, just unknown
    assert client.get("/healthz").status_code == 200


def test_wrong_password_and_disabled_account_say_what_to_do(app, make_user):
    user_id = make_user("viewer", "tam-duong", username="lan")
    client = app.test_client()
    r = login(client, "lan", "wrong")
    assert r.status_code == 401 and "Sai tên đăng nhập hoặc mật khẩu" in r.get_data(as_text=True)
    admin_id = make_user("admin", "lai-chau", username="root")
    with app.app_context():
        from workflow_app.models import User
        set_active(db.session.get(User, admin_id), db.session.get(User, user_id), False)
        db.session.commit()
    r = login(client, "lan")
    assert r.status_code == 401 and "đã bị khóa" in r.get_data(as_text=True)


def test_login_then_logout_rotates_the_session_token(app, make_user):
    make_user("viewer", "tam-duong", username="lan")
    client = app.test_client()
    r = login(client, "lan")
    assert r.status_code == 302 and r.headers["Location"] == "/"
    assert client.get("/").status_code == 200
    stolen = client.get_cookie("session")
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302
    # A copy of the old cookie no longer signs anyone in.
    other = app.test_client()
    other.set_cookie("session", stolen.value)
    assert other.get("/").status_code == 302


def test_the_session_cookie_is_for_the_pages_only(app, make_user):
    make_user("viewer", "tam-duong", username="lan")
    client = app.test_client()
    login(client, "lan")
    cookie = client.get_cookie("session").value
    # A signed-in browser's cookie does not open the API, and the API sets no cookie.
    for path in ("/api/v1/me", "/api/v1/dossiers"):
        r = client.get(path)
        assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"
        assert "Set-Cookie" not in r.headers
    assert client.get_cookie("session").value == cookie
    assert client.get("/").status_code == 200  # the pages still know the user
    r = client.get("/lang/en", headers={"Referer": "/"})  # and still write the session
    assert r.status_code == 302 and client.get_cookie("session").value != cookie


def test_disable_signs_the_user_out_everywhere(app, make_user):
    user_id = make_user("viewer", "tam-duong", username="lan")
    make_user("admin", "lai-chau", username="root")
    client = app.test_client()
    login(client, "lan")
    assert client.get("/").status_code == 200
    admin_client = app.test_client()
    login(admin_client, "root")
    r = admin_client.post(f"/admin/users/{user_id}/active/0")
    assert r.status_code == 302
    assert client.get("/").status_code == 302  # the open session is gone


def test_password_change_keeps_this_session_and_ends_others(app, make_user):
    make_user("viewer", "tam-duong", username="lan")
    here, elsewhere = app.test_client(), app.test_client()
    login(here, "lan")
    login(elsewhere, "lan")
    r = here.post("/password", data={"current": "wrong", "new": "new-password-1"})
    assert r.status_code == 422 and "Mật khẩu hiện tại không đúng" in r.get_data(as_text=True)
    r = here.post("/password", data={"current": "pw-123456", "new": "new-password-1"})
    assert r.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert login(app.test_client(), "lan", "new-password-1").status_code == 302


def test_only_admins_reach_user_administration(app, make_user):
    make_user("approver", "tam-duong", username="boss")
    client = app.test_client()
    login(client, "boss")
    assert client.get("/admin/users").status_code == 403


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_forms_are_refused_without_their_csrf_token(csrf_app, make_user):
    make_user("viewer", "tam-duong", username="lan")
    client = csrf_app.test_client()
    r = client.post("/login", data={"username": "lan", "password": "pw-123456"})
    assert r.status_code == 400 and "Biểu mẫu đã hết hạn" in r.get_data(as_text=True)
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/login", data={"username": "lan", "password": "pw-123456", "csrf_token": token})
    assert r.status_code == 302
    # Signed in, a post without the token is still refused and changes nothing.
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_an_app_is_freed_once_its_last_reference_goes(tmp_path, pg_database):
    """No extension keeps an app alive after use: a leaked app per test grew the
    suite's memory to gigabytes and slowed every garbage collection."""
    app = build_app(tmp_path, pg_database)
    with app.app_context():
        app.test_client().get("/login")
        db.session.remove()
        dispose_engines()
    gone = weakref.ref(app)
    del app
    gc.collect()
    assert gone() is None
