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


# ----------------------------------------------------------------------------- each check is recorded

def checks():
    from workflow_app.extensions import db
    from workflow_app.models import VerificationCheck

    db.session.remove()  # see what the requests committed
    return [(c.method, c.result, c.decision_id, c.token, c.remote_addr) for c in db.session.execute(
        db.select(VerificationCheck).order_by(VerificationCheck.id)).scalars()]


def decision_id(token: str) -> int:
    from workflow_app.services.documents.decisions import find_by_token

    return find_by_token(token).id


@pytest.mark.parametrize(("content", "name", "want"), [
    (None, "qd.pdf", "match"),         # the issued file itself
    ("changed", "qd.pdf", "mismatch"),
    (b"\x89PNG\r\n\x1a\n not a pdf", "anh.png", "refused"),
    (b"", "", "refused"),              # no file chosen
])
def test_each_upload_writes_one_row(app, issued, content, name, want):
    token, pdf = issued
    content = pdf if content is None else one_byte_changed(pdf) if content == "changed" else content
    assert checks() == []
    post(app, token, content, name=name)
    assert checks() == [("upload", want, decision_id(token), token, "127.0.0.1")]


def test_views_and_unknown_tokens_write_one_row_each(app, issued):
    token, _ = issued
    with app.app_context():
        assert app.test_client().get(f"/verify/{token}").status_code == 200
    with app.app_context():
        assert app.test_client().get(f"/verify/{token}", headers={"Accept": "application/json"}).status_code == 200
    with app.app_context():
        assert app.test_client().get("/verify/no-such-token").status_code == 404
    long = "x" * 100
    with app.app_context():
        assert app.test_client().get(f"/verify/{long}").status_code == 404
    assert post(app, "no-such-token", b"%PDF-1.4 x").status_code == 404
    did = decision_id(token)
    assert checks() == [("view", "found", did, token, "127.0.0.1"), ("view", "found", did, token, "127.0.0.1"),
                        ("view", "not_found", None, "no-such-token", "127.0.0.1"),
                        ("view", "not_found", None, "x" * 64, "127.0.0.1"),  # truncated to the column
                        ("upload", "not_found", None, "no-such-token", "127.0.0.1")]


def test_a_check_that_cannot_be_recorded_still_answers(app, issued, caplog):
    """Recording is secondary: with the log table gone the check still answers (and warns)."""
    from workflow_app.extensions import db

    token, pdf = issued
    db.session.remove()
    db.session.execute(db.text("DROP TABLE verification_checks"))
    db.session.commit()
    with app.app_context():
        r = app.test_client().get(f"/verify/{token}")
    assert r.status_code == 200 and "Còn hiệu lực" in r.get_data(as_text=True)
    r = post(app, token, pdf, json=True)
    assert r.status_code == 200 and r.json["match"] is True
    assert "verification check not recorded" in caplog.text


# ----------------------------------------------------------------------------- revocation

