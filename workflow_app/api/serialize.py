"""Dossiers and decisions as plain dicts, in the CONTRACT's shape."""
from __future__ import annotations

from datetime import date

from flask import url_for
from sqlalchemy.orm import defer, joinedload

from ..clock import local_date, local_iso, local_today
from ..extensions import db
from ..models import AuditRecord, Decision, Document, Dossier, DossierLine, Unit, User, decision_dossiers
from ..services.admin.takeover import ACTION as TAKEOVER
from ..services.core.campaigns import campaign_for, filing_dict, status_for
from ..services.core.clocks import APOLOGY, clock_dict, clock_from_records
from ..services.core.common import definition_of, filing_events
from ..services.core.events import allowed_events
from ..services.core.lines import lines_of, ordered, totals, unit_names
from ..services.documents.decisions import verify_url
from ..workflow.definitions import Definition
from ..workflow.errors import NotFound

iso = local_iso  # stored naive UTC -> ISO 8601 in Vietnam time, with its offset


def unit_ref(unit) -> dict:
    return {"code": unit.code, "name": unit.name}


def dossier_summary(d: Dossier) -> dict:
    return {"id": d.id, "code": d.code, "kind": d.kind, "unit": unit_ref(d.unit), "year": d.year,
            "state": d.state, "version": d.version, "round": d.round}


def trail(dossier: Dossier, barred: tuple[str, ...] = ()) -> list:
    """The dossier's audit records the answer reads, in chain order, in one statement:
    its moves, the handovers of a reform (the authority changed, the state did not),
    apology slips (their new dates) and the `barred` acts (separation of duties), each
    with its actor's login and unit's code."""
    if dossier.id is None:
        return []
    return db.session.execute(
        db.select(AuditRecord.seq, AuditRecord.action, AuditRecord.is_transition, AuditRecord.from_state,
                  AuditRecord.to_state, AuditRecord.actor_id, AuditRecord.role, AuditRecord.comment,
                  AuditRecord.at, AuditRecord.data, User.username, Unit.code.label("unit_code"))
        .join(User, User.id == AuditRecord.actor_id).join(Unit, Unit.id == AuditRecord.unit_id)
        .where(AuditRecord.dossier_id == dossier.id,
               db.or_(AuditRecord.is_transition, AuditRecord.action.in_((TAKEOVER, APOLOGY, *barred))))
        .order_by(AuditRecord.seq)).all()


def history(records) -> list[dict]:
    return [{"event": r.action, "from": r.from_state, "to": r.to_state, "actor": r.username,
             "role": r.role, "unit": r.unit_code, "comment": r.comment, "at": iso(r.at)}
            for r in records if r.is_transition or r.action == TAKEOVER]


def first_filed_on(dossier: Dossier, records) -> date | None:
    """The day (+07:00) of the dossier's first filing, from its transitions already read."""
    filing = filing_events(dossier.kind)
    first = next((r for r in records if r.is_transition and r.action in filing), None)
    return local_date(first.at) if first else None


def papers(dossier: Dossier) -> list[Document]:
    """The dossier's papers, oldest first, with their issuers, in one statement."""
    if dossier.id is None:
        return []
    return list(db.session.execute(
        db.select(Document).where(Document.dossier_id == dossier.id)
        .options(defer(Document.data), joinedload(Document.issuer).lazyload(Unit.links))
        .order_by(Document.id)).scalars())


def latest_decisions(dossier: Dossier) -> dict[str, object]:
    """The dossier's latest decision of each type (recognition, revocation), in one statement."""
    if dossier.id is None:
        return {}
    rows = db.session.execute(
        db.select(Decision.type, Decision.number, Decision.symbol, Decision.issued_on, Decision.status,
                  Decision.verify_token, Decision.pdf_sha256)
        .join(decision_dossiers, decision_dossiers.c.decision_id == Decision.id)
        .where(decision_dossiers.c.dossier_id == dossier.id).order_by(Decision.id.desc())).all()
    latest: dict[str, object] = {}
    for r in rows:
        latest.setdefault(r.type, r)
    return latest


def decision_ref(dossier: Dossier, decision, pdf_endpoint: str = "dossiers.decision_pdf") -> dict | None:
    if decision is None:
        return None
    return {"number": decision.number, "symbol": decision.symbol,
            "issued_on": decision.issued_on.isoformat(), "status": decision.status,
            "pdf_url": url_for(pdf_endpoint, dossier_id=dossier.id),
            "verify_url": verify_url(decision.verify_token), "sha256": decision.pdf_sha256}


