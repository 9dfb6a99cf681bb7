"""Uploaded files, checked in one place for every door (API, pages, public verification):
the name (names.py) and the content, which must be what the extension says from the
first byte to the last (pdf.py, images.py, packages.py). docs/security.md, "Uploaded
files", says what each check means for operators."""
from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from ....formats import file_size
from ....workflow.errors import FileTooLarge, RuleRefused, UnsupportedFileType
from .images import check_jpeg, check_png
from .names import MAX_NAME_BYTES, clean_filename, hidden_characters, trim_name
from .packages import check_ole, check_package
from .pdf import ASK_ISSUER, check_pdf, check_pdf_shape

__all__ = [
    "ACCEPTED",
    "ACCEPTED_LIST",
    "ASK_ISSUER",
    "MAX_NAME_BYTES",
    "CheckedFile",
    "check_pdf",
    "check_pdf_shape",
    "check_upload",
    "clean_filename",
    "hidden_characters",
    "safe_download_name",
    "trim_name",
]


@dataclass(frozen=True)
class Kind:
    mime: str
    magic: bytes  # the leading bytes; a quick refusal (415) before the full check
    check: Callable[[bytes], None]


def _package(ext: str) -> Callable[[bytes], None]:
    return lambda data: check_package(ext, data)


def _ole(ext: str) -> Callable[[bytes], None]:
    return lambda data: check_ole(ext, data)


_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ACCEPTED: dict[str, Kind] = {
    ".pdf": Kind("application/pdf", b"%PDF-", check_pdf),
    ".jpg": Kind("image/jpeg", b"\xff\xd8\xff", check_jpeg),
    ".jpeg": Kind("image/jpeg", b"\xff\xd8\xff", check_jpeg),
    ".png": Kind("image/png", b"\x89PNG\r\n\x1a\n", check_png),
    ".docx": Kind("application/vnd.openxmlformats-officedocument.wordprocessingml.document", _ZIP, _package(".docx")),
    ".xlsx": Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", _ZIP, _package(".xlsx")),
    ".odt": Kind("application/vnd.oasis.opendocument.text", _ZIP, _package(".odt")),
    ".doc": Kind("application/msword", _OLE, _ole(".doc")),
    ".xls": Kind("application/vnd.ms-excel", _OLE, _ole(".xls")),
}
ACCEPTED_LIST = ", ".join(sorted(e.lstrip(".").upper() for e in ACCEPTED))


@dataclass(frozen=True)
class CheckedFile:
    name: str  # NFC, trimmed: what to store and show
    mime: str


def check_upload(filename: str | None, data: bytes, limit: int, field: str = "file") -> CheckedFile:
    """The checked name and type of an upload, or the refusal: 422 for a bad name or
    content, 413 above `limit` bytes, 415 for a type not accepted at all."""
    name = clean_filename(filename, field)
    if not name:
        raise RuleRefused("Tệp không có tên. Hãy chọn lại tệp.", "The file has no name. Choose the file again.")
    if len(data) > limit:
        raise FileTooLarge(f"Tệp '{name}' lớn hơn {file_size(limit)}. Hãy nén hoặc chia nhỏ tệp rồi tải lại.",
                           f"'{name}' is larger than {file_size(limit, 'en')}. Compress or split it and upload again.")
    if not data:
        raise RuleRefused(f"Tệp '{name}' rỗng.", f"'{name}' is empty.")
    kind = ACCEPTED.get(PurePath(name).suffix.lower())
    if kind is None or not data.startswith(kind.magic):
        raise UnsupportedFileType(
            f"Không nhận loại tệp của '{name}'. Chỉ nhận: {ACCEPTED_LIST}.",
            f"'{name}' is not an accepted file type. Accepted: {ACCEPTED_LIST}.")
    try:
        kind.check(data)
    except RuleRefused as exc:
        raise RuleRefused(f"'{name}': {exc.text.vi}", f"'{name}': {exc.text.en}") from None
    return CheckedFile(name, kind.mime)


def safe_download_name(name: str) -> str:
    """A stored name fit for a Content-Disposition header: hidden characters dropped
    (names stored before they were refused), NFC, trimmed."""
    visible = "".join(ch for ch in unicodedata.normalize("NFC", name or "") if not hidden_characters(ch))
    return trim_name(visible.strip()) or "tep"
