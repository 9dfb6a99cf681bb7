"""Rate limits on the public decision check (GET and POST /verify/<token>), per
client address: the N+1-th check in a window is a 429 in the caller's language
with Retry-After; nothing else in the app is limited; apps built in one process
keep their own budgets in memory, and share one through Redis (REDIS_URL)."""
from __future__ import annotations

import io

import pytest
import redis
from conftest import PG_URL, build_app
from helpers import PDF, dispose_engines, dossier_in

from workflow_app.extensions import db
from workflow_app.services import fire_event
from workflow_app.services.core.users import create_user
from workflow_app.services.documents.decisions import decision_of

pytestmark = pytest.mark.db

# A window far longer than any test run: the budget never refills mid-test.
LIMIT = "3/day"
# This file's own database number, one for each pass (the SQLite and PostgreSQL passes run
# side by side, and the counters' keys are the same): flushed before and after.
REDIS_TEST_URL = f"redis://127.0.0.1:6379/{8 if PG_URL else 7}"


def issue_decision(app, suffix: str = "") -> str:
    """A recognised village dossier through the services; its verification token."""
    with app.app_context():
        preparer = create_user(f"prep{suffix}", "pw-123456", "preparer", "na-tam-05")
        approver = create_user(f"apv{suffix}", "pw-123456", "approver", "tam-duong", "Lò Văn Minh")
        dossier = dossier_in(preparer, "na-tam-05", 2024, "appraised")
        fire_event(approver, dossier, "recognize")
        db.session.commit()
        token = decision_of(dossier).verify_token
        db.session.remove()
    return token


def get(app, url, **headers):
    with app.app_context():  # a fresh context per request, as in production
        return app.test_client().get(url, headers=headers)


def upload(app, token, **headers):
    with app.app_context():
        return app.test_client().post(f"/verify/{token}", data={"file": (io.BytesIO(PDF), "qd.pdf")},
                                      headers=headers, content_type="multipart/form-data")


@pytest.fixture
def limited(app):
    """The fixture app, its verification limits lowered to 3 a day, and a decision's token."""
    app.config.update(VERIFY_RATE_LIMIT=LIMIT, VERIFY_UPLOAD_RATE_LIMIT=LIMIT)
    db.session.remove()
    return issue_decision(app)


def test_the_fourth_view_is_429_in_vietnamese_with_retry_after(app, limited):
    for _ in range(3):
        assert get(app, f"/verify/{limited}").status_code == 200
    r = get(app, f"/verify/{limited}")
    assert r.status_code == 429
    retry = int(r.headers["Retry-After"])
    assert 0 < retry <= 24 * 3600 + 1  # the window is a day; the header rounds up
    html = r.get_data(as_text=True)
    assert "Quá nhiều yêu cầu" in html and f"Hãy đợi {retry} giây rồi thử lại" in html
    assert r.mimetype == "text/html"


def test_json_clients_get_the_contract_error_in_their_language(app, limited):
    for _ in range(3):
        assert get(app, f"/verify/{limited}", Accept="application/json").status_code == 200
    r = get(app, f"/verify/{limited}", Accept="application/json")
    assert r.status_code == 429 and r.is_json and "Retry-After" in r.headers
    assert r.json["error"]["code"] == "too_many_requests"
    assert r.json["error"]["message"].startswith("Bạn đã gửi quá nhiều yêu cầu xác minh")
    r = get(app, f"/verify/{limited}", Accept="application/json", **{"Accept-Language": "en"})
    assert r.status_code == 429 and r.json["error"]["message"].startswith("Too many verification requests")


def test_the_english_page(app, limited):
    client = app.test_client()
    with app.app_context():
        client.get("/lang/en")
    for _ in range(3):
        with app.app_context():
            assert client.get(f"/verify/{limited}").status_code == 200
    with app.app_context():
        r = client.get(f"/verify/{limited}")
    assert r.status_code == 429 and "Too many requests" in r.get_data(as_text=True)