def dossier_full(dossier: Dossier, viewer: User, lang: str = "vi") -> dict:
    """GET of one dossier, and the answer of every write that promises it: the dossier
    and its attachments as loaded (load_dossier), then three statements whatever its
    size: its audit trail (history, step clock, first filing, what the viewer has
    fired), its papers, its decisions."""
    d = definition_of(dossier)
    names = {c.code: c.name.get(lang, c.name["vi"]) for c in d.criteria}
    evidence: dict[str, list[int]] = {}
    for a in dossier.evidence:  # removed files stay in the history only
        if a.criterion_code:
            evidence.setdefault(a.criterion_code, []).append(a.id)
    barred = tuple({n for e in d.offered_from(dossier.state) for n in e.not_by_actor_of})
    records = trail(dossier, barred)
    acted = {r.action for r in records if r.actor_id == viewer.id and r.action in barred}
    decisions = latest_decisions(dossier)
    out = dossier_summary(dossier)
    out.update({
        "criteria": [{"code": e.code, "name": names.get(e.code, e.code), "self_assessment": e.self_assessment,
                      "note": e.note, "verdict": e.verdict, "verdict_note": e.verdict_note,
                      "evidence": evidence.get(e.code, [])} for e in dossier.current_criteria()],
        "fields": dict(dossier.fields or {}),
        "attachments": [attachment_dict(a) for a in dossier.evidence],
        "history": history(records),
        "allowed_events": allowed_events(viewer, dossier, acted),
        "documents": [document_dict(doc) for doc in papers(dossier)],
        "decision": decision_ref(dossier, decisions.get("recognition")),
        "revocation": decision_ref(dossier, decisions.get("revocation"), "dossiers.revocation_pdf"),
        "clock": clock_dict(clock_from_records(dossier, records)),
        "filing": filing_dict(status_for(campaign_for(dossier.kind, dossier.year), first_filed_on(dossier, records),
                                         local_today())),
    })
    if d.lines:
        table = lines_answer(dossier, dossier.round, lang)
        out.update({"lines": table["items"], "totals": table["totals"]})
    return out


def lines_answer(dossier: Dossier, round_: int, lang: str = "vi") -> dict:
    """GET .../lines: the lines of one round of a dossier made of lines in the order people
    read them (422 for a dossier of criteria; 404 for a round it never had), each with
    every column, and what they add up to per the summary's breakdown."""
    spec = lines_of(dossier)
    if not 1 <= round_ <= dossier.round:
        raise NotFound(f"Hồ sơ không có phiên bản (lần) {round_}: có từ 1 đến {dossier.round}.",
                       f"The dossier has no version (round) {round_}: it has 1 to {dossier.round}.")
    d = definition_of(dossier)
    lines = ordered(spec, [ln for ln in dossier.lines if ln.round == round_])
    breakdown = spec.columns[spec.summary.breakdown]
    names = unit_names(ln.values.get(breakdown.name) for ln in lines) if breakdown.type == "unit" else {}
    return {"items": [line_dict(d, ln) for ln in lines], "round": round_, "version": dossier.version,
            "totals": [{"key": t.key, "label": t.label, "amount": t.amount, "granted": t.granted}
                       for t in totals(d, lines, names, lang)]}


def line_dict(d: Definition, line: DossierLine) -> dict:
    """One line: its id, every column of the definition `d` (None when not given), and
    what was granted when the definition grants per line."""
    item = {"id": line.id, **{name: line.values.get(name) for name in d.lines.columns}}
    if d.grant_event is not None:
        item["granted"] = line.granted
    return item


def attachment_dict(a) -> dict:
    return {"id": a.id, "filename": a.filename, "size": a.size, "sha256": a.sha256,
            "criterion": a.criterion_code, "mime": a.mime, "round": a.round}


def document_dict(doc) -> dict:
    """A receipt or appraisal report of a dossier (GET /dossiers/{id}/documents)."""
    return {"id": doc.id, "kind": doc.kind, "round": doc.round, "number": doc.number, "symbol": doc.symbol,
            "issued_at": iso(doc.issued_at), "issuer": unit_ref(doc.issuer),
            "pdf_url": url_for("documents.document_pdf", dossier_id=doc.dossier_id, document_id=doc.id)}
