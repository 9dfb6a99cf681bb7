"""A database that does not answer gives 503 with what to do, in the user's
language, and a Retry-After: not a 500 with a traceback per request."""
from __future__ import annotations

import pytest
from helpers import dispose_engines

from workflow_app import create_app

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
