"""Papers of a dossier other than decisions: the receipt slip made at submission and
the appraisal report made when a dossier is marked appraised.

Both are effects named in states/*.yaml (`effects: [issue_receipt]` on submit,
`[issue_appraisal_report]` on appraise). Each makes one Document row per dossier and
round in the event's transaction, holding every fact the PDF prints, captured at that
moment, and a copy of the texts (states/documents/<kind>.yaml) then in force. The PDF
is rendered from that row alone once the transaction commits (after_commit.py) and
kept: whatever happens to the dossier afterwards, the paper reads the same. A download
that comes before that render (still queued, failed) renders it (`ensure_pdf`).

- The receipt has no number: the dossier code identifies it (with the round, for a
  resubmission after a return). Its issuer is the receiving body: the applicant's
  ancestor at the level of whoever acts next (the `appraise` event's `by` levels),
  read from the definition, never a hard-coded "district".
- The appraisal report is numbered per issuing unit and calendar year with the same
  gap-free counter as decisions (`appraisal_report:<unit code>:<year>`): a refused or
  rolled-back appraisal gives its number back. Its issuer is the unit at which the
  appraiser holds the role they appraised in.
"""
from __future__ import annotations

import logging
from datetime import datetime

from ...clock import local_iso, local_now, local_today
from ...extensions import db
from ...models import Document, Dossier, Unit, User, utcnow
from ...pdf.documents import document_context, reference, texts_for
from ...pdf.numbers import document_number
from ...workflow.definitions import Actor, Definition
from ...workflow.errors import NotFound
from ..core.clocks import step_clock
from ..core.common import engine, last_filing, next_number
from ..core.effects import Act
from ..core.wording import actor_name, committee_of, in_sentence, place_name
from .after_commit import needs_pdf, one_render, record_pdf, render_after_commit, render_file
from .apology import APOLOGY_PREFIX, apology_context

log = logging.getLogger(__name__)
KINDS = ("receipt", "appraisal_report")


# ----------------------------------------------------------------------------- effects

def issue_receipt(act: Act) -> list[Document]:
    now = local_now()
    made = []
    for dossier in act.dossiers:
        clock = step_clock(dossier, now.date())
        receiver = receiving_unit(dossier, act.definition, act.cap.unit)
        facts = _dossier_facts(dossier, act.definition, receiver)
        facts.update({
            "submitted_at": now.isoformat(timespec="seconds"),
            "submitter_name": act.actor.name,
            "submitter_role": actor_name(Actor(act.cap.role, act.cap.unit.level), "vi"),
            "submitter_unit": act.cap.unit.name,
            "sender": committee_of(act.cap.unit),
            "attachments": [_attachment(a, facts["criterion_names"]) for a in dossier.evidence],
            "comment": act.comment,
            "due_date": clock.due_on.isoformat() if clock and clock.due_on else None,
        })
        made.append(_add(dossier, "receipt", act.actor, receiver, facts, now))
    return made


def issue_appraisal_report(act: Act) -> list[Document]:
    now = local_now()
    issuer = act.cap.unit
    texts = texts_for("appraisal_report", issuer.code, issuer.level)
    made = []
    for dossier in act.dossiers:
        number = next_number(f"appraisal_report:{issuer.code}:{now.year}")
        facts = _dossier_facts(dossier, act.definition, issuer)
        submit = last_filing(dossier)
        names = facts["criterion_names"]
        facts.update({
            "number": number,
            "symbol": texts["symbol"].format_map({"number": document_number(number)}),
            "issued_at": now.isoformat(timespec="seconds"),
            "appraiser_name": act.actor.name,
            "appraiser_role": actor_name(Actor(act.cap.role, issuer.level), "vi"),
            "appraiser_unit": in_sentence(issuer.name),  # "huyện Tam Đường"
            # The report is signed for the appraising office: its head, or a deputy
            # (an assignment signing as vice chairman signs as deputy head here).
            "signer_capacity": "deputy" if act.cap.assignment.capacity == "vice_chairman" else "head",
            "submitted_at": local_iso(submit.at) if submit else None,
            "sender": committee_of(submit.unit) if submit else None,
            "criteria": [{"code": e.code, "name": names.get(e.code, e.code),
                          "self_assessment": e.self_assessment, "verdict": e.verdict,
                          "verdict_note": e.verdict_note, "appraiser": e.appraiser.name if e.appraiser else None}
                         for e in dossier.current_criteria()],
            "comment": act.comment,
        })
        made.append(_add(dossier, "appraisal_report", act.actor, issuer, facts, now, texts,
                         number=number, symbol=facts["symbol"]))
    return made


def receiving_unit(dossier: Dossier, d: Definition, fallback: Unit) -> Unit:
    """The applicant's ancestor (or itself) at the level of whoever appraises, as the
    definition says: the event issuing the appraisal report, by appraiser@district ->
    the applicant's district (else whoever acts where the filing event leads)."""
    appraise = next((e for e in d.events.values() if "issue_appraisal_report" in e.effects), None)
    actors = appraise.by if appraise else tuple(
        a for name in d.filing_events for e in d.events_from(d.events[name].dest) for a in e.by)
    chain = [dossier.unit, *dossier.unit.ancestors_on(local_today())]
    for actor in actors:
        unit = next((u for u in chain if u.level == actor.level), None)
        if unit is not None:
            return unit
    log.warning("dossier %s: no unit at the appraising level; the receipt names %s", dossier.code, fallback.code)
    return fallback