def test_uploads_have_their_own_budget(app, limited):
    for _ in range(3):
        assert get(app, f"/verify/{limited}").status_code == 200
    assert get(app, f"/verify/{limited}").status_code == 429
    for _ in range(3):  # viewing spent nothing of the upload budget
        r = upload(app, limited, Accept="application/json")
        assert r.status_code == 200 and r.json["match"] is False
    r = upload(app, limited, Accept="application/json")
    assert r.status_code == 429 and r.json["error"]["code"] == "too_many_requests"


def test_unknown_tokens_spend_the_budget_too(app, limited):
    """Guessing tokens is what the limit is for."""
    for i in range(3):
        assert get(app, f"/verify/guess-{i}").status_code == 404
    assert get(app, f"/verify/{limited}").status_code == 429


def test_other_routes_are_not_limited(app, limited, make_user):
    for _ in range(4):
        get(app, f"/verify/{limited}")
    assert get(app, f"/verify/{limited}").status_code == 429
    for _ in range(20):
        assert get(app, "/healthz").status_code == 200
        assert get(app, "/login").status_code == 200
    user = make_user("viewer", "tam-duong", username="xem")
    client = app.test_client()
    with app.app_context():
        assert client.post("/login", data={"username": user.username, "password": "pw-123456"}).status_code == 302
    for _ in range(10):
        with app.app_context():
            assert client.get("/dossiers").status_code == 200


def test_a_rate_limited_check_is_not_recorded(app, limited):
    """A 429 writes nothing: a flood must not fill the database (only a log line)."""
    from workflow_app.models import VerificationCheck

    for _ in range(6):
        get(app, f"/verify/{limited}")
    assert db.session.execute(db.select(db.func.count(VerificationCheck.id))).scalar_one() == 3


