"""Small builders shared by tests (real files, real services)."""
from __future__ import annotations

import contextlib
import io
import random
import socket
import threading

from sqlalchemy import event

from workflow_app.extensions import db


def pdf_of(*objects: bytes, root: int = 1, comment: bytes = b"") -> bytes:
    """A PDF of these object bodies (numbered from 1) with a correct cross-reference
    table and %%EOF at the end; `comment` goes in a comment line after the header."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + (b"%" + comment + b"\n" if comment else b""))
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<</Size %d/Root %d 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, root, xref)
    return bytes(out)


ONE_PAGE = (b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<<>>>>")


def make_pdf(note: bytes = b"", size: int | None = None) -> bytes:
    """A minimal valid one-page PDF. `note` goes in a comment after the header (a
    distinct file, same structure); `size` pads that comment to make exactly `size` bytes."""
    pdf = pdf_of(*ONE_PAGE, comment=note)
    if size is not None:
        pad = size - len(pdf_of(*ONE_PAGE, comment=note + b" "))
        assert pad >= 0, f"a valid PDF needs at least {size - pad} bytes"
        pdf = pdf_of(*ONE_PAGE, comment=note + b" " + b"0" * pad)
        if len(pdf) != size:  # the startxref offset gained a digit
            pdf = pdf_of(*ONE_PAGE, comment=note + b" " + b"0" * (pad - (len(pdf) - size)))
        assert len(pdf) == size, f"no valid PDF of exactly {size} bytes"
    return pdf


PDF = make_pdf()


def upload(api, dossier_id: int, criterion: str | None, content: bytes = PDF, name: str = "minh-chung.pdf"):
    data = {"file": (io.BytesIO(content), name)}
    if criterion is not None:
        data["criterion"] = criterion
    return api.post(f"/api/v1/dossiers/{dossier_id}/attachments", data=data, content_type="multipart/form-data")


def prepare_all(api, dossier: dict) -> dict:
    """Evidence and a 'met' self-assessment for every criterion, via the API."""
    for c in dossier["criteria"]:
        assert upload(api, dossier["id"], c["code"]).status_code == 201
        r = api.put(f"/api/v1/dossiers/{dossier['id']}/criteria/{c['code']}",
                    json={"self_assessment": "met", "note": "ok"})
        assert r.status_code == 200, r.json
    return api.get(f"/api/v1/dossiers/{dossier['id']}").json


def pass_all(api, dossier: dict) -> dict:
    for c in dossier["criteria"]:
        if c["verdict"] != "pass":
            r = api.post(f"/api/v1/dossiers/{dossier['id']}/criteria/{c['code']}/appraisal", json={"verdict": "pass"})
            assert r.status_code == 200, r.json
    return api.get(f"/api/v1/dossiers/{dossier['id']}").json


def fire(api, dossier_id: int, event: str, comment: str | None = None, version: int | None = None):
    body = {"event": event}
    if comment is not None:
        body["comment"] = comment
    if version is not None:
        body["version"] = version
    return api.post(f"/api/v1/dossiers/{dossier_id}/events", json=body)


def dossier_in(creator, unit: str, year: int, state: str):
    """A village dossier ready for any event (evidence, claims, verdicts), put
    straight into `state`: for tests about events, not about preparation."""
    from workflow_app.extensions import db
    from workflow_app.models import Attachment
    from workflow_app.services import attach_evidence, create_dossier

    dossier = create_dossier(creator, "village_ntm", unit, year)
    attach_evidence(creator, dossier, "mc.pdf", PDF, "1")
    first = dossier.attachments[0]
    for entry in dossier.current_criteria():
        entry.self_assessment, entry.verdict = "met", "pass"
        if entry.code != "1":  # one stored file, referenced by every criterion
            dossier.attachments.append(Attachment(
                criterion_code=entry.code, round=1, filename="mc.pdf", size=first.size, mime=first.mime,
                sha256=first.sha256, storage_key=first.storage_key, uploaded_by_id=creator.id))
    dossier.state = state
    db.session.commit()
    return dossier


def free_port() -> int:
    """A free TCP port on 127.0.0.1 below 32768 (Linux hands out client ports from 32768 up)."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below 32768")


def dispose_engines() -> None:
    """Close the current app's connections (its engine's pool). Left open they would
    pile up until garbage collection, one app per test."""
    from workflow_app.extensions import db

    db.engine.dispose()


@contextlib.contextmanager
def statements():
    """The SQL statements the app's engine sends while the block runs, counted at the
    cursor (SQLAlchemy's before_cursor_execute): a list that fills as they go. Only this
    thread's: a paper rendered meanwhile by the background thread is not the request's."""
    seen: list[str] = []
    here = threading.get_ident()

    def note(conn, cursor, statement, *rest):
        if threading.get_ident() == here:
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", note)


def race(app, calls):
    """Send every (method, token, path, json body) at the same moment, each from its own
    thread and client; return (status, json) per call, in the calls' order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def send(i, method, token, path, body):
        client = app.test_client()
        barrier.wait()
        response = client.open(path, method=method, json=body, headers={"Authorization": f"Bearer {token}"})
        results[i] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=send, args=(i, *call)) for i, call in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results
