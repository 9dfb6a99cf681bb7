"""The decision verification pages speak to a citizen who is not signed in: what
the verification code is, where it is printed on the decision, how to check a
file; and they (their errors too) link nowhere into the signed-in app."""
from __future__ import annotations

import hashlib
import io
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest
from werkzeug.exceptions import NotFound

# Where a public page may send someone: itself, another decision's page, the
# language switch (back to a public page) and the static files.
PUBLIC = {"web.verify", "web.verify_upload", "web.set_lang", "static"}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "form" and attrs.get("action"):
            self.links.append(attrs["action"])
        if tag == "link" and attrs.get("href"):
            self.links.append(attrs["href"])


def _assert_public_links_only(app, html: str) -> None:
    parser = _Links()
    parser.feed(html)
    assert parser.links
    adapter = app.url_map.bind("ntm.test")
    for href in parser.links:
        if href.startswith("#"):
            continue
        parts = urlsplit(href)
        assert not parts.netloc, href  # nothing off-site either
        try:
            endpoint, _ = adapter.match(parts.path, method="GET")
        except NotFound:
            endpoint, _ = adapter.match(parts.path, method="POST")
        assert endpoint in PUBLIC, (href, endpoint)
        if endpoint == "web.set_lang":  # and the switch comes back to the verification page
            assert urlsplit(parse_qs(parts.query)["next"][0]).path.startswith("/verify/"), href


def _text(html: str) -> str:
    return " ".join(html.split())


def _explains_the_code(text: str) -> None:
    assert "Mã xác minh là gì, tìm ở đâu?" in text
    assert "Nơi nhận" in text and "mã QR" in text and "Tra cứu, xác thực văn bản:" in text
    assert "tải tệp lên" in text and "SHA-256" in text


@pytest.fixture
def token(issued):
    return issued.decision.verify_token


def test_the_verify_page_explains_the_code_and_links_nowhere_inside(app, token):
    r = app.test_client().get(f"/verify/{token}")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    _assert_public_links_only(app, html)
    text = _text(html)
    _explains_the_code(text)
    assert f'<span class="code" id="token">{token}</span>' in html
    assert "Bạn không cần đăng nhập" in text
    assert "Đăng nhập</a>" not in text and "Việc cần làm" not in text


def test_a_signed_in_officer_sees_the_same_public_page(app, token, make_user):
    user = make_user("viewer", "tam-duong")
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": "pw-123456"}).status_code == 302
    html = client.get(f"/verify/{token}").get_data(as_text=True)
    _assert_public_links_only(app, html)
    assert "Đăng xuất" not in html


@pytest.mark.parametrize("path", ["/verify/no-such-token", "/verify/" + "x" * 80, "/verify/a/b"])
def test_the_404_is_a_public_page_that_explains_where_the_code_is(app, path):
    r = app.test_client().get(path)
    assert r.status_code == 404
    html = r.get_data(as_text=True)
    _assert_public_links_only(app, html)
    _explains_the_code(_text(html))
    assert "Về trang việc cần làm" not in html


def test_the_404_in_english(app):
    client = app.test_client()
    client.get("/lang/en")
    html = client.get("/verify/no-such-token").get_data(as_text=True)
    _assert_public_links_only(app, html)
    assert "What is the verification code, and where is it?" in html
    assert "No decision has this verification code" in html


def _post(app, token, content: bytes | None, name="quyet-dinh.pdf"):
    data = {} if content is None else {"file": (io.BytesIO(content), name)}
    return app.test_client().post(f"/verify/{token}", data=data, content_type="multipart/form-data")


def test_the_upload_result_is_a_public_page(app, issued, token):
    pdf = issued.path.read_bytes()
    r = _post(app, token, pdf)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    _assert_public_links_only(app, html)
    text = _text(html)
    assert "Khớp" in text and "đúng là bản đã ban hành" in text and hashlib.sha256(pdf).hexdigest() in text
    _explains_the_code(text)

    changed = _post(app, token, pdf[:-10] + b"%%EOF\n" + b" " * 4)
    _assert_public_links_only(app, changed.get_data(as_text=True))
    assert "Không khớp" in changed.get_data(as_text=True)


@pytest.mark.parametrize("content,status", [(None, 400), (b"hello", 415)])
def test_a_refused_upload_stays_on_the_public_page(app, token, content, status):
    r = _post(app, token, content, "ghi-chu.txt")
    assert r.status_code == status
    html = r.get_data(as_text=True)
    _assert_public_links_only(app, html)
    assert 'id="check-result"' in html and 'id="verify-file"' in html


def test_a_too_large_upload_is_a_public_413_leading_back_to_the_decision(app, token):
    app.config["MAX_CONTENT_LENGTH"] = 2048
    r = _post(app, token, b"%PDF-1.4\n" + b"0" * 4096)
    assert r.status_code == 413
    html = r.get_data(as_text=True)
    _assert_public_links_only(app, html)
    assert f'href="/verify/{token}"' in html and "Quay lại trang xác minh" in html
    _explains_the_code(_text(html))


def test_signed_in_error_pages_keep_the_app_layout(app, make_user):
    user = make_user("viewer", "tam-duong")
    client = app.test_client()
    client.post("/login", data={"username": user.username, "password": "pw-123456"})
    html = client.get("/dossiers/999999").get_data(as_text=True)
    assert "Về trang việc cần làm" in html and "Mã xác minh là gì" not in html
