"""Wrong passwords are throttled per account and per client address
(workflow_app/signin_throttle.py): past the budget the sign-in page answers 429
with Retry-After, says so in the user's language, keeps the username, and refuses
the right password too; only wrong passwords spend budgets; a success gives back
nothing an attacker spent; the password page spends the same budgets; counters are
shared through Redis and fall back to memory when it is gone."""
from __future__ import annotations

import logging
import threading
import uuid
from datetime import timedelta

import pytest
import redis
import time_machine
from conftest import build_app
from helpers import dispose_engines, free_port

from workflow_app.clock import local_now
from workflow_app.extensions import db
from workflow_app.services.core.users import create_user

pytestmark = pytest.mark.db

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def make_app(tmp_path, pg_database, monkeypatch):
    """Apps configured from the environment as a deployment is; no app context
    stays pushed (each request has its own, as in production)."""
    made = []

    def make(folder: str = "a", config: dict | None = None, **env: str):
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        (tmp_path / folder).mkdir(exist_ok=True)
        # One database for every app of a test: several apps are several workers.
        if made:
            app = _same_database(made[0], tmp_path / folder, config or {})
        else:
            assert not config, "the first app is made by conftest.build_app"
            app = build_app(tmp_path / folder, pg_database)
        made.append(app)
        return app
    yield make
    for app in made:
        with app.app_context():
            db.session.remove()
            dispose_engines()


def _same_database(first, folder, config: dict):
    from workflow_app.app import create_app

    return create_app({**{k: first.config[k] for k in ("TESTING", "SQLALCHEMY_DATABASE_URI", "SECRET_KEY",
                                                         "WTF_CSRF_ENABLED", "PASSWORD_HASH_METHOD",
                                                         "PUBLIC_BASE_URL")},
                       "STORAGE_DIR": str(folder / "storage"), "SIGNING_DIR": str(folder / "signing"), **config})


def add_user(app, username: str, role: str = "viewer", unit: str = "tam-duong") -> None:
    with app.app_context():
        create_user(username, "pw-123456", role, unit)
        db.session.commit()


def login(client, username, password="pw-123456", **headers):
    return client.post("/login", data={"username": username, "password": password}, headers=headers)


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


def test_thirty_wrong_passwords_then_the_right_one_does_not_sign_in(make_app, caplog):
    app = make_app()
    add_user(app, "lan")
    client = app.test_client()
    statuses = [login(client, "lan", f"doan-{i}").status_code for i in range(30)]
    assert statuses == [401] * 5 + [429] * 25
    with caplog.at_level(logging.WARNING, logger="workflow_app.signin_throttle"):
        r = login(client, "lan")  # the right password, while the account is throttled
    assert r.status_code == 429 and not signed_in(client)
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= 60
    page = r.get_data(as_text=True)
    assert "Tài khoản này đã bị nhập sai mật khẩu quá nhiều lần" in page and f"Hãy đợi {retry} giây" in page
    assert 'name="username"' in page and 'value="lan"' in page  # the form keeps what was typed
    assert "pw-123456" not in page
    assert any("account 'lan'" in m and "127.0.0.1" in m for m in caplog.messages)
    # A minute on, the account has room again (5 of its 20 an hour spent).
    with time_machine.travel(local_now() + timedelta(seconds=61), tick=True):
        assert login(client, "lan").status_code == 302 and signed_in(client)


def test_the_refusal_is_in_english_for_english_readers(make_app):
    app = make_app()
    add_user(app, "lan")
    client = app.test_client()
    client.get("/lang/en")  # the page language the user chose
    for _ in range(5):
        login(client, "lan", "sai")
    r = login(client, "lan", "sai")
    assert r.status_code == 429
    assert "Too many wrong passwords for this account. Wait" in r.get_data(as_text=True)


def test_right_passwords_spend_nothing(make_app):
    app = make_app()
    add_user(app, "lan")
    for _ in range(8):  # more sign-ins than the account's budget of wrong passwords
        assert login(app.test_client(), "lan").status_code == 302


def test_the_address_budget_is_not_reset_by_a_success_and_follows_proxy_hops(make_app):
    app = make_app(PROXY_HOPS="1", SIGNIN_ADDRESS_RATE_LIMIT="6/hour")
    add_user(app, "attacker")
    client = app.test_client()
    attacker = {"X-Forwarded-For": "203.0.113.5"}
    for i in range(5):  # one guess at each of five accounts: no account budget is touched twice
        assert login(client, f"victim{i}", "doan", **attacker).status_code == 401
    assert login(client, "attacker", **attacker).status_code == 302  # their own account
    assert login(client, "victim5", "doan", **attacker).status_code == 401  # the 6th wrong password
    r = login(client, "victim6", "doan", **attacker)
    assert r.status_code == 429 and "từ địa chỉ của bạn" in r.get_data(as_text=True)
    # Entries the client puts before the proxy's own are not believed (PROXY_HOPS=1).
    spoofed = {"X-Forwarded-For": "198.51.100.77, 203.0.113.5"}
    assert login(app.test_client(), "victim6", "doan", **spoofed).status_code == 429
    # Another client address has a budget of its own.
    other = {"X-Forwarded-For": "198.51.100.9"}
    assert login(app.test_client(), "victim6", "doan", **other).status_code == 401