def test_apps_in_one_process_keep_their_own_budgets(tmp_path, pg_database):
    """Tests build many apps: in memory mode one app's spending is not another's."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = build_app(tmp_path / "a", pg_database)
    second = build_app(tmp_path / "b", pg_database)  # on PostgreSQL: one database, data made after both
    try:
        for a in (first, second):
            a.config.update(VERIFY_RATE_LIMIT=LIMIT)
        token = issue_decision(first)
        if pg_database is None:
            token_b = issue_decision(second, "-b")
        else:
            token_b = token
        for _ in range(3):
            assert get(first, f"/verify/{token}").status_code == 200
        assert get(first, f"/verify/{token}").status_code == 429
        assert get(second, f"/verify/{token_b}").status_code == 200
    finally:
        for a in (first, second):
            with a.app_context():
                db.session.remove()
                dispose_engines()


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_TEST_URL)
    try:
        client.ping()
    except redis.ConnectionError:
        client.close()
        pytest.skip("no Redis at 127.0.0.1:6379")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def test_two_apps_share_one_budget_through_redis(tmp_path, pg_database, monkeypatch, redis_db):
    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    # Two instances as two workers would be: one database, one Redis.
    first = build_app(tmp_path, pg_database)
    second = build_app(tmp_path, pg_database)
    try:
        assert first.config["REDIS_URL"] == second.config["REDIS_URL"] == REDIS_TEST_URL
        for a in (first, second):
            a.config.update(VERIFY_RATE_LIMIT=LIMIT)
        token = issue_decision(first)
        assert get(first, f"/verify/{token}").status_code == 200
        assert get(second, f"/verify/{token}").status_code == 200
        assert get(first, f"/verify/{token}").status_code == 200
        r = get(second, f"/verify/{token}")  # the fourth check, wherever it lands
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        assert get(first, f"/verify/{token}").status_code == 429
        assert redis_db.keys("*ntm-verify*"), "the counters live in Redis"
        assert get(first, "/healthz").status_code == 200
    finally:
        for a in (first, second):
            limiter = a.extensions["verify_limiter"]
            limiter.storage.storage.close()
            with a.app_context():
                db.session.remove()
                dispose_engines()


# ----------------------------------------------------------------------------- behind a reverse proxy

def check_addresses(app) -> list[str | None]:
    from workflow_app.models import VerificationCheck

    with app.app_context():
        return list(db.session.execute(db.select(VerificationCheck.remote_addr)
                                       .order_by(VerificationCheck.id)).scalars())


def test_behind_a_proxy_each_client_has_its_own_budget(tmp_path, pg_database, monkeypatch):
    """PROXY_HOPS=1: the address our proxy appended to X-Forwarded-For is the client;
    whatever the client itself put before it is not believed."""
    monkeypatch.setenv("PROXY_HOPS", "1")
    proxied = build_app(tmp_path, pg_database)
    try:
        proxied.config.update(VERIFY_RATE_LIMIT=LIMIT)
        token = issue_decision(proxied)
        first = {"X-Forwarded-For": "203.0.113.5"}
        for spoof in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):  # a client varying its own header
            assert get(proxied, f"/verify/{token}", **{"X-Forwarded-For": f"{spoof}, 203.0.113.5"}).status_code == 200
        assert get(proxied, f"/verify/{token}", **first).status_code == 429
        assert get(proxied, f"/verify/{token}", **{"X-Forwarded-For": "198.51.100.7"}).status_code == 200
        assert check_addresses(proxied) == ["203.0.113.5"] * 3 + ["198.51.100.7"]
    finally:
        with proxied.app_context():
            db.session.remove()
            dispose_engines()


def test_an_ipv6_client_has_one_budget_for_its_whole_64(tmp_path, pg_database, monkeypatch):
    """Any address of one /64 spends that network's budget; a neighbouring /64 has
    its own. Each check is recorded with the address it came from."""
    monkeypatch.setenv("PROXY_HOPS", "1")
    proxied = build_app(tmp_path, pg_database)
    try:
        proxied.config.update(VERIFY_RATE_LIMIT=LIMIT)
        token = issue_decision(proxied)
        one_64 = ["2001:db8:1:2::1", "2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2:ffff::9"]
        for address in one_64:
            assert get(proxied, f"/verify/{token}", **{"X-Forwarded-For": address}).status_code == 200
        assert get(proxied, f"/verify/{token}", **{"X-Forwarded-For": "2001:db8:1:2::77"}).status_code == 429
        assert get(proxied, f"/verify/{token}", **{"X-Forwarded-For": "2001:db8:1:3::1"}).status_code == 200
        assert check_addresses(proxied) == one_64 + ["2001:db8:1:3::1"]
    finally:
        with proxied.app_context():
            db.session.remove()
            dispose_engines()


def test_behind_two_proxies_the_client_is_the_one_the_outer_proxy_saw(tmp_path, pg_database, monkeypatch):
    """PROXY_HOPS=2 (a TLS proxy, then nginx): the outer one appends the client, the
    inner one the outer's address; the scheme is the outer proxy's single value."""
    from flask import request

    monkeypatch.setenv("PROXY_HOPS", "2")
    proxied = build_app(tmp_path, pg_database)
    seen = []
    proxied.after_request(lambda response: seen.append((request.scheme, request.remote_addr)) or response)
    try:
        for forwarded in ("198.51.100.7, 10.0.0.9", "6.6.6.6, 198.51.100.7, 10.0.0.9"):
            r = get(proxied, "/healthz", **{"X-Forwarded-For": forwarded, "X-Forwarded-Proto": "https"})
            assert r.status_code == 200
        assert get(proxied, "/healthz").status_code == 200  # straight to the app: nothing to believe
        assert seen == [("https", "198.51.100.7"), ("https", "198.51.100.7"), ("http", "127.0.0.1")]
    finally:
        with proxied.app_context():
            db.session.remove()
            dispose_engines()


def test_without_proxy_hops_forwarded_for_is_ignored(app, limited):
    """The default: no proxy is trusted, so a client cannot buy a new budget by
    sending a new X-Forwarded-For; the log keeps the connection's address."""
    for n in range(3):
        assert get(app, f"/verify/{limited}", **{"X-Forwarded-For": f"203.0.113.{n}"}).status_code == 200
    assert get(app, f"/verify/{limited}", **{"X-Forwarded-For": "198.51.100.7"}).status_code == 429
    assert check_addresses(app) == ["127.0.0.1"] * 3


def test_proxy_hops_must_be_a_count(monkeypatch):
    from workflow_app.config import Config

    monkeypatch.setenv("PROXY_HOPS", "one")
    with pytest.raises(RuntimeError, match="PROXY_HOPS must be a whole number"):
        Config()
