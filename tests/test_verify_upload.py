"""Public check of an uploaded PDF against the issued decision (POST /verify/<token>).

The answer compares SHA-256 digests: the issued file matches, a file with one byte
changed does not (an answer, not an error), no file is 400, a non-PDF is 415.
"""
from __future__ import annotations

import hashlib
import io
import re

import pytest

from helpers import dossier_in, fire


@pytest.fixture
def issued(app, make_user, api_as):
    """(verify token, issued PDF bytes) of a freshly recognised village dossier."""
    preparer = make_user("preparer", "na-tam-03")
    approver = api_as(make_user("approver", "tam-duong", name="Trần Quốc Khánh", capacity="vice_chairman"))
    dossier = dossier_in(preparer, "na-tam-03", 2024, "appraised")
    r = fire(approver, dossier.id, "recognize")
    assert r.status_code == 200, r.json
    decision = r.json["decision"]
    pdf = approver.get(decision["pdf_url"]).data
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == decision["sha256"]
    return decision["verify_url"].rsplit("/", 1)[1], pdf


def post(app, token, content=None, name="quyet-dinh.pdf", json=False, lang=None, client=None):
    data = {} if content is None else {"file": (io.BytesIO(content), name)}
    headers = {"Accept": "application/json"} if json else {}
    if lang:
        headers["Accept-Language"] = lang
    # A fresh app context per request, as in production: the fixture's shared context
    # would keep Flask-Babel's cached locale in flask.g (see tests/test_i18n.py).
    with app.app_context():
        return (client or app.test_client()).post(f"/verify/{token}", data=data, headers=headers,
                                      content_type="multipart/form-data")


def result(response) -> str:
    """Text of the check's answer on the page (the page's own notes use similar words)."""
    found = re.search(r'<p class="flash[^"]*"[^>]*id="check-result">(.*?)</p>',
                      response.get_data(as_text=True), re.DOTALL)
    assert found, "no check result on the page"
    return " ".join(re.sub(r"<[^>]+>", " ", found[1]).split())


def one_byte_changed(pdf: bytes) -> bytes:
    middle = len(pdf) // 2
    return pdf[:middle] + bytes([pdf[middle] ^ 0x01]) + pdf[middle + 1:]


def test_the_issued_file_matches(app, issued):
    token, pdf = issued
    r = post(app, token, pdf)
    assert r.status_code == 200
    assert "đúng là bản đã ban hành" in result(r) and "khớp" not in result(r).replace("Khớp", "", 1)
    assert hashlib.sha256(pdf).hexdigest() in r.get_data(as_text=True)


def test_a_file_with_one_byte_changed_does_not_match(app, issued):
    token, pdf = issued
    changed = one_byte_changed(pdf)
    r = post(app, token, changed)
    assert r.status_code == 200  # an answer, not an error
    assert "không khớp" in result(r) and "đúng là bản đã ban hành" not in result(r)
    assert hashlib.sha256(changed).hexdigest() in r.get_data(as_text=True)


def test_json_answer(app, issued):
    token, pdf = issued
    digest = hashlib.sha256(pdf).hexdigest()
    r = post(app, token, pdf, json=True)
    assert r.status_code == 200 and r.is_json
    assert r.json["match"] is True and r.json["sha256"] == digest == r.json["issued_sha256"]
    assert r.json["status"] == "valid"
    changed = one_byte_changed(pdf)
    r = post(app, token, changed, json=True)
    assert r.status_code == 200
    assert r.json["match"] is False and r.json["sha256"] == hashlib.sha256(changed).hexdigest()
    assert r.json["issued_sha256"] == digest


def test_no_file_is_400_with_a_message(app, issued):
    token, _ = issued
    r = post(app, token)
    assert r.status_code == 400
    assert "Bạn chưa chọn tệp" in result(r)
    # A browser sends an empty part when nothing was chosen.
    r = post(app, token, b"", name="")
    assert r.status_code == 400 and "Bạn chưa chọn tệp" in result(r)
    r = post(app, token, json=True)
    assert r.status_code == 400 and r.json["error"]["code"] == "no_file"


def test_a_non_pdf_is_refused_with_415(app, issued):
    token, _ = issued
    r = post(app, token, b"\x89PNG\r\n\x1a\n not a pdf", name="anh.png")
    assert r.status_code == 415
    assert "không phải tệp PDF" in result(r)
    r = post(app, token, b"", name="rong.pdf", json=True)
    assert r.status_code == 415 and r.json["error"]["code"] == "not_pdf"


def test_english_page(app, issued):
    token, pdf = issued
    # Pages follow the language chosen with /lang/en (kept in the session) ...
    client = app.test_client()
    with app.app_context():
        assert client.get("/lang/en").status_code == 302
    r = post(app, token, pdf, client=client)
    assert r.status_code == 200 and "exactly the issued file" in result(r)
    assert "Choose the decision PDF file you have" in r.get_data(as_text=True)
    r = post(app, token, one_byte_changed(pdf), client=client)
    assert "does not match the issued file" in result(r)
    # ... JSON clients send Accept-Language.
    assert post(app, token, lang="en", json=True).json["error"]["message"].startswith("You did not choose a file")


def test_unknown_token_is_404(app, issued):
    _, pdf = issued
    assert post(app, "no-such-token", pdf).status_code == 404


def test_the_verify_page_offers_the_upload_form(app, issued):
    token, _ = issued
    page = app.test_client().get(f"/verify/{token}").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page and 'type="file"' in page
    # A read-only public check: no CSRF token, so no session cookie for visitors.
    assert 'name="csrf_token"' not in page
    assert "Chọn tệp PDF quyết định bạn đang có để kiểm tra" in page
    assert f'action="/verify/{token}#check"' in page


def test_a_script_may_check_without_a_session(app, issued):
    token, pdf = issued
    app.config["WTF_CSRF_ENABLED"] = True
    r = app.test_client().post(f"/verify/{token}", data={"file": (io.BytesIO(pdf), "qd.pdf")},
                               headers={"Accept": "application/json"}, content_type="multipart/form-data")
    assert r.status_code == 200 and r.json["match"] is True


def test_the_upload_is_not_stored(app, issued, tmp_path):
    token, pdf = issued
    storage = tmp_path / "storage"
    before = sorted(p for p in storage.rglob("*"))
    assert post(app, token, one_byte_changed(pdf)).status_code == 200
    assert sorted(p for p in storage.rglob("*")) == before
