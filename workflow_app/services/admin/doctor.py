"""Invariant checks over the stored data (`flask doctor`): what a restore, a crash or
a hand edit may have broken, named one breach per line.

- Every register (decisions, appraisal reports and apology slips, numbered per
  issuer and year by the gap-free counters) holds each number from 1 to its counter
  exactly once, and no number beyond it.
- Every decision, paper (receipt, appraisal report, apology slip) and attachment has
  its stored file (STORAGE_URL), and the file's SHA-256 is the one recorded. A paper is
  rendered just after the transaction that issues it commits (documents/after_commit.py,
  in the background for a request): one issued within the grace period may not have its
  file yet; an older one without had its render fail or its process stop first, and its
  first download renders it.
- Every dossier in a state reached by issuing a decision (recognised) or a
  revocation (revoked) is named by such a decision; every decision names a dossier.
- Every stored file (STORAGE_URL: a folder, the database, an object store) is named by a row.

The rows are read in one snapshot (REPEATABLE READ on PostgreSQL) before the files
are listed: a committed row's file was written before its commit, so a missing file
is a real breach. A file written by a transaction still in flight has no row yet:
files younger than the grace period are not called stray.
"""
from __future__ import annotations

import logging
import os
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, exists, or_, select

from ...clock import to_local, utcnow
from ...extensions import db
from ...models import Attachment, Counter, Decision, Document, Dossier, Unit, decision_dossiers
from ...validation import is_digits
from ..core.common import engine
from ..core.storage import Store, backend
from ..documents.apology import APOLOGY_PREFIX

log = logging.getLogger(__name__)

# Counter scope prefix -> what its numbers name (services: decisions, documents, clocks).
REGISTERS = {"decision": "decision", "appraisal_report": "appraisal report", "apology": "apology slip"}
GRACE_SECONDS = 600  # longer than any render and commit (PDF_RENDER_TIMEOUT is seconds)
_STREAM = 2000  # rows per fetch: a province's tables are read in batches, never whole


@dataclass
class Report:
    breaches: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)


@dataclass
class _Stored:
    """A file some rows name: the SHA-256 they record, the first of them and how many
    (content addressing: one evidence file may be named by thousands of rows)."""

    sha256: str
    first: str
    count: int = 0


def find_breaches(grace_seconds: float = GRACE_SECONDS) -> list[str]:
    return check(grace_seconds).breaches


def check(grace_seconds: float = GRACE_SECONDS) -> Report:
    report = Report()
    files: dict[str, _Stored] = {}
    with db.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            numbered = defaultdict(lambda: defaultdict(list))  # scope -> number -> [labels]
            _read_decisions(conn, numbered, files, report)
            _read_documents(conn, numbered, files, report, utcnow() - timedelta(seconds=grace_seconds))
            _read_attachments(conn, files, report)
            _check_registers(conn, numbered, report)
            _check_dossiers(conn, report)
    _check_files(files, grace_seconds, report)
    log.info("doctor: %s checked, %d breaches", report.checked, len(report.breaches))
    return report


# ----------------------------------------------------------------------------- rows

def _rows(conn, stmt):
    return conn.execute(stmt.execution_options(yield_per=_STREAM))


def _name(files: dict[str, _Stored], key: str, sha256: str, owner: str, report: Report) -> None:
    stored = files.setdefault(key, _Stored(sha256, owner))
    if stored.sha256 != sha256:
        report.breaches.append(f"{owner} records SHA-256 {sha256} for {key}, {stored.first} records {stored.sha256}")
    stored.count += 1


def _read_decisions(conn, numbered, files, report: Report) -> None:
    linked = exists().where(decision_dossiers.c.decision_id == Decision.id)
    stmt = (select(Decision.id, Decision.type, Decision.year, Decision.number, Decision.symbol, Decision.pdf_key,
                   Decision.pdf_sha256, Unit.code, linked)
            .join(Unit, Unit.id == Decision.issuer_id).order_by(Decision.id))
    count = 0
    for row in _rows(conn, stmt):
        count += 1
        label = f"{row.type} decision {row.symbol} of {row.code} ({row.year}, id {row.id})"
        numbered[("decision", row.code, row.year)][row.number].append(label)
        _name(files, row.pdf_key, row.pdf_sha256, label, report)
        if not row[-1]:
            report.breaches.append(f"{label} names no dossier")
    report.checked["decisions"] = count


def _read_documents(conn, numbered, files, report: Report, settled) -> None:
    """`settled`: papers issued at or before it (naive UTC) should have their PDF by now."""
    stmt = (select(Document.id, Document.kind, Document.round, Document.number, Document.symbol,
                   Document.issued_at, Document.pdf_key, Document.pdf_sha256, Unit.code, Dossier.code.label("dossier"))
            .join(Unit, Unit.id == Document.issuer_id).join(Dossier, Dossier.id == Document.dossier_id)
            .order_by(Document.id))
    count = 0
    for row in _rows(conn, stmt):
        count += 1
        register = "apology" if row.kind.startswith(APOLOGY_PREFIX) else row.kind
        label = f"{row.kind} {row.symbol or ''} of dossier {row.dossier} round {row.round} (document {row.id})"
        label = label.replace("  ", " ")
        if register in REGISTERS:
            year = to_local(row.issued_at).year  # the counter's year: local, at issue
            if row.number is None:
                report.breaches.append(f"{label} has no number")
            else:
                numbered[(register, row.code, year)][row.number].append(label)
        if row.pdf_key:
            _name(files, row.pdf_key, row.pdf_sha256 or "", label, report)
        elif row.issued_at <= settled:  # rendered after its commit: younger ones may be rendering now
            report.breaches.append(f"{label} has no stored PDF (its render after issue failed or never ran; "
                                   "the first download renders it)")
    report.checked["documents"] = count