def test_an_ipv6_client_has_one_budget_for_its_whole_64(make_app, caplog):
    """A subscriber picks any of the 2**64 addresses of its /64: the budget is the
    network's. Another /64 has its own; an IPv4-mapped address is the IPv4 one."""
    app = make_app(PROXY_HOPS="1", SIGNIN_ADDRESS_RATE_LIMIT="4/hour")
    one_64 = ["2001:db8:1:2::1", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2:ffff::9", "2001:DB8:1:2::2"]
    for i, address in enumerate(one_64):  # a different account each time: no account budget is spent twice
        assert login(app.test_client(), f"victim{i}", "doan", **{"X-Forwarded-For": address}).status_code == 401
    with caplog.at_level(logging.WARNING, logger="workflow_app.signin_throttle"):
        r = login(app.test_client(), "victim9", "doan", **{"X-Forwarded-For": "2001:db8:1:2:1234:5678:9abc:def0"})
    assert r.status_code == 429 and "từ địa chỉ của bạn" in r.get_data(as_text=True)
    assert any("2001:db8:1:2:1234:5678:9abc:def0" in m for m in caplog.messages)  # the log names the address
    for neighbour in ("2001:db8:1:3::1", "2001:db8:1:1:ffff:ffff:ffff:ffff"):  # the /64s either side
        assert login(app.test_client(), "victim9", "doan", **{"X-Forwarded-For": neighbour}).status_code == 401
    for i in range(4):
        assert login(app.test_client(), f"other{i}", "doan", **{"X-Forwarded-For": "203.0.113.5"}).status_code == 401
    r = login(app.test_client(), "other9", "doan", **{"X-Forwarded-For": "::ffff:203.0.113.5"})
    assert r.status_code == 429
    assert login(app.test_client(), "other9", "doan", **{"X-Forwarded-For": "203.0.113.6"}).status_code == 401


def test_the_password_page_spends_the_account_budget(make_app):
    app = make_app()
    add_user(app, "lan")
    client = app.test_client()
    assert login(client, "lan").status_code == 302
    form = {"current": "sai-roi-1", "new": "mat-khau-moi-1"}
    assert [client.post("/password", data=form).status_code for _ in range(5)] == [422] * 5
    r = client.post("/password", data={"current": "pw-123456", "new": "mat-khau-moi-1"})
    assert r.status_code == 429 and "Retry-After" in r.headers
    assert "Tài khoản này đã bị nhập sai mật khẩu quá nhiều lần" in r.get_data(as_text=True)
    # Nothing changed, and the sign-in page refuses the account too.
    assert login(app.test_client(), "lan", "mat-khau-moi-1").status_code == 429
    with time_machine.travel(local_now() + timedelta(seconds=61), tick=True):
        assert login(app.test_client(), "lan").status_code == 302  # the old password still


def test_parallel_guesses_cannot_all_slip_past_the_count(make_app):
    # A slow password hash widens the window a check-then-count would leave open.
    app = make_app(SIGNIN_ACCOUNT_RATE_LIMIT="5/hour")
    app.config["PASSWORD_HASH_METHOD"] = "pbkdf2:sha256:300000"
    add_user(app, "lan")
    start = threading.Barrier(12)
    statuses = []

    def guess(i: int) -> None:
        client = app.test_client()
        start.wait()
        statuses.append(login(client, "lan", f"doan-{i}").status_code)
    threads = [threading.Thread(target=guess, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses) == [401] * 5 + [429] * 7


@pytest.fixture
def redis_prefix():
    prefix = f"ntm-signin-test-{uuid.uuid4().hex[:8]}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)
    client.close()


def test_workers_share_one_budget_through_redis(make_app, redis_prefix):
    base = make_app("base")
    add_user(base, "lan")
    config = {"REDIS_URL": REDIS_URL, "SIGNIN_KEY_PREFIX": redis_prefix}
    first, second = make_app("a", config), make_app("b", config)
    assert [login(first.test_client(), "lan", "sai").status_code for _ in range(3)] == [401] * 3
    assert [login(second.test_client(), "lan", "sai").status_code for _ in range(2)] == [401] * 2
    assert login(first.test_client(), "lan").status_code == 429
    assert login(second.test_client(), "lan").status_code == 429
    assert any(redis.Redis.from_url(REDIS_URL).scan_iter(f"{redis_prefix}*"))


def test_without_redis_the_budget_is_counted_in_memory(make_app, caplog):
    app = make_app(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    add_user(app, "lan")
    add_user(app, "hoa")
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="workflow_app.signin_throttle"):
        assert [login(client, "lan", "sai").status_code for _ in range(6)] == [401] * 5 + [429]
    assert any("Redis not answering" in m for m in caplog.messages)
    assert login(app.test_client(), "hoa").status_code == 302


def test_a_malformed_limit_stops_the_app_naming_the_variable(make_app):
    with pytest.raises(RuntimeError, match="SIGNIN_ACCOUNT_RATE_LIMIT must be limits like"):
        make_app(SIGNIN_ACCOUNT_RATE_LIMIT="five a minute")
