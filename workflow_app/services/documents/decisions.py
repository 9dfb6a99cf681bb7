"""Issuing and revoking decisions. The number comes from the issuer-year
counter in the same transaction as the state change: gap-free, never reused."""
from __future__ import annotations

import logging
import secrets

from ...clock import local_now
from ...extensions import db
from ...models import Decision, Dossier, decision_dossiers
from ...pdf.decision import DecisionFacts, decision_context
from ...pdf.numbers import document_number
from ...signing.issuing import render_signed_pdf
from ..core.common import next_number, setting
from ..core.effects import Act
from ..core.storage import put_bytes
from ..core.wording import committee_of, in_sentence, place_name
from .papers import appraisal_ref

log = logging.getLogger(__name__)








def verify_url(token: str) -> str:
    base = (setting("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    return f"{base}/verify/{token}"


def issue_decision(act: Act) -> Decision:
    """One recognition decision for every dossier of the act (a batch lists them all)."""
    return _issue(act, act.dossiers, "recognition")


def revoke_decision(act: Act) -> list[Decision]:
    """Revocation is a numbered decision of its own, citing the recognition it
    ends (one per original decision concerned). The original keeps its number;
    it is marked revoked once none of its units remains recognised."""
    by_original: dict[int, tuple[Decision, list[Dossier]]] = {}
    for dossier in act.dossiers:
        original = decision_of(dossier)
        if original is None:  # recognised before decisions were kept: nothing to cite
            log.warning("dossier %s revoked without a recognition decision on record", dossier.code)
            continue
        by_original.setdefault(original.id, (original, []))[1].append(dossier)
    issued = []
    revoked = act.definition.events[act.event].dest  # where this revoking event leads
    for original, dossiers in by_original.values():
        issued.append(_issue(act, dossiers, "revocation", original=original))
        if all(x.state == revoked for x in original.dossiers):
            original.status = "revoked"
    return issued


def _issue(act: Act, dossiers: list[Dossier], document: str, original: Decision | None = None) -> Decision:
    actor, cap, d = act.actor, act.cap, act.definition
    issuer = cap.unit
    now = local_now()
    number = next_number(f"decision:{issuer.code}:{now.year}")
    token = secrets.token_urlsafe(16)  # 128 random bits
    first = dossiers[0]
    # Who proposed: the commune(s) of the villages, or the town itself; a batch
    # across communes names them all, and cites every cover request and report.
    proposers = list(dict.fromkeys(
        (x.unit.parent_on(now.date()) if d.applicant_level == "village" and x.unit.parent_on(now.date()) else x.unit)
        for x in dossiers))
    proposer = committee_of(proposers[0]) if len(proposers) == 1 else \
        "Ủy ban nhân dân các xã " + ", ".join(place_name(u) for u in proposers)
    request_refs = _distinct((x.fields or {}).get("request_ref") for x in dossiers)
    appraisal_refs = _distinct(appraisal_ref(x) for x in dossiers) if document == "recognition" else None
    facts = DecisionFacts(
        kind=d.kind, issuer_code=issuer.code, issuer_level=issuer.level, issuer_name=issuer.name,
        issuer_place=place_name(issuer),
        number=number, symbol=f"{document_number(number)}/QĐ-UBND", issued_on=now.date(), year=first.year,
        units=[(x.unit.name, in_sentence(p.name) if (p := x.unit.parent_on(now.date())) else "") for x in dossiers],
        proposer=proposer, request_ref=request_refs if document == "recognition" else None,
        appraisal_ref=appraisal_refs, signer_name=actor.name,
        signer_capacity=cap.assignment.capacity or "vice_chairman",
        verify_url=verify_url(token), dossier_codes=[x.code for x in dossiers],
        document=document, reason=act.comment,
        original_symbol=original.symbol if original else None,
        original_date=original.issued_on if original else None,
        original_subject=original.subject if original else None,
        original_issuer_name=original.issuer.name if original else None)
    context = decision_context(facts)
    # Rendered in a recycled worker (time limit), signed once (PAdES) when the
    # issuer has a key; these stored bytes are what every download returns.
    pdf = render_signed_pdf("pdf/decision.html", context, issuer_code=issuer.code,
                            issuer_name=committee_of(issuer), signer_username=actor.username,
                            signer_name=actor.name, capacity=" - ".join(context["capacity_lines"]), when=now)
    key, digest = put_bytes(pdf, ".pdf")
    decision = Decision(
        issuer_id=issuer.id, issuer=issuer, year=now.year, number=number, symbol=facts.symbol,
        type=document, issued_on=now.date(), signer_id=actor.id, signer_name=actor.name,
        subject=context.get("subject", ""), pdf_key=key, pdf_sha256=digest, verify_token=token,
        status="valid", dossiers=list(dossiers), revokes=original,
        reason=act.comment if document == "revocation" else None)
    db.session.add(decision)
    log.info("%s decision %s of %s issued for %s", document, decision.symbol, issuer.code, facts.dossier_codes)
    return decision


def _distinct(refs) -> str | None:
    """"A, B" of the distinct non-empty references, in order; None when there are none."""
    found = list(dict.fromkeys(r.strip() for r in refs if r and r.strip()))
    return ", ".join(found) or None


def decision_of(dossier: Dossier, document: str = "recognition") -> Decision | None:
    """The dossier's latest decision of that type (recognition or revocation)."""

    stmt = (db.select(Decision).join(decision_dossiers, decision_dossiers.c.decision_id == Decision.id)
            .where(decision_dossiers.c.dossier_id == dossier.id, Decision.type == document)
            .order_by(Decision.id.desc()).limit(1))
    return db.session.execute(stmt).scalar_one_or_none()


def find_by_token(token: str) -> Decision | None:
    return db.session.execute(db.select(Decision).where(Decision.verify_token == token)).scalar_one_or_none()
