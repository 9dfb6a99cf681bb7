"""API tokens expire (90 days unless `users token --days N`), are revoked by
`users token --revoke`, a password change or a disabled account, and a refused
token gets 401 saying what to do, in the caller's language: through the API gate,
the decision download included."""
from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from workflow_app.clock import local_now
from workflow_app.extensions import db
from workflow_app.models import ApiToken, User
from workflow_app.services.core.users import change_password, set_active, token_hash

pytestmark = pytest.mark.db


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args), catch_exceptions=False)


def new_token(app, username: str, *options: str) -> str:
    result = cli(app, "users", "token", username, *options)
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]  # the CONTRACT: the token is the last line


def me(client, token: str, lang: str = "vi"):
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}", "Accept-Language": lang})


def later(**delta):
    return time_machine.travel(local_now() + timedelta(**delta), tick=True)


def test_a_token_works_for_ninety_days_by_default_then_says_it_expired(app, make_user):
    make_user("viewer", "tam-duong", username="lan")
    before = local_now() + timedelta(days=90)
    result = cli(app, "users", "token", "lan")
    after = local_now() + timedelta(days=90)
    until = result.output.split("valid until ", 1)[1].split(" ", 1)[0]
    # 90 days after issue, to the minute, in Vietnam time (the clock ticks: either side of the call)
    assert until in {t.isoformat(timespec="minutes") for t in (before, after)}, result.output
    token = result.output.strip().splitlines()[-1]
    client = app.test_client()
    assert me(client, token).status_code == 200
    with later(days=89, hours=23):
        assert me(client, token).status_code == 200
    with later(days=90, minutes=1):
        r = me(client, token)
        assert r.status_code == 401 and r.json["error"]["code"] == "token_expired"
        assert r.json["error"]["message"].startswith(f"Mã truy cập (token) này đã hết hạn lúc {until}. ")
        assert "flask users token" in r.json["error"]["message"]
        r = me(client, token, "en")
        assert r.json["error"]["message"].startswith(f"This API token expired at {until}. ")


def test_days_sets_the_lifetime_within_bounds(app, make_user):
    make_user("viewer", "tam-duong", username="lan")
    token = new_token(app, "lan", "--days", "7")
    client = app.test_client()
    with later(days=6, hours=23):
        assert me(client, token).status_code == 200
    with later(days=7, minutes=1):
        assert me(client, token).status_code == 401
    for days in ("0", "-3", "3651"):
        result = cli(app, "users", "token", "lan", "--days", days)
        assert result.exit_code == 1 and "lifetime must be 1 to 3650 days" in result.output
    assert db.session.execute(db.select(db.func.count(ApiToken.id))).scalar() == 1  # nothing issued


def test_revoke_ends_every_token_of_that_user_only(app, make_user):
    make_user("viewer", "tam-duong", username="lan")
    make_user("viewer", "tam-duong", username="hoa")
    first, second, other = new_token(app, "lan"), new_token(app, "lan"), new_token(app, "hoa")
    result = cli(app, "users", "token", "lan", "--revoke")
    assert result.exit_code == 0 and "Revoked 2 token(s) of lan." in result.output
    client = app.test_client()
    for token in (first, second):
        r = me(client, token)
        assert r.status_code == 401 and r.json["error"]["code"] == "token_revoked"
        assert "đã bị thu hồi" in r.json["error"]["message"] and "flask users token" in r.json["error"]["message"]
    assert "has been revoked" in me(client, first, "en").json["error"]["message"]
    assert me(client, other).status_code == 200
    assert me(client, new_token(app, "lan")).status_code == 200  # a new one after the revocation works
    assert cli(app, "users", "token", "lan", "--revoke", "--days", "3").exit_code == 1


def test_a_password_change_revokes_the_users_tokens(app, make_user):
    user = make_user("viewer", "tam-duong", username="lan")
    token = new_token(app, "lan")
    client = app.test_client()
    assert me(client, token).status_code == 200
    change_password(user, "pw-123456", "pw-123456")  # the same again: no change, the token stays
    db.session.commit()
    assert me(client, token).status_code == 200
    change_password(user, "pw-123456", "mat-khau-moi-1")
    db.session.commit()
    assert me(client, token).json["error"]["code"] == "token_revoked"


