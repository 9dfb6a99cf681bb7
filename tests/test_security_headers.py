"""Every kind of answer carries the browser protections (workflow_app/security_headers.py),
in development and in production: pages, API JSON, file downloads, error pages,
static files, the login page and the public verification page."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers import dispose_engines

from tests.conftest import ROOT, build_app
from workflow_app.extensions import db

BASE_URL = "https://ntm.tamduong.example"


@pytest.fixture(params=["development", "production"])
def app(request, tmp_path, pg_database, monkeypatch):
    """The conftest app, started as the environment says (APP_ENV, and what
    production then requires)."""
    monkeypatch.setenv("APP_ENV", request.param)
    if request.param == "production":
        monkeypatch.setenv("SECRET_KEY", "a-long-production-secret-for-this-test")
        monkeypatch.setenv("PUBLIC_BASE_URL", BASE_URL)
    app = build_app(tmp_path, pg_database)
    assert app.config["APP_ENV"] == request.param
    with app.app_context():
        yield app
        db.session.remove()
        dispose_engines()


def production(app) -> bool:
    return app.config["APP_ENV"] == "production"


def web_client(app, make_user):
    """A browser signed in over HTTPS (production's session cookie is Secure)."""
    make_user("viewer", "tam-duong", username="xem")
    client = app.test_client()
    r = client.post("/login", data={"username": "xem", "password": "pw-123456"}, base_url="https://localhost")
    assert r.status_code == 302, r.get_data(as_text=True)
    return client


def assert_protected(app, r, *, private: bool):
    csp = r.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "data:" not in csp
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    if production(app):
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    else:
        assert "Strict-Transport-Security" not in r.headers
    if private:
        assert r.headers["Cache-Control"] == "no-store"
    else:
        assert "no-store" not in r.headers.get("Cache-Control", "")


def test_signed_in_pages_and_their_errors(app, make_user):
    client = web_client(app, make_user)
    for path, status in (("/", 200), ("/dossiers", 200), ("/dossiers/999999", 404), ("/khong-co", 404)):
        r = client.get(path, base_url="https://localhost")
        assert r.status_code == status, path
        assert_protected(app, r, private=True)
    r = client.put("/login", base_url="https://localhost")  # 405, still signed in
    assert r.status_code == 405
    assert_protected(app, r, private=True)


def test_the_session_cookie(app, make_user):
    make_user("viewer", "tam-duong", username="xem")
    r = app.test_client().post("/login", data={"username": "xem", "password": "pw-123456"},
                               base_url="https://localhost")
    cookie = r.headers["Set-Cookie"]
    assert cookie.startswith("session=") and "; HttpOnly" in cookie and "; SameSite=Lax" in cookie
    assert ("; Secure" in cookie) is production(app)  # development serves plain HTTP


def test_public_pages(app):
    client = app.test_client()
    login = client.get("/login")
    assert login.status_code == 200
    assert_protected(app, login, private=False)
    for r in (client.get("/verify/khong-co-ma-nay"), client.get("/khong-co"), client.put("/healthz")):
        assert r.status_code in (404, 405)
        assert_protected(app, r, private=False)


def test_static_files_are_cacheable_and_protected(app):
    r = app.test_client().get("/static/app.css")
    assert r.status_code == 200 and r.mimetype == "text/css"
    assert_protected(app, r, private=False)
    r.close()


def test_api_answers_and_errors(app, make_user, api_as):
    api = api_as(make_user("viewer", "tam-duong"))
    for path, status in (("/api/v1/me", 200), ("/api/v1/dossiers", 200), ("/api/v1/dossiers/999999", 404)):
        r = api.get(path)
        assert r.status_code == status and r.is_json, path
        assert_protected(app, r, private=True)
    r = api.put("/api/v1/me")
    assert r.status_code == 405 and r.get_json()["error"]["code"] == "method_not_allowed"
    assert_protected(app, r, private=True)
    r = app.test_client().get("/api/v1/dossiers")  # no token
    assert r.status_code == 401
    assert_protected(app, r, private=True)


def test_a_decision_download_and_its_verification_page(app, issued, make_user):
    r = issued.api.get(issued.url)
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert_protected(app, r, private=True)
    web = web_client(app, make_user)
    r = web.get(f"/dossiers/{issued.dossier_id}/decision.pdf", base_url="https://localhost")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert_protected(app, r, private=True)
    r.close()
    verify = f"/verify/{issued.decision.verify_token}"
    page = app.test_client().get(verify)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert_protected(app, page, private=False)  # public: the same for everyone
    answer = app.test_client().get(verify, headers={"Accept": "application/json"})
    assert answer.status_code == 200 and answer.is_json
    assert_protected(app, answer, private=False)
    # A signed-in visitor's copy shows their name in the header: not kept.
    assert_protected(app, web.get(verify, base_url="https://localhost"), private=True)


def test_an_internal_error_page(app, make_user):
    @app.get("/test-only/broken")
    def broken():
        raise RuntimeError("a bug")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # answer as a server does, not raise into the test
    client = web_client(app, make_user)
    r = client.get("/test-only/broken", base_url="https://localhost")
    assert r.status_code == 500
    assert_protected(app, r, private=True)


# Browsers refuse inline script and style under the policy: none may be written.
INLINE = re.compile(r"<script(?![^>]*\bsrc=)|<style|\sstyle=|\son[a-z]+=|javascript:", re.IGNORECASE)


def test_no_inline_script_or_style_in_page_templates():
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        if path.parent.name == "pdf":  # laid out by WeasyPrint, never served to a browser
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if INLINE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "inline script or style:\n" + "\n".join(found)


def test_svg_drawn_in_python_has_no_style_attributes():
    import workflow_app.charts
    import workflow_app.workflow.diagram

    for module in (workflow_app.charts, workflow_app.workflow.diagram):
        source = Path(module.__file__).read_text()
        assert not INLINE.search(source), module.__name__