def test_a_revoked_decision_and_its_revocation(app, make_user, api_as):
    """Recognise, then revoke through the API: the original says it was revoked and
    links its revocation; the revocation links the decision it revokes."""
    preparer = make_user("preparer", "na-tam-06")
    approver = api_as(make_user("approver", "tam-duong", name="Trần Quốc Khánh", capacity="vice_chairman"))
    dossier = dossier_in(preparer, "na-tam-06", 2024, "appraised")
    original = fire(approver, dossier.id, "recognize").json["decision"]
    r = fire(approver, dossier.id, "revoke", "Tiêu chí 8 (Thu nhập) không còn đạt")
    assert r.status_code == 200, r.json
    revocation = r.json["revocation"]
    assert revocation["number"] == original["number"] + 1  # a numbered decision of its own
    o_token, r_token = (x["verify_url"].rsplit("/", 1)[1] for x in (original, revocation))

    with app.app_context():
        o = app.test_client().get(f"/verify/{o_token}", headers={"Accept": "application/json"}).json
    assert o["status"] == "revoked" and o["type"] == "recognition" and o["revokes"] is None
    assert o["symbol"] == original["symbol"] and o["sha256"] == original["sha256"]  # every earlier key stays
    assert {"number", "issued_on", "issuer", "signer", "subject", "units"} <= set(o)
    [link] = o["revoked_by"]
    assert link == {"number": revocation["number"], "symbol": revocation["symbol"],
                    "issued_on": revocation["issued_on"], "verify_url": revocation["verify_url"],
                    "units": [{"code": "na-tam-06", "name": o["units"][0]["name"], "parent": "Xã Nà Tăm",
                               "dossier": dossier.code}]}
    with app.app_context():
        page = app.test_client().get(f"/verify/{o_token}").get_data(as_text=True)
    assert "Quyết định này đã bị thu hồi." in page and "Đã thu hồi" in page
    assert f'href="/verify/{r_token}"' in page and revocation["symbol"] in page

    with app.app_context():
        x = app.test_client().get(f"/verify/{r_token}", headers={"Accept": "application/json"}).json
    assert x["type"] == "revocation" and x["status"] == "valid" and x["revoked_by"] == []
    assert x["revokes"] == {"number": original["number"], "symbol": original["symbol"],
                            "issued_on": original["issued_on"], "verify_url": original["verify_url"]}
    assert x["reason"] == "Tiêu chí 8 (Thu nhập) không còn đạt"
    with app.app_context():
        page = app.test_client().get(f"/verify/{r_token}").get_data(as_text=True)
    assert "Đây là quyết định thu hồi." in page and f'href="/verify/{o_token}"' in page
    assert "Đơn vị bị thu hồi công nhận" in page and "Tiêu chí 8 (Thu nhập) không còn đạt" in page
    # The revocation's own PDF is what its page checks an upload against.
    pdf = approver.get(revocation["pdf_url"]).data
    assert post(app, r_token, pdf, json=True).json["match"] is True


def test_a_partly_revoked_decision_stays_valid_and_names_the_revoked_units(app, make_user, api_as):
    from workflow_app.extensions import db
    from workflow_app.services import fire_batch

    preparer = make_user("preparer", "na-tam")
    approver_user = make_user("approver", "tam-duong", name="Trần Quốc Khánh", capacity="vice_chairman")
    approver = api_as(approver_user)
    pair = [dossier_in(preparer, v, 2024, "appraised") for v in ("na-tam-07", "na-tam-08")]
    fire_batch(approver_user, [(d, None) for d in pair], "recognize")
    db.session.commit()
    original = approver.get(f"/api/v1/dossiers/{pair[0].id}").json["decision"]
    r = fire(approver, pair[1].id, "revoke", "Tiêu chí 13 không còn đạt")
    assert r.status_code == 200, r.json
    token = original["verify_url"].rsplit("/", 1)[1]
    with app.app_context():
        o = app.test_client().get(f"/verify/{token}", headers={"Accept": "application/json"}).json
    assert o["status"] == "valid" and [u["code"] for u in o["units"]] == ["na-tam-07", "na-tam-08"]
    assert [[u["code"] for u in x["units"]] for x in o["revoked_by"]] == [["na-tam-08"]]
    with app.app_context():
        page = app.test_client().get(f"/verify/{token}").get_data(as_text=True)
    assert "Quyết định này đã bị thu hồi một phần" in page and "Quyết định này đã bị thu hồi." not in page
    assert r.json["revocation"]["symbol"] in page


def test_the_revocation_notice_in_english(app, make_user, api_as):
    preparer = make_user("preparer", "na-tam-09")
    approver = api_as(make_user("approver", "tam-duong", name="Trần Quốc Khánh", capacity="vice_chairman"))
    dossier = dossier_in(preparer, "na-tam-09", 2024, "appraised")
    original = fire(approver, dossier.id, "recognize").json["decision"]
    fire(approver, dossier.id, "revoke", "Tiêu chí 2 không còn đạt")
    client = app.test_client()
    with app.app_context():
        client.get("/lang/en")
    with app.app_context():
        page = client.get(original["verify_url"].replace("http://ntm.test", "")).get_data(as_text=True)
    assert "This decision has been revoked." in page and "Revocation decision No." in page
