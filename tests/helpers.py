"""Small builders shared by tests (real files, real services)."""
from __future__ import annotations

import io
import random
import socket

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def upload(api, dossier_id: int, criterion: str | None, content: bytes = PDF, name: str = "minh-chung.pdf"):
    data = {"file": (io.BytesIO(content), name)}
    if criterion is not None:
        data["criterion"] = criterion
    return api.post(f"/api/v1/dossiers/{dossier_id}/attachments", data=data, content_type="multipart/form-data")


def prepare_all(api, dossier: dict) -> dict:
    """Evidence and a 'met' self-assessment for every criterion, via the API."""
    for c in dossier["criteria"]:
        assert upload(api, dossier["id"], c["code"]).status_code == 201
        r = api.put(f"/api/v1/dossiers/{dossier['id']}/criteria/{c['code']}", json={"self_assessment": "met", "note": "ok"})
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
    """Close the current app's connections: its engine's pool, on PostgreSQL the
    reads engine's (workflow_app/reads.py), and the read cache's own (read_cache.py).
    Left open they would pile up until garbage collection, one app per test."""
    from flask import current_app

    from workflow_app.extensions import db
    from workflow_app.read_cache import close_read_cache
    from workflow_app.reads import dispose_reads

    close_read_cache(current_app)
    dispose_reads(current_app)
    db.engine.dispose()
