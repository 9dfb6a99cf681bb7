"""Evidence files: checks (filecheck), storage, and the verdict reset that
keeps "passed stays passed unless its evidence changes" true."""
from __future__ import annotations

from ..models import Attachment, Dossier, User
from ..workflow.errors import NotFound
from .common import (
    acting_capacity,
    check_version,
    definition_of,
    record,
    setting,
    touch,
)
from .dossiers import _entry, _require_state
from .filecheck import ACCEPTED, ACCEPTED_LIST, check_upload, human_size  # noqa: F401  (re-exported)
from .persist import flush_or_conflict
from .storage import put_bytes


def max_bytes() -> int:
    return int(setting("EVIDENCE_MAX_BYTES"))


def attach_evidence(actor: User, dossier: Dossier, filename: str, data: bytes,
                    criterion: str | None = None, expected_version: int | None = None) -> Attachment:
    d = definition_of(dossier)
    action = d.actions["attach"]
    cap = acting_capacity(actor, dossier, action)
    check_version(dossier, expected_version)
    _require_state(d, dossier, action)
    checked = check_upload(filename, data, max_bytes())
    name = checked.name
    entry = _entry(d, dossier, criterion) if criterion else None
    key, digest = put_bytes(data)
    attachment = Attachment(
        criterion_code=criterion, round=dossier.round, filename=name,
        size=len(data), mime=checked.mime, sha256=digest, storage_key=key, uploaded_by_id=actor.id)
    dossier.attachments.append(attachment)
    if entry is not None and entry.verdict is not None:
        # New evidence reopens the appraisal of this criterion.
        entry.verdict = entry.verdict_note = entry.appraiser_id = entry.appraised_at = None
    touch(dossier)
    record(dossier, actor, cap, "attach", data={"criterion": criterion, "filename": name, "sha256": digest, "size": len(data)})
    flush_or_conflict()
    return attachment


def find_attachment(dossier: Dossier, attachment_id: int) -> Attachment:
    for a in dossier.attachments:
        if a.id == attachment_id:
            return a
    raise NotFound("Không tìm thấy tệp minh chứng này trong hồ sơ.", "No such evidence file in this dossier.")
