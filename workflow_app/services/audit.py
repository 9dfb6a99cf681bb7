"""Checking the per-dossier hash chains of the audit records."""
from __future__ import annotations

from dataclasses import dataclass

from ..extensions import db
from ..models import AuditRecord
from ..models.audit import GENESIS


@dataclass
class ChainBreak:
    record_id: int
    dossier_id: int
    seq: int
    problem: str


def verify_chains() -> tuple[int, ChainBreak | None]:
    """Walk every dossier's chain in order; return (records checked, first break)."""
    stmt = db.select(AuditRecord).order_by(AuditRecord.dossier_id, AuditRecord.seq)
    checked, current, prev_hash, expected_seq = 0, None, GENESIS, 1
    for rec in db.session.execute(stmt).scalars().yield_per(500):
        if rec.dossier_id != current:
            current, prev_hash, expected_seq = rec.dossier_id, GENESIS, 1
        if rec.seq != expected_seq:
            return checked, ChainBreak(rec.id, rec.dossier_id, rec.seq, f"sequence gap: expected {expected_seq}")
        if rec.prev_hash != prev_hash:
            return checked, ChainBreak(rec.id, rec.dossier_id, rec.seq, "prev_hash does not match the previous record")
        if rec.compute_hash() != rec.hash:
            return checked, ChainBreak(rec.id, rec.dossier_id, rec.seq, "content does not match its hash (record altered)")
        prev_hash, expected_seq, checked = rec.hash, expected_seq + 1, checked + 1
    return checked, None
