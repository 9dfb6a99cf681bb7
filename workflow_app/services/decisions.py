"""Issuing and revoking decisions. The number comes from the issuer-year
counter in the same transaction as the state change: gap-free, never reused."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path

from ..extensions import db
from ..models import Decision, Dossier, Unit, User
from .effects import Act, effect
from .common import local_now, next_number, setting
from .storage import put_bytes

log = logging.getLogger(__name__)
LEVEL_WORDS = ("Tỉnh ", "Huyện ", "Thị trấn ", "Xã ", "Thành phố ", "Thị xã ")


def place_name(unit: Unit) -> str:
    """"Huyện Tam Đường" -> "Tam Đường" (the place line of a decision)."""
    for word in LEVEL_WORDS:
        if unit.name.startswith(word):
            return unit.name[len(word):]
    return unit.name


def in_sentence(name: str) -> str:
    """"Xã Nà Tăm" -> "xã Nà Tăm": the level word is lower case inside a sentence."""
    for word in LEVEL_WORDS:
        if name.startswith(word):
            return word.lower() + name[len(word):]
    return name


def committee_of(unit: Unit) -> str:
    """"Xã Nà Tăm" -> "Ủy ban nhân dân xã Nà Tăm"."""
    return "Ủy ban nhân dân " + in_sentence(unit.name)


def verify_url(token: str) -> str:
    base = (setting("PUBLIC_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")
    return f"{base}/verify/{token}"


@effect("issue_decision")
def issue_decision(act: Act) -> Decision:
    actor, cap, dossiers, d = act.actor, act.cap, act.dossiers, act.definition
    from ..pdf.decision import DecisionFacts, decision_context
    from ..pdf.render import render_pdf

    issuer = cap.unit
    now = local_now()
    number = next_number(f"decision:{issuer.code}:{now.year}")
    token = secrets.token_urlsafe(16)  # 128 random bits
    first = dossiers[0]
    proposer_unit = first.unit.parent if d.applicant_level == "village" and first.unit.parent else first.unit
    facts = DecisionFacts(
        kind=d.kind, issuer_code=issuer.code, issuer_name=issuer.name, issuer_place=place_name(issuer),
        number=number, symbol=f"{number}/QĐ-UBND", issued_on=now.date(), year=first.year,
        units=[(x.unit.name, in_sentence(x.unit.parent.name) if x.unit.parent else "") for x in dossiers],
        proposer=committee_of(proposer_unit), request_ref=(first.fields or {}).get("request_ref"),
        appraisal_ref=None, signer_name=actor.name,
        signer_capacity=cap.assignment.capacity or "vice_chairman",
        verify_url=verify_url(token), dossier_codes=[x.code for x in dossiers])
    context = decision_context(facts)
    pdf = sign_if_configured(render_pdf("pdf/decision.html", context), issuer, actor.name,
                             " - ".join(context["capacity_lines"]), now)
    key, digest = put_bytes(pdf, ".pdf")
    decision = Decision(
        issuer_id=issuer.id, issuer=issuer, year=now.year, number=number, symbol=facts.symbol,
        type="recognition", issued_on=now.date(), signer_id=actor.id, signer_name=actor.name,
        subject=context.get("subject", ""), pdf_key=key, pdf_sha256=digest, verify_token=token,
        status="valid", dossiers=list(dossiers))
    db.session.add(decision)
    log.info("decision %s of %s issued for %s", decision.symbol, issuer.code, facts.dossier_codes)
    return decision


def signing_material(issuer: Unit) -> tuple[Path, Path, list[Path]] | None:
    """SIGNING_DIR/<issuer>.key.pem and .cert.pem, chained to root.pem (what
    `flask signing init-dev` writes; a real issuer's files go in the same place)."""
    folder = Path(setting("SIGNING_DIR"))
    key, cert, root = folder / f"{issuer.code}.key.pem", folder / f"{issuer.code}.cert.pem", folder / "root.pem"
    if not (key.exists() and cert.exists()):
        return None
    return key, cert, [root] if root.exists() else []


def sign_if_configured(pdf: bytes, issuer: Unit, signer: str, capacity: str, when) -> bytes:
    """PAdES-sign once at issue; the signed bytes are what is stored and served."""
    material = signing_material(issuer)
    if material is None:
        log.warning("no signing key for %s in %s: decision stored unsigned", issuer.code, setting("SIGNING_DIR"))
        return pdf
    from ..signing.pades import sign_pdf

    key, cert, chain = material
    return sign_pdf(pdf, key, cert, chain, signer_name=signer, capacity=capacity,
                    issuer_name=committee_of(issuer), signing_time=when)


@effect("revoke_decision")
def revoke_decision(act: Act) -> None:
    for dossier in act.dossiers:
        decision = decision_of(dossier)
        if decision is not None and decision.status == "valid":
            decision.status = "revoked"


def decision_of(dossier: Dossier) -> Decision | None:
    from ..models import decision_dossiers

    stmt = (db.select(Decision).join(decision_dossiers, decision_dossiers.c.decision_id == Decision.id)
            .where(decision_dossiers.c.dossier_id == dossier.id, Decision.type == "recognition")
            .order_by(Decision.id.desc()).limit(1))
    return db.session.execute(stmt).scalar_one_or_none()


def find_by_token(token: str) -> Decision | None:
    return db.session.execute(db.select(Decision).where(Decision.verify_token == token)).scalar_one_or_none()
