"""Evidence files: type and size checks, storage, and the verdict reset that
keeps "passed stays passed unless its evidence changes" true."""
from __future__ import annotations

from pathlib import PurePath

from ..models import Attachment, Dossier, User
from ..workflow.errors import FileTooLarge, NotFound, RuleRefused, UnsupportedFileType
from .common import acting_capacity, check_version, definition_of, record, setting, touch
from .dossiers import _entry, _require_state
from .persist import flush_or_conflict
from .storage import put_bytes

# Extension -> (MIME, accepted leading bytes). Sniffing the bytes stops a
# renamed executable from passing as a PDF.
ACCEPTED = {
    ".pdf": ("application/pdf", (b"%PDF-",)),
    ".jpg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".jpeg": ("image/jpeg", (b"\xff\xd8\xff",)),
    ".png": ("image/png", (b"\x89PNG\r\n\x1a\n",)),
    ".docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (b"PK\x03\x04",)),
    ".xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (b"PK\x03\x04",)),
    ".odt": ("application/vnd.oasis.opendocument.text", (b"PK\x03\x04",)),
    ".doc": ("application/msword", (b"\xd0\xcf\x11\xe0",)),
    ".xls": ("application/vnd.ms-excel", (b"\xd0\xcf\x11\xe0",)),
}
ACCEPTED_LIST = ", ".join(sorted(e.lstrip(".").upper() for e in ACCEPTED))


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        mb = n / (1024 * 1024)
        return f"{mb:.0f} MB" if mb.is_integer() else f"{mb:.1f} MB"
    return f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} byte"


def max_bytes() -> int:
    return int(setting("EVIDENCE_MAX_BYTES"))


def attach_evidence(actor: User, dossier: Dossier, filename: str, data: bytes,
                    criterion: str | None = None, expected_version: int | None = None) -> Attachment:
    d = definition_of(dossier)
    action = d.actions["attach"]
    cap = acting_capacity(actor, dossier, action)
    check_version(dossier, expected_version)
    _require_state(d, dossier, action)
    name = PurePath((filename or "").replace("\\", "/")).name.strip()
    if not name:
        raise RuleRefused("Tệp không có tên. Hãy chọn lại tệp.", "The file has no name. Choose the file again.")
    limit = max_bytes()
    if len(data) > limit:
        size = human_size(limit)
        raise FileTooLarge(f"Tệp '{name}' lớn hơn {size}. Hãy nén hoặc chia nhỏ tệp rồi tải lại.",
                           f"'{name}' is larger than {size}. Compress or split it and upload again.")
    if not data:
        raise RuleRefused(f"Tệp '{name}' rỗng.", f"'{name}' is empty.")
    ext = PurePath(name).suffix.lower()
    accepted = ACCEPTED.get(ext)
    if accepted is None or not any(data.startswith(m) for m in accepted[1]):
        raise UnsupportedFileType(
            f"Không nhận loại tệp của '{name}'. Chỉ nhận: {ACCEPTED_LIST}.",
            f"'{name}' is not an accepted file type. Accepted: {ACCEPTED_LIST}.")
    entry = _entry(d, dossier, criterion) if criterion else None
    key, digest = put_bytes(data)
    attachment = Attachment(
        criterion_code=criterion, round=dossier.round, filename=name,
        size=len(data), mime=accepted[0], sha256=digest, storage_key=key, uploaded_by_id=actor.id)
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