def _read_attachments(conn, files, report: Report) -> None:
    stmt = (select(Attachment.id, Attachment.filename, Attachment.storage_key, Attachment.sha256,
                   Dossier.code.label("dossier"))
            .join(Dossier, Dossier.id == Attachment.dossier_id).order_by(Attachment.id))
    count = 0
    for row in _rows(conn, stmt):
        count += 1
        _name(files, row.storage_key, row.sha256,
              f"attachment {row.id} '{row.filename}' of dossier {row.dossier}", report)
    report.checked["attachments"] = count


def _check_registers(conn, numbered, report: Report) -> None:
    scopes = {}
    prefixes = or_(*(Counter.scope.like(f"{p}:%") for p in REGISTERS))
    for scope, value in conn.execute(select(Counter.scope, Counter.value).where(prefixes)):
        register, rest = scope.split(":", 1)
        issuer, _, year = rest.rpartition(":")
        if is_digits(year):
            scopes[(register, issuer, int(year))] = value
    for key in sorted(set(scopes) | set(numbered), key=str):
        register, issuer, year = key
        top = scopes.get(key, 0)
        what = REGISTERS[register]
        name = f"{what} register of {issuer} for {year} (counter at {top})"
        numbers = numbered.get(key, {})
        for number in sorted(numbers):
            labels = numbers[number]
            if len(labels) > 1:
                report.breaches.append(f"{name}: number {number} is held by {len(labels)} rows: " + "; ".join(labels))
            if not 1 <= number <= top:
                report.breaches.append(f"{name}: number {number} is outside 1..{top}: " + "; ".join(labels))
        # Gaps, as ranges: a counter pushed far ahead must not mean a line per number.
        present = sorted(n for n in numbers if 1 <= n <= top)
        previous = 0
        for n in [*present, top + 1]:
            if n > previous + 1:
                span = f"number {previous + 1}" if n == previous + 2 else f"numbers {previous + 1}-{n - 1}"
                report.breaches.append(f"{name}: {span} issued by the counter but no {what} holds it")
            previous = n
    report.checked["registers"] = len(scopes)


def _check_dossiers(conn, report: Report) -> None:
    """Dossiers in a state that an event issuing a decision leads to, without one."""
    needs = defaultdict(set)  # decision type -> {(kind, state)}
    for (kind, _), d in engine().definitions.items():
        for event in d.events.values():
            if "issue_decision" in event.effects:
                needs["recognition"].add((kind, event.dest))
            if "revoke_decision" in event.effects:
                needs["revocation"].add((kind, event.dest))
    for decision_type, pairs in sorted(needs.items()):
        has = (exists().where(decision_dossiers.c.dossier_id == Dossier.id)
               .where(Decision.id == decision_dossiers.c.decision_id, Decision.type == decision_type))
        stmt = (select(Dossier.id, Dossier.code, Dossier.state)
                .where(or_(*(and_(Dossier.kind == k, Dossier.state == s) for k, s in sorted(pairs))), ~has)
                .order_by(Dossier.id))
        for row in _rows(conn, stmt):
            report.breaches.append(f"dossier {row.code} (id {row.id}) is {row.state} but no {decision_type} "
                                   "decision names it")


# ----------------------------------------------------------------------------- files

def _check_files(files: dict[str, _Stored], grace_seconds: float, report: Report) -> None:
    """Whichever store holds the files (STORAGE_URL): its list of keys against the rows'."""
    store = backend()
    present = dict(store.entries())  # key -> when stored
    known = set()
    to_hash = []
    for key, stored in files.items():
        try:
            rel = store.normal(key)
        except ValueError:
            report.breaches.append(f"{_owners(stored)}: file key {key!r} points outside the storage folder")
            continue
        known.add(rel)
        if rel not in present:
            report.breaches.append(f"{_owners(stored)}: file {key} is missing")
        else:
            to_hash.append((key, stored))
    threaded = store.for_threads()
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:  # hashlib releases the GIL
        hashes = pool.map(lambda item: _sha256(threaded, item[0]), to_hash)
        for (key, stored), actual in zip(to_hash, hashes, strict=True):
            if actual != stored.sha256:
                report.breaches.append(f"{_owners(stored)}: file {key} has SHA-256 {actual}, recorded {stored.sha256}")
    settled = store.now() - grace_seconds
    for rel, mtime in sorted(present.items()):
        if rel not in known and mtime <= settled:
            report.breaches.append(f"stray file {rel} in the storage folder: no row names it")
    report.checked["files"] = len(present)


def _owners(stored: _Stored) -> str:
    more = stored.count - 1
    return stored.first + (f" (and {more} more rows)" if more else "")


def _sha256(store: Store, key: str) -> str:
    try:
        return store.sha256(key)  # streamed in chunks
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
