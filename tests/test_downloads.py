"""Decision downloads answer as flask.send_file would: the same bytes and headers
for a plain GET (answered without send_file's general machinery, see
downloads.send_stored_file), and send_file's own conditional and partial answers."""
from __future__ import annotations

import io
from types import SimpleNamespace

import flask
import pytest
from helpers import dossier_in, fire

from workflow_app.downloads import _attachment_disposition
from workflow_app.extensions import db
from workflow_app.models import Dossier
from workflow_app.services.decisions import decision_of
from workflow_app.services.storage import path_of

pytestmark = pytest.mark.db


@pytest.fixture
def issued(app, make_user, api_as):
    officer = make_user("submitter", "na-tam")
    approver = make_user("approver", "tam-duong", name="Lò Văn Hùng", capacity="chairman")
    dossier = dossier_in(officer, "na-tam-01", 2024, "appraised")
    assert fire(api_as(approver), dossier.id, "recognize").status_code == 200
    decision = decision_of(db.session.get(Dossier, dossier.id))
    return SimpleNamespace(url=f"/api/v1/dossiers/{dossier.id}/decision.pdf", decision=decision,
                           name=f"QD-{decision.number}-{decision.year}-{dossier.code}.pdf",
                           path=path_of(decision.pdf_key), api=api_as(make_user("viewer", "tam-duong")))


def send_file_answer(app, issued, headers=None):
    """What Flask's send_file answers for the stored file, from its path."""
    with app.test_request_context(issued.url, headers=headers or {}):
        response = flask.send_file(issued.path, mimetype="application/pdf", as_attachment=True,
                                   download_name=issued.name, etag=issued.decision.pdf_sha256)
        response.direct_passthrough = False
        body = response.get_data()
        response.close()
    return response, body


def without_date(headers) -> dict:
    found = {k.lower(): v for k, v in headers.items()}
    assert "date" in found
    del found["date"]
    return found


def test_a_plain_get_answers_send_files_headers_and_bytes(app, issued):
    r = issued.api.get(issued.url)
    expected, body = send_file_answer(app, issued)
    assert r.status_code == expected.status_code == 200
    assert r.data == body == issued.path.read_bytes()
    assert without_date(r.headers) == without_date(expected.headers)
    assert r.headers["ETag"] == f'"{issued.decision.pdf_sha256}"'
    assert r.headers["Content-Disposition"] == f"attachment; filename={issued.name}"


def test_head_gives_the_headers_without_the_body(app, issued):
    r = issued.api.client.head(issued.url, headers=issued.api._headers())
    expected, _ = send_file_answer(app, issued)
    assert r.status_code == 200 and r.data == b""
    assert without_date(r.headers) == without_date(expected.headers)


def test_a_cached_copy_is_answered_304(app, issued):
    first = issued.api.get(issued.url)
    for headers in ({"If-None-Match": first.headers["ETag"]},
                    {"If-Modified-Since": first.headers["Last-Modified"]}):
        r = issued.api.get(issued.url, headers=headers)
        assert r.status_code == 304 and r.data == b"", headers
        assert r.headers["ETag"] == first.headers["ETag"]
    changed = issued.api.get(issued.url, headers={"If-None-Match": '"another-version"'})
    assert changed.status_code == 200 and changed.data == first.data


def test_a_range_is_answered_206_and_a_bad_range_416(app, issued):
    whole = issued.path.read_bytes()
    r = issued.api.get(issued.url, headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and r.data == whole[:100]
    assert r.headers["Content-Range"] == f"bytes 0-99/{len(whole)}"
    expected, body = send_file_answer(app, issued, {"Range": "bytes=0-99"})
    assert (expected.status_code, body) == (206, r.data)
    tail = issued.api.get(issued.url, headers={"Range": "bytes=-50"})
    assert tail.status_code == 206 and tail.data == whole[-50:]
    # A Range for an older copy (If-Range with another ETag): the whole current file.
    stale = issued.api.get(issued.url, headers={"Range": "bytes=0-99", "If-Range": '"old"'})
    assert stale.status_code == 200 and stale.data == whole
    beyond = issued.api.get(issued.url, headers={"Range": f"bytes={len(whole) + 10}-"})
    assert beyond.status_code == 416


@pytest.mark.parametrize("name", ["QD-12-2024-NTM-2024-0001.pdf", "QĐ-12-2024-Nà Tăm.pdf",
                                  'QD 12 "ban" 2024.pdf', "Quyết định;số=1.pdf"])
def test_attachment_names_are_written_as_send_file_writes_them(app, name):
    with app.test_request_context("/"):
        expected = flask.send_file(io.BytesIO(b"%PDF"), mimetype="application/pdf", as_attachment=True,
                                   download_name=name)
        assert _attachment_disposition(name) == expected.headers["Content-Disposition"]
        expected.close()