def _dossier_facts(dossier: Dossier, d: Definition, issuer: Unit) -> dict:
    names = {c.code: c.name["vi"] for c in d.criteria}
    parent = dossier.unit.parent_on(local_today())
    values = dict(dossier.fields or {})
    return {
        "dossier_id": dossier.id,
        "dossier_code": dossier.code,
        "dossier_kind": dossier.kind,
        "dossier_label": engine().kind_label(dossier.kind, "vi"),
        "year": dossier.year,
        "round": dossier.round,
        "applicant_code": dossier.unit.code,
        "applicant_name": dossier.unit.name,
        "applicant": in_sentence(dossier.unit.name),
        "applicant_parent": in_sentence(parent.name) if parent else None,
        "issuer": {"code": issuer.code, "name": issuer.name, "place": place_name(issuer),
                   "committee": committee_of(issuer)},
        "request_ref": values.get("request_ref"),
        "fields": [{"name": fd.name, "label": fd.labels["vi"], "value": values.get(fd.name)}
                   for fd in d.fields.values()],
        "criterion_names": names,
        "criteria": [{"code": e.code, "name": names.get(e.code, e.code), "self_assessment": e.self_assessment}
                     for e in dossier.current_criteria()],
    }


def _attachment(a, names: dict) -> dict:
    return {"id": a.id, "filename": a.filename, "size": a.size, "sha256": a.sha256, "round": a.round,
            "criterion": a.criterion_code, "criterion_name": names.get(a.criterion_code)}


def _add(dossier: Dossier, kind: str, actor: User, issuer: Unit, facts: dict, now,
         texts: dict | None = None, number: int | None = None, symbol: str | None = None) -> Document:
    doc = Document(dossier_id=dossier.id, dossier=dossier, kind=kind, round=dossier.round, number=number,
                   symbol=symbol, issued_at=utcnow(), issued_by_id=actor.id, issuer_id=issuer.id,
                   data={"facts": facts, "texts": texts or texts_for(kind, issuer.code, issuer.level)})
    db.session.add(doc)
    render_after_commit(doc, *pdf_source(doc))
    log.info("dossier %s: %s %s issued by %s for round %s", dossier.code, kind, symbol or "", issuer.code,
             dossier.round)
    return doc


# ----------------------------------------------------------------------------- reading

def documents_of(dossier: Dossier) -> list[Document]:
    """Every paper of the dossier, oldest first."""
    if dossier.id is None:
        return []
    return list(db.session.execute(
        db.select(Document).where(Document.dossier_id == dossier.id).order_by(Document.id)).scalars())


def find_document(dossier: Dossier, document_id: int) -> Document:
    doc = db.session.get(Document, document_id)
    if doc is None or doc.dossier_id != dossier.id:
        raise NotFound("Hồ sơ này không có giấy tờ số này. Hãy chọn trong danh sách giấy tờ của hồ sơ.",
                       "This dossier has no such document. Pick one from the dossier's documents.")
    return doc


def latest_appraisal_report(dossier: Dossier) -> Document | None:
    return db.session.execute(
        db.select(Document).where(Document.dossier_id == dossier.id, Document.kind == "appraisal_report")
        .order_by(Document.round.desc(), Document.id.desc()).limit(1)).scalar_one_or_none()


def appraisal_ref(dossier: Dossier) -> str | None:
    """"Báo cáo thẩm định số 12/BC-NN ngày 02/9/2024" for the dossier's latest report,
    for the decision's "Xét đề nghị ... tại ..." line; None when there is none."""
    doc = latest_appraisal_report(dossier)
    if doc is None:
        return None
    issued = datetime.fromisoformat(doc.data["facts"]["issued_at"]).date()
    return reference(doc.data["texts"], doc.symbol, issued)


def pdf_source(doc: Document) -> tuple[str, dict]:
    """(template name, context) of any paper of a dossier, from its stored facts alone."""
    if doc.kind.startswith(APOLOGY_PREFIX):
        return "pdf/apology.html", apology_context(doc.data["facts"])
    return document_context(doc.kind, doc.data)


def ensure_pdf(doc: Document) -> Document:
    """The paper with its PDF. Rendered after issue (after_commit.py), so this is
    usually a read; a paper whose render has not run yet (still queued, failed, its
    process stopped) is rendered now, stored and its key committed with the caller's
    transaction. Whoever renders a paper first (this download, the background thread,
    another machine) holds its row (after_commit.one_render, needs_pdf) until the key
    is committed; a second one waits, then reads the first one's file."""
    if doc.pdf_key:
        return doc
    with one_render(doc.id):
        if needs_pdf(db.session, doc.id):
            key, digest = render_file(*pdf_source(doc))
            record_pdf(db.session, doc.id, key, digest)
            log.info("document %s (%s of %s) rendered at download: %s", doc.id, doc.kind, doc.dossier_id, digest)
        db.session.commit()  # inside one_render: the next one in this process finds the key
    return doc
