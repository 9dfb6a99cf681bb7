"""Checking the audit trail: each dossier's hash chain, the chain's head kept on
the dossier row, and the signed checkpoints of every head (docs/security.md).

A chain proves its records were not edited or removed in the middle. The head on
the dossier row proves none was removed at the end, unless the row was rewound
too; a checkpoint, signed with a key the database does not hold, proves every
record it covers is still there even then."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from datetime import date

from flask import current_app
from sqlalchemy.orm import lazyload

from ...clock import local_today, utcnow
from ...extensions import db
from ...models import AuditCheckpoint, AuditRecord, Dossier
from ...models.audit import GENESIS

KEY_PURPOSE = b"ntm audit checkpoint v1"


@dataclass
class ChainBreak:
    problem: str
    record_id: int | None = None
    dossier_id: int | None = None
    seq: int | None = None
    dossier_code: str | None = None
    checkpoint: str | None = None  # "#3 of 2026-12-08" when a checkpoint itself is at fault

    def describe(self) -> str:
        if self.checkpoint:
            return f"at checkpoint {self.checkpoint}: {self.problem}"
        who = (f"dossier {self.dossier_code} (id {self.dossier_id})" if self.dossier_code
               else f"dossier id {self.dossier_id}")
        if self.record_id is None:
            return f"in {who}: {self.problem}"
        return f"at record {self.record_id} ({who}, seq {self.seq}): {self.problem}"


@dataclass
class Anchor:
    """A dossier's head as the last checkpoint that mentions it saw it."""
    count: int
    hash: str
    label: str


@dataclass
class TrailReport:
    checked: int = 0
    broken: ChainBreak | None = None
    heads: dict[int, tuple[int, str]] = field(default_factory=dict)  # dossier id -> (count, last hash)
    anchors: dict[int, Anchor] = field(default_factory=dict)
    last_checkpoint: AuditCheckpoint | None = None


# ----------------------------------------------------------------------------- keys and digests

def _keys() -> list[bytes]:
    """The checkpoint key derived from SECRET_KEY (signs), then from each of
    SECRET_KEY_FALLBACKS (still verify what was signed before a rotation)."""
    secrets = [current_app.config["SECRET_KEY"], *(current_app.config.get("SECRET_KEY_FALLBACKS") or ())]
    return [hmac.new(s.encode() if isinstance(s, str) else s, KEY_PURPOSE, hashlib.sha256).digest()
            for s in secrets if s]


def sign(cp: AuditCheckpoint, key: bytes) -> str:
    return hmac.new(key, cp.signed_bytes(), hashlib.sha256).hexdigest()


def heads_digest(heads: dict[int, tuple[int, str]]) -> str:
    """SHA-256 over one line "<dossier id>:<count>:<last hash>" per dossier, by id."""
    h = hashlib.sha256()
    for dossier_id in sorted(heads):
        count, last = heads[dossier_id]
        h.update(f"{dossier_id}:{count}:{last}\n".encode())
    return h.hexdigest()


def _n(count: int, noun: str = "record") -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _label(cp: AuditCheckpoint) -> str:
    return f"#{cp.seq} of {cp.day.isoformat()}"


# ----------------------------------------------------------------------------- checking

def _read_checkpoints(report: TrailReport) -> None:
    """Check the checkpoints' signatures and order, and fold their heads into the
    anchors: for every dossier, the latest head a checkpoint vouches for."""
    keys = _keys()
    state: dict[int, tuple[int, str]] = {}
    stmt = db.select(AuditCheckpoint).order_by(AuditCheckpoint.seq)
    for expected, cp in enumerate(db.session.execute(stmt).scalars(), start=1):
        label = _label(cp)
        if cp.seq != expected:
            report.broken = ChainBreak(
                f"{_n(cp.seq - expected, 'checkpoint')} missing before it (expected #{expected})",
                checkpoint=label)
            return
        if not any(hmac.compare_digest(cp.mac, sign(cp, key)) for key in keys):
            report.broken = ChainBreak("its signature does not match (forged or altered, or signed with a key "
                                       "that is neither SECRET_KEY nor in SECRET_KEY_FALLBACKS)", checkpoint=label)
            return
        for key, (count, last) in cp.heads.items():
            state[int(key)] = (count, last)
            report.anchors[int(key)] = Anchor(count, last, label)
        if heads_digest(state) != cp.digest:
            report.broken = ChainBreak("the digest of all heads does not match the checkpoints up to it",
                                       checkpoint=label)
            return
        report.last_checkpoint = cp


