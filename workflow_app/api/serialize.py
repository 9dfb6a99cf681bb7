"""Dossiers and decisions as plain dicts, in the CONTRACT's shape."""
from __future__ import annotations

from flask import url_for

from ..clock import local_iso
from ..extensions import db
from ..models import AuditRecord, Decision, Dossier, User
from ..services.admin.takeover import ACTION as TAKEOVER
from ..services.core.campaigns import filing_dict, filing_status
from ..services.core.clocks import clock_dict, step_clock
from ..services.core.common import definition_of
from ..services.core.events import allowed_events
from ..services.documents.decisions import decision_of, verify_url
from ..services.documents.papers import documents_of

iso = local_iso  # stored naive UTC -> ISO 8601 in Vietnam time, with its offset


def unit_ref(unit) -> dict:
    return {"code": unit.code, "name": unit.name}


def dossier_summary(d: Dossier) -> dict:
    return {"id": d.id, "code": d.code, "kind": d.kind, "unit": unit_ref(d.unit), "year": d.year,
            "state": d.state, "version": d.version, "round": d.round}


def history(dossier: Dossier) -> list[dict]:
    records = db.session.execute(
        # Moves, and the handovers of a reform (the authority changed, the state did not).
        db.select(AuditRecord).where(AuditRecord.dossier_id == dossier.id,
                                     db.or_(AuditRecord.is_transition, AuditRecord.action == TAKEOVER))
        .order_by(AuditRecord.seq)).scalars()
    return [{"event": r.action, "from": r.from_state, "to": r.to_state, "actor": r.actor.username,
             "role": r.role, "unit": r.unit.code, "comment": r.comment, "at": iso(r.at)} for r in records]


def decision_ref(dossier: Dossier, decision: Decision | None,
                 pdf_endpoint: str = "dossiers.decision_pdf") -> dict | None:
    if decision is None:
        return None
    return {"number": decision.number, "symbol": decision.symbol,
            "issued_on": decision.issued_on.isoformat(), "status": decision.status,
            "pdf_url": url_for(pdf_endpoint, dossier_id=dossier.id),
            "verify_url": verify_url(decision.verify_token), "sha256": decision.pdf_sha256}


def dossier_full(dossier: Dossier, viewer: User, lang: str = "vi") -> dict:
    d = definition_of(dossier)
    names = {c.code: c.name.get(lang, c.name["vi"]) for c in d.criteria}
    evidence: dict[str, list[int]] = {}
    for a in dossier.evidence:  # removed files stay in the history only
        if a.criterion_code:
            evidence.setdefault(a.criterion_code, []).append(a.id)
    out = dossier_summary(dossier)
    out.update({
        "criteria": [{"code": e.code, "name": names.get(e.code, e.code), "self_assessment": e.self_assessment,
                      "note": e.note, "verdict": e.verdict, "verdict_note": e.verdict_note,
                      "evidence": evidence.get(e.code, [])} for e in dossier.current_criteria()],
        "fields": dict(dossier.fields or {}),
        "attachments": [attachment_dict(a) for a in dossier.evidence],
        "history": history(dossier),
        "allowed_events": allowed_events(viewer, dossier),
        "documents": [document_dict(doc) for doc in documents_of(dossier)],
        "decision": decision_ref(dossier, decision_of(dossier)),
        "revocation": decision_ref(dossier, decision_of(dossier, "revocation"), "dossiers.revocation_pdf"),
        "clock": clock_dict(step_clock(dossier)),
        "filing": filing_dict(filing_status(dossier)),
    })
    return out


def attachment_dict(a) -> dict:
    return {"id": a.id, "filename": a.filename, "size": a.size, "sha256": a.sha256,
            "criterion": a.criterion_code, "mime": a.mime, "round": a.round}


def document_dict(doc) -> dict:
    """A receipt or appraisal report of a dossier (GET /dossiers/{id}/documents)."""
    return {"id": doc.id, "kind": doc.kind, "round": doc.round, "number": doc.number, "symbol": doc.symbol,
            "issued_at": iso(doc.issued_at), "issuer": unit_ref(doc.issuer),
            "pdf_url": url_for("documents.document_pdf", dossier_id=doc.dossier_id, document_id=doc.id)}
