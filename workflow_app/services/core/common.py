"""Shared service plumbing: the engine, acting capacities, compare-and-set,
audit records and gap-free counters."""
from __future__ import annotations

import logging
from datetime import date

from flask import current_app
from sqlalchemy import update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ...clock import local_today
from ...extensions import db, insert_or_skip
from ...formats import vn_date
from ...models import AuditRecord, Counter, Dossier, Unit, UnitLink, User, utcnow
from ...models.audit import GENESIS
from ...permissions import Capacity, can_view, capacities, ended_roles, has_acted
from ...workflow import Definition, Engine
from ...workflow.definitions import ActionDef, EventDef, FieldDef
from ...workflow.errors import NotFound, NotPermitted, StaleVersion
from ...workflow.guards import CriterionFacts, DossierFacts
from .persist import LostRace
from .wording import who

log = logging.getLogger(__name__)


def engine() -> Engine:
    return current_app.extensions["workflow_engine"]


def setting(name: str):
    return current_app.config[name]


def definition_of(dossier: Dossier, day: date | None = None) -> Definition:
    """The road that governs the dossier's actions on `day` (today): chosen by the
    dossier's year (its programme) and the date, so a reform changes who acts."""
    d = engine().definition_for(dossier.kind, dossier.year, day or local_today())
    if d is None:  # a definition file was removed while dossiers still use it
        raise RuntimeError(f"no definition for {dossier.kind} of {dossier.year}")
    return d


def filing_events(kind: str) -> tuple[str, ...]:
    """The kind's `files: true` events over all its roads (a history spans roads)."""
    return tuple(dict.fromkeys(e for d in engine().roads(kind) for e in d.filing_events))


def is_filing(kind: str):
    """The one definition of "a submission" of a dossier of `kind`: a transition record
    of one of its kind's `files: true` events (a clause on AuditRecord)."""
    return db.and_(AuditRecord.is_transition, AuditRecord.action.in_(filing_events(kind)))


def _is_filing(dossier: Dossier):
    return (AuditRecord.dossier_id == dossier.id, is_filing(dossier.kind))


def last_filing(dossier: Dossier) -> AuditRecord | None:
    """The dossier's last filing transition record: "the submission"."""
    return db.session.execute(db.select(AuditRecord).where(*_is_filing(dossier))
                              .order_by(AuditRecord.seq.desc()).limit(1)).scalar_one_or_none()


def first_filing(dossier: Dossier) -> AuditRecord | None:
    """The dossier's first filing transition record (its first submission, any round)."""
    return db.session.execute(db.select(AuditRecord).where(*_is_filing(dossier))
                              .order_by(AuditRecord.seq).limit(1)).scalar_one_or_none()


def filers(dossier: Dossier) -> list[User]:
    """Everyone who has filed the dossier (any round), each once."""
    stmt = (db.select(User).join(AuditRecord, AuditRecord.actor_id == User.id)
            .where(*_is_filing(dossier)).distinct())
    return list(db.session.execute(stmt).scalars())


def load_dossier(dossier_id: int, actor: User) -> Dossier:
    """404 both when missing and when the actor may not see it (no existence leak).

    Two statements, whatever the dossier's size: the row with its applicant, the
    applicant's places (the scope rule reads their paths) and its criteria of every
    round joined; then its attachments. Every write service and the dossier's answer
    read only these (the places' parents load on demand, not in cascade)."""
    stmt = (db.select(Dossier).where(Dossier.id == dossier_id)
            .options(joinedload(Dossier.unit).joinedload(Unit.links).lazyload(UnitLink.parent),
                     joinedload(Dossier.criteria), selectinload(Dossier.attachments)))
    dossier = db.session.execute(stmt).unique().scalar_one_or_none()
    if dossier is None or not can_view(actor, dossier):
        raise dossier_not_found()
    return dossier


def dossier_not_found() -> NotFound:
    """The one refusal for a dossier that is missing or hidden from the caller."""
    return NotFound("Không tìm thấy hồ sơ, hoặc bạn không có quyền xem hồ sơ này. Hãy kiểm tra lại mã hồ sơ.",
                    "No such dossier, or you may not see it. Check the dossier number.")