def signed_in_browser(app, username: str, password: str = "pw-123456"):
    browser = app.test_client()
    assert browser.post("/login", data={"username": username, "password": password}).status_code == 302
    assert browser.get("/").status_code == 200
    return browser


def test_a_password_set_again_from_the_command_line_ends_sessions_and_tokens_only_when_it_changes(app, make_user):
    make_user("viewer", "tam-duong", username="lan")
    make_user("viewer", "tam-duong", username="hoa")
    token = new_token(app, "lan")
    client = app.test_client()
    browser, other_user = signed_in_browser(app, "lan"), signed_in_browser(app, "hoa")
    same = cli(app, "users", "create", "lan", "--password", "pw-123456", "--role", "viewer", "--unit", "tam-duong")
    assert same.exit_code == 0 and me(client, token).status_code == 200 and "signed out" not in same.output
    assert browser.get("/").status_code == 200  # the same password again is no change
    changed = cli(app, "users", "create", "lan", "--password", "mat-khau-moi-1", "--role", "viewer",
                  "--unit", "tam-duong")
    assert changed.exit_code == 0 and "New password for lan: signed out of every session" in changed.output
    assert me(client, token).status_code == 401
    assert browser.get("/").status_code == 302  # whoever was signed in as lan is signed out
    assert other_user.get("/").status_code == 200
    signed_in_browser(app, "lan", "mat-khau-moi-1")


def test_the_password_page_and_the_command_line_end_the_same_things(app, make_user):
    """One rule for both: a different password ends every other session and token;
    the same one again ends nothing."""
    make_user("viewer", "tam-duong", username="lan")
    token = new_token(app, "lan")
    here, elsewhere = signed_in_browser(app, "lan"), signed_in_browser(app, "lan")
    assert here.post("/password", data={"current": "pw-123456", "new": "pw-123456"}).status_code == 302
    assert "không có gì thay đổi" in here.get("/").get_data(as_text=True)  # not "signed out elsewhere"
    assert elsewhere.get("/").status_code == 200 and me(app.test_client(), token).status_code == 200
    assert here.post("/password", data={"current": "pw-123456", "new": "mat-khau-moi-1"}).status_code == 302
    assert here.get("/").status_code == 200  # the page that changed it stays signed in
    assert elsewhere.get("/").status_code == 302 and me(app.test_client(), token).status_code == 401


def test_disabling_the_account_revokes_its_tokens_for_good(app, make_user):
    user = make_user("viewer", "tam-duong", username="lan")
    admin = make_user("admin", "lai-chau", username="root")
    token = new_token(app, "lan")
    client = app.test_client()
    set_active(admin, user, False)
    db.session.commit()
    assert me(client, token).json["error"]["code"] == "token_revoked"
    set_active(admin, user, True)
    db.session.commit()
    assert me(client, token).status_code == 401  # enabling again does not bring old tokens back
    assert me(client, new_token(app, "lan")).status_code == 200


def test_a_decision_download_refuses_an_expired_token(issued):
    headers = {"Authorization": f"Bearer {issued.api.token}"}
    client = issued.api.client
    assert client.get(issued.url, headers=headers, buffered=True).status_code == 200  # buffered: the file is closed
    with later(days=90, minutes=1):
        r = client.get(issued.url, headers=headers)
        assert r.status_code == 401 and r.json["error"]["code"] == "token_expired"
        r = client.get(issued.url, headers={**headers, "Accept-Language": "en"})
        assert r.json["error"]["message"].startswith("This API token expired at")


def test_a_revoked_token_stops_decision_downloads(app, issued):
    headers = {"Authorization": f"Bearer {issued.api.token}"}
    client = issued.api.client
    assert client.get(issued.url, headers=headers, buffered=True).status_code == 200  # buffered: the file is closed
    username = db.session.get(User, issued.user_id).username
    assert cli(app, "users", "token", username, "--revoke").exit_code == 0
    r = client.get(issued.url, headers=headers)
    assert r.status_code == 401 and r.json["error"]["code"] == "token_revoked"
    row = db.session.execute(
        db.select(ApiToken).where(ApiToken.token_hash == token_hash(issued.api.token))).scalar_one()
    db.session.refresh(row)
    assert row.revoked_at is not None