class _Walk:
    """One dossier's chain as it is read, record by record."""

    def __init__(self, dossier_id: int, code: str, head_count: int, head_hash: str, anchor: Anchor | None):
        self.dossier_id, self.code, self.anchor = dossier_id, code, anchor
        self.head_count, self.head_hash = head_count, head_hash
        self.found, self.last = 0, GENESIS

    def breaks(self, problem: str, rec: AuditRecord | None = None) -> ChainBreak:
        return ChainBreak(problem, rec.id if rec else None, self.dossier_id, rec.seq if rec else None, self.code)

    def step(self, rec: AuditRecord) -> ChainBreak | None:
        expected = self.found + 1
        if rec.seq != expected:
            return self.breaks(f"{_n(rec.seq - expected)} missing before it (sequence gap: expected "
                               f"{expected})", rec)
        if rec.prev_hash != self.last:
            return self.breaks("prev_hash does not match the previous record", rec)
        if rec.compute_hash() != rec.hash:
            return self.breaks("content does not match its hash (record altered)", rec)
        if self.anchor and rec.seq == self.anchor.count and rec.hash != self.anchor.hash:
            return self.breaks(f"differs from the record checkpoint {self.anchor.label} saw (chain rewritten)", rec)
        self.found, self.last = rec.seq, rec.hash
        return None

    def end(self) -> ChainBreak | None:
        """The chain must reach the head on the dossier row and what the checkpoint saw."""
        claims = [("head", self.head_count)]
        if self.anchor:
            claims.append((f"checkpoint {self.anchor.label}", self.anchor.count))
        for says, count in claims:
            if self.found >= count:
                continue
            if self.found == 0:
                return self.breaks(f"all {count} records missing ({says} says {count}, found none)")
            return self.breaks(f"{_n(count - self.found)} missing at the end "
                               f"({says} says {count}, found {self.found})")
        if self.found > self.head_count:
            return self.breaks(f"{_n(self.found - self.head_count)} beyond the head "
                               f"(head says {self.head_count}, found {self.found})")
        if self.last != self.head_hash:
            return self.breaks("the last record's hash is not the head on the dossier row (chain rewritten)")
        return None


def verify_trail() -> TrailReport:
    """Every chain, its head and the checkpoints; stops at the first break.

    The checkpoints are read first and the chains in one later statement (one
    snapshot with their heads), so records added meanwhile never look missing."""
    report = TrailReport()
    _read_checkpoints(report)
    if report.broken:
        return report
    stmt = (db.select(Dossier.id, Dossier.code, Dossier.audit_count, Dossier.audit_head, AuditRecord)
            .outerjoin(AuditRecord, AuditRecord.dossier_id == Dossier.id)
            .options(lazyload(AuditRecord.actor), lazyload(AuditRecord.unit))
            .order_by(Dossier.id, AuditRecord.seq)
            .execution_options(yield_per=1000))
    result = db.session.execute(stmt)
    try:  # an early return must close the server-side cursor of yield_per
        seen = _walk_all(result, report)
    finally:
        result.close()
    if report.broken:
        return report
    for dossier_id in sorted(set(report.anchors) - seen):
        anchor = report.anchors[dossier_id]
        report.broken = ChainBreak(f"gone from the database, with its {anchor.count} records "
                                   f"(checkpoint {anchor.label} saw them)", dossier_id=dossier_id)
        return report
    return report


def _walk_all(rows, report: TrailReport) -> set[int]:
    """Walk the (dossier, record) rows in order; set report.broken at the first
    break. Answers the dossiers seen."""
    walk: _Walk | None = None
    seen: set[int] = set()
    for dossier_id, code, head_count, head_hash, rec in rows:
        if walk is None or walk.dossier_id != dossier_id:
            if walk and (broken := _finish(walk, report)):
                report.broken = broken
                return seen
            walk = _Walk(dossier_id, code, head_count, head_hash, report.anchors.get(dossier_id))
            seen.add(dossier_id)
        if rec is not None:
            if broken := walk.step(rec):
                report.broken = broken
                return seen
            report.checked += 1
    if walk and (broken := _finish(walk, report)):
        report.broken = broken
    return seen


def _finish(walk: _Walk, report: TrailReport) -> ChainBreak | None:
    broken = walk.end()
    if broken is None and walk.found:
        report.heads[walk.dossier_id] = (walk.found, walk.last)
    return broken


def verify_chains() -> tuple[int, ChainBreak | None]:
    """(records checked, first break): the whole trail, as `flask audit verify` checks it."""
    report = verify_trail()
    return report.checked, report.broken


# ----------------------------------------------------------------------------- checkpoints

def make_checkpoint(day: date | None = None) -> tuple[AuditCheckpoint | None, TrailReport]:
    """Verify the trail, then sign a checkpoint of every head (flushed, not
    committed). Nothing is written when the trail is broken."""
    report = verify_trail()
    if report.broken:
        return None, report
    previous = {k: (a.count, a.hash) for k, a in report.anchors.items()}
    moved = {str(k): list(v) for k, v in sorted(report.heads.items()) if previous.get(k) != v}
    last = report.last_checkpoint
    cp = AuditCheckpoint(seq=(last.seq + 1) if last else 1, day=day or local_today(), made_at=utcnow(),
                         dossiers=len(report.heads), records=sum(c for c, _ in report.heads.values()),
                         heads=moved, digest=heads_digest(report.heads), mac="")
    cp.mac = sign(cp, _keys()[0])
    db.session.add(cp)
    db.session.flush()
    return cp, report
