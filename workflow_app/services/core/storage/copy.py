"""Copying every stored file from one store to another (`flask storage copy`): to move
a deployment's files from a folder into the database or an object store, or back.

Keys stay the same (content keys: "<2 hex>/<sha256><suffix>"). A copy is checked: the
source's bytes must have the SHA-256 their key names, and the target must then hold
that size and that SHA-256. A file the target holds already is counted, not copied
again (its size compared; with `verify`, its SHA-256 too), so the copy can be run
again after an interruption and copies only what is missing."""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from . import digest_of
from .base import Missing, Store


@dataclass
class CopyReport:
    copied: int = 0
    present: int = 0       # the target had it already, the same size (and SHA-256, when verified)
    failed: list[str] = field(default_factory=list)  # one line per file not copied or not matching


def copy_files(source: Store, target: Store, *, verify: bool = False,
               progress: Callable[[CopyReport], None] | None = None) -> CopyReport:
    """Copy every file of `source` missing from `target`; check each as the module says."""
    source, target = source.for_threads(), target.for_threads()  # each file in a transaction of its own
    report = CopyReport()
    for key, _stored_at in source.entries():
        try:
            _copy_one(source, target, key, verify, report)
        except Missing:
            report.failed.append(f"{key}: gone from the source while copying")
        if progress is not None:
            progress(report)
    return report


def _copy_one(source: Store, target: Store, key: str, verify: bool, report: CopyReport) -> None:
    size = source.stat(key).size
    try:
        held = target.stat(key).size
    except Missing:
        held = None
    if held is not None:
        if held != size:
            report.failed.append(f"{key}: the target holds {held} bytes, the source {size}")
        elif verify and (theirs := target.sha256(key)) != (ours := source.sha256(key)):
            report.failed.append(f"{key}: the target's SHA-256 is {theirs}, the source's {ours}")
        else:
            report.present += 1
        return
    data = source.read(key)
    digest = hashlib.sha256(data).hexdigest()
    named = digest_of(key)
    if named is not None and digest != named:
        report.failed.append(f"{key}: the source's bytes have SHA-256 {digest}, not the one the key names")
        return
    target.put(key, data, digest)
    stored = target.stat(key).size
    if stored != len(data) or target.sha256(key) != digest:
        report.failed.append(f"{key}: the target holds {stored} bytes that do not match after the copy")
        return
    report.copied += 1
