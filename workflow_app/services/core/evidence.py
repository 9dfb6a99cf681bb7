"""Evidence files: checks (filecheck), storage, soft removal and replacement,
and the verdict reset that keeps "passed stays passed unless its evidence
changes" true."""
from __future__ import annotations

from ...models import Attachment, Dossier, User, utcnow
from ...workflow.definitions import Definition
from ...workflow.errors import Conflict, NotFound, RuleRefused
from .common import acting_capacity, check_version, definition_of, record, setting, touch
from .dossiers import _entry, _require_state
from .filecheck import ACCEPTED, ACCEPTED_LIST, check_upload  # noqa: F401  (re-exported)
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
    _reopen(entry)
    touch(dossier)
    record(dossier, actor, cap, "attach",
           data={"criterion": criterion, "filename": name, "sha256": digest, "size": len(data)})
    flush_or_conflict()
    return attachment


def uploads_open(dossier: Dossier) -> bool:
    """Whether the dossier's state lets its applicant upload, remove or replace files."""
    states = definition_of(dossier).actions["attach"].states
    return not states or dossier.state in states


def _reopen(entry) -> None:
    """Changed evidence reopens the appraisal of its criterion."""
    if entry is not None and entry.verdict is not None:
        entry.verdict = entry.verdict_note = entry.appraiser_id = entry.appraised_at = None


def _removable(actor: User, dossier: Dossier, d: Definition, attachment_id: int,
               expected_version: int | None):
    """Who may remove a file is who may upload one, in the states where uploading is
    open (the dossier is with its applicant); a submitted file stays as the receiving
    office got it."""
    action = d.actions["attach"]
    cap = acting_capacity(actor, dossier, action)
    attachment = find_attachment(dossier, attachment_id)
    check_version(dossier, expected_version)
    if action.states and dossier.state not in action.states:
        label = d.states[dossier.state].labels
        raise RuleRefused(
            f"Hồ sơ đang ở trạng thái '{label['vi']}': tệp minh chứng chỉ gỡ hoặc thay được khi hồ sơ đang soạn "
            "hoặc được trả lại để bổ sung. Nếu tệp đã nộp có sai sót, hãy báo cơ quan thẩm định để hồ sơ được "
            "trả lại, rồi gỡ hoặc thay tệp.",
            f"The dossier is '{label['en']}': evidence files can be removed or replaced only while it is a draft "
            "or returned for revision. If a submitted file is wrong, ask the appraising office to return the "
            "dossier, then remove or replace the file.")
    if attachment.removed_at is not None:
        raise Conflict(f"Tệp '{attachment.filename}' đã được gỡ khỏi hồ sơ. "
                       "Hãy tải lại trang để xem minh chứng hiện có.",
                       f"The file '{attachment.filename}' was already removed. "
                       "Reload the page to see the evidence now.")
    return cap, attachment


def _mark_removed(actor: User, dossier: Dossier, d: Definition, cap, attachment: Attachment) -> None:
    attachment.removed_at, attachment.removed_by_id = utcnow(), actor.id
    code = attachment.criterion_code
    _reopen(dossier.criterion(code) if code else None)
    touch(dossier)
    record(dossier, actor, cap, "remove_evidence",
           data={"criterion": code, "filename": attachment.filename, "sha256": attachment.sha256,
                 "attachment": attachment.id})


def remove_evidence(actor: User, dossier: Dossier, attachment_id: int,
                    expected_version: int | None = None) -> Attachment:
    """Take a file out of the evidence; its row and bytes stay for the history."""
    d = definition_of(dossier)
    cap, attachment = _removable(actor, dossier, d, attachment_id, expected_version)
    _mark_removed(actor, dossier, d, cap, attachment)
    flush_or_conflict()
    return attachment


def replace_evidence(actor: User, dossier: Dossier, attachment_id: int, filename: str, data: bytes,
                     expected_version: int | None = None) -> Attachment:
    """Removal and upload in one step, for the same criterion: the new file is
    checked first, so a refused file leaves the old one in place."""
    d = definition_of(dossier)
    cap, old = _removable(actor, dossier, d, attachment_id, expected_version)
    new = attach_evidence(actor, dossier, filename, data, old.criterion_code)
    _mark_removed(actor, dossier, d, cap, old)
    flush_or_conflict()
    return new


def find_attachment(dossier: Dossier, attachment_id: int) -> Attachment:
    for a in dossier.attachments:
        if a.id == attachment_id:
            return a
    raise NotFound("Không tìm thấy tệp minh chứng này trong hồ sơ.", "No such evidence file in this dossier.")