def acting_capacity(actor: User, dossier: Dossier, rule: EventDef | ActionDef | FieldDef) -> Capacity:
    """The role the actor acts in, or 403 saying who may act. A dossier not
    yet saved (creation) has no history, so only the role check applies."""
    found = capacities(actor, dossier.unit, rule.by)
    if not found:
        ended = ended_roles(actor, dossier.unit)
        if ended:
            unit = ended[0].unit
            basis = f" ({unit.ended_by.legal_basis})" if unit.ended_by else ""
            raise NotPermitted(
                f"Vai trò của bạn tại {unit.name} đã chấm dứt sau ngày {vn_date(unit.valid_to)}{basis}: "
                f"bạn vẫn xem được hồ sơ nhưng không thể '{rule.labels['vi']}'. "
                f"Từ nay việc này do {who(rule.by, 'vi')} thực hiện.",
                f"Your role at {unit.name} ended after {vn_date(unit.valid_to)}{basis}: you can still read "
                f"this dossier but may not '{rule.labels['en']}'. Now {who(rule.by, 'en')} does this.")
        raise NotPermitted(
            f"Bạn không có quyền '{rule.labels['vi']}' cho hồ sơ này: chỉ {who(rule.by, 'vi')} được làm việc này.",
            f"You may not '{rule.labels['en']}' on this dossier: only {who(rule.by, 'en')} may.")
    if dossier.id is not None and has_acted(dossier, actor, getattr(rule, "not_by_actor_of", ())):
        raise NotPermitted(
            f"Người đã nộp hồ sơ không được '{rule.labels['vi']}' chính hồ sơ đó (tách bạch nhiệm vụ). "
            "Hãy để cán bộ khác thực hiện.",
            f"Whoever submitted a dossier may not '{rule.labels['en']}' it (separation of duties). Ask a colleague.")
    # The most specific unit (deepest path) speaks for the act.
    return max(found, key=lambda c: len(c.unit.path))


def check_version(dossier: Dossier, expected: int | None) -> None:
    if expected is not None and expected != dossier.version:
        raise StaleVersion(
            "Người khác đã thay đổi hồ sơ này trong lúc bạn đang xem. Hãy tải lại trang để xem những gì đã thay đổi, "
            "rồi thử lại.",
            "Someone changed this dossier while you were reading it. Reload the page to see what changed, "
            "then try again.")


def touch(dossier: Dossier) -> None:
    """Every change bumps the version, so concurrent changes of one dossier
    serialize on its row: the UPDATE ... WHERE version = n has one winner."""
    dossier.updated_at = utcnow()


def facts_of(dossier: Dossier, d: Definition) -> DossierFacts:
    entries = {c.code: c for c in dossier.current_criteria()}
    evidence: dict[str, int] = {}
    for a in dossier.evidence:  # removed files do not count
        if a.criterion_code:
            evidence[a.criterion_code] = evidence.get(a.criterion_code, 0) + 1
    criteria = []
    for c in d.criteria:
        e = entries.get(c.code)
        criteria.append(CriterionFacts(
            code=c.code, name_vi=c.name["vi"], name_en=c.name["en"],
            self_assessment=e.self_assessment if e else None,
            verdict=e.verdict if e else None, evidence_count=evidence.get(c.code, 0)))
    return DossierFacts(state=dossier.state, criteria=tuple(criteria), fields=dict(dossier.fields or {}),
                        line_count=len(dossier.current_lines()) if d.lines else 0)


def record(dossier: Dossier, actor: User, cap: Capacity, action: str, *,
           from_state: str | None = None, to_state: str | None = None,
           comment: str | None = None, data: dict | None = None,
           is_transition: bool = False) -> AuditRecord:
    """Append to the dossier's hash chain, in the caller's transaction. The chain
    grows from the head on the dossier row (count and last hash), not from the last
    record found, so records deleted at the end leave a gap.

    The new head rides on the dossier's own compare-and-set UPDATE (`WHERE version =
    <read version>`, see `touch`): one statement, and the head read with the dossier
    is the head written over, or the UPDATE finds no row and the race is lost
    (persist.LostRace). So every record is a change that bumps the version. The
    chain's first record (the row inserted by this transaction) writes the head with
    a compare on the empty count instead, so a new dossier keeps version 1."""
    seq, prev = (dossier.audit_count or 0) + 1, dossier.audit_head or GENESIS
    rec = AuditRecord(
        dossier_id=dossier.id, seq=seq, action=action,
        is_transition=is_transition, from_state=from_state, to_state=to_state,
        actor_id=actor.id, role=cap.role, unit_id=cap.unit.id, comment=comment,
        data=data or {}, at=utcnow(), prev_hash=prev, hash="")
    rec.hash = rec.compute_hash()
    if seq == 1:
        dossiers = Dossier.__table__
        done = db.session.execute(
            dossiers.update().where(dossiers.c.id == dossier.id, dossiers.c.audit_count == 0)
            .values(audit_count=1, audit_head=rec.hash))
        if done.rowcount != 1:
            raise LostRace()
        set_committed_value(dossier, "audit_count", 1)
        set_committed_value(dossier, "audit_head", rec.hash)
    else:
        dossier.audit_count, dossier.audit_head = seq, rec.hash
    db.session.add(rec)
    log.info("dossier %s: %s by %s as %s@%s%s", dossier.code, action, actor.username, cap.role,
             cap.unit.code, f" {from_state}->{to_state}" if is_transition else "")
    return rec


def next_number(scope: str) -> int:
    """Gap-free counter: the UPDATE locks the row until commit, and a rollback
    gives the number back. (Database sequences leave gaps; never used here.)"""
    bump = (update(Counter).where(Counter.scope == scope)
            .values(value=Counter.value + 1).returning(Counter.value)
            .execution_options(synchronize_session=False))
    value = db.session.execute(bump).scalar()
    if value is None:
        db.session.execute(insert_or_skip(Counter).values(scope=scope, value=0).on_conflict_do_nothing())
        value = db.session.execute(bump).scalar()
    return int(value)
