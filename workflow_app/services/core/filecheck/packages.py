"""Office files. OOXML (.docx, .xlsx) and ODF (.odt): a ZIP package whose entries follow
one another from byte 0 to the central directory, whose entries all inflate with
their CRC right, that does not inflate to more than MAX_RATIO times its size or
MAX_TOTAL bytes or hold more than MAX_ENTRIES entries, and whose parts name the
document the extension promises. Legacy .doc / .xls: an OLE2 compound file whose
directory holds the document stream and no macros."""
from __future__ import annotations

import io
import struct
import zipfile
from xml.etree import ElementTree

from ....workflow.errors import RuleRefused

MAX_RATIO = 100
MAX_TOTAL = 200 * 1024 * 1024
MAX_ENTRIES = 5000
_CHUNK = 1024 * 1024

_CT = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
OOXML_MAIN = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
}
ODF_MIMETYPE = {".odt": b"application/vnd.oasis.opendocument.text"}
OLE_STREAMS = {".doc": {"worddocument"}, ".xls": {"workbook", "book"}}
_OLE_MACROS = {"macros", "_vba_project_cur", "vba"}
_LABEL = {".docx": "Word (.docx)", ".xlsx": "Excel (.xlsx)", ".odt": "OpenDocument (.odt)",
          ".doc": "Word (.doc)", ".xls": "Excel (.xls)"}


class _Bad(Exception):
    pass


def _refuse(ext: str) -> RuleRefused:
    label = _LABEL[ext]
    return RuleRefused(
        f"Tệp {label} này không hợp lệ (tệp bị hỏng, không phải tài liệu {label} thật, hoặc chứa nội dung khác). "
        f"Hãy mở tệp bằng phần mềm soạn thảo, lưu lại thành tệp {label} mới (hoặc xuất ra PDF) rồi tải lên.",
        f"This {label} file is not valid (it is broken, not a real {label} document, or holds something "
        f"else). Open it in your office software, save it as a new {label} file (or export it to PDF) and "
        "upload that.")


def _bomb() -> RuleRefused:
    return RuleRefused(
        "Tệp nén này khi giải nén lớn bất thường so với kích thước của nó (có thể là \"bom nén\"). Hãy lưu lại "
        "tài liệu bằng phần mềm soạn thảo, hoặc xuất ra PDF, rồi tải lên.",
        "This compressed file expands to far more than its size (it may be a \"zip bomb\"). Save the document "
        "again from your office software, or export it to PDF, and upload that.")


def check_package(ext: str, data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_ENTRIES or sum(i.file_size for i in infos) > min(MAX_TOTAL, MAX_RATIO * len(data)):
                raise _bomb()
            _check_layout(data, zf, infos)
            _inflate_all(zf, infos, min(MAX_TOTAL, MAX_RATIO * len(data)))
            if ext in OOXML_MAIN:
                _check_ooxml(zf, OOXML_MAIN[ext])
            else:
                _check_odf(zf, infos, ODF_MIMETYPE[ext])
    except RuleRefused:
        raise
    except (_Bad, zipfile.BadZipFile, zipfile.LargeZipFile, ElementTree.ParseError, KeyError, EOFError,
            NotImplementedError, RuntimeError, ValueError, OSError, struct.error) as exc:
        raise _refuse(ext) from exc


def _check_layout(data: bytes, zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo]) -> None:
    """Entries end to end from byte 0 to the central directory: no gap to hide bytes in."""
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        raise _Bad("duplicate entry names")
    pos, previous_descriptor = 0, False
    for info in sorted(infos, key=lambda i: i.header_offset):
        if info.flag_bits & 0x1:
            raise _Bad("encrypted entry")
        gap = info.header_offset - pos
        if gap and not (previous_descriptor and gap in (12, 16, 20, 24)):
            raise _Bad(f"gap before {info.filename!r}")
        header = data[info.header_offset:info.header_offset + 30]
        if header[:4] != b"PK\x03\x04":
            raise _Bad("local header")
        name_len, extra_len = struct.unpack("<HH", header[26:30])
        pos = info.header_offset + 30 + name_len + extra_len + info.compress_size
        previous_descriptor = bool(info.flag_bits & 0x8)
    gap = zf.start_dir - pos
    if gap and not (infos and previous_descriptor and gap in (12, 16, 20, 24)):
        raise _Bad("gap before the central directory")


def _inflate_all(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limit: int) -> None:
    """Read every entry (checks its CRC), counting what really comes out."""
    total = 0
    for info in infos:
        with zf.open(info) as fh:
            while chunk := fh.read(_CHUNK):
                total += len(chunk)
                if total > limit:
                    raise _bomb()


def _xml(zf: zipfile.ZipFile, name: str) -> ElementTree.Element:
    raw = zf.read(name)
    if b"<!DOCTYPE" in raw.upper() or b"<!ENTITY" in raw.upper():  # entity expansion
        raise _Bad(f"DTD in {name}")
    return ElementTree.fromstring(raw)


def _check_ooxml(zf: zipfile.ZipFile, main_type: str) -> None:
    rels = _xml(zf, "_rels/.rels")
    targets = [r.get("Target", "") for r in rels.iter(f"{_REL}Relationship") if r.get("Type") == _OFFICE_DOCUMENT]
    if len(targets) != 1:
        raise _Bad("no single main part")
    part = "/" + targets[0].lstrip("/")
    types = _xml(zf, "[Content_Types].xml")
    declared = {o.get("PartName", "").lower(): o.get("ContentType") for o in types.iter(f"{_CT}Override")}
    if declared.get(part.lower()) != main_type:
        raise _Bad(f"main part {part} is not {main_type}")
    zf.getinfo(part[1:])


def _check_odf(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], mimetype: bytes) -> None:
    first = min(infos, key=lambda i: i.header_offset)
    if first.filename != "mimetype" or first.compress_type != zipfile.ZIP_STORED or zf.read(first) != mimetype:
        raise _Bad("mimetype entry")
    _xml(zf, "META-INF/manifest.xml")
    _xml(zf, "content.xml")


_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_END_OF_CHAIN = 0xFFFFFFFE


def check_ole(ext: str, data: bytes) -> None:
    try:
        names = _ole_names(data)
    except (_Bad, struct.error, IndexError) as exc:
        raise _refuse(ext) from exc
    if not names & OLE_STREAMS[ext]:
        raise _refuse(ext)
    if names & _OLE_MACROS:
        raise RuleRefused(
            "Tệp này có macro (mã lệnh VBA) nên không được nhận làm minh chứng. Hãy lưu lại tệp dưới dạng "
            "không có macro (.docx, .xlsx) hoặc xuất ra PDF rồi tải lên.",
            "This file contains macros (VBA code) and is not accepted as evidence. Save it without macros "
            "(.docx, .xlsx) or export it to PDF and upload that.")


def _ole_names(data: bytes) -> set[str]:
    """The lower-cased names in an OLE2 compound file's directory (MS-CFB)."""
    if not data.startswith(_OLE_SIGNATURE) or len(data) < 512:
        raise _Bad("header")
    major, byte_order, sector_shift, mini_shift = struct.unpack("<HHHH", data[26:34])
    if byte_order != 0xFFFE or (major, sector_shift) not in ((3, 9), (4, 12)) or mini_shift != 6:
        raise _Bad("header fields")
    size = 1 << sector_shift
    fat_sectors, first_dir = struct.unpack("<II", data[44:52])
    first_difat, difat_sectors = struct.unpack("<II", data[68:76])
    difat = list(struct.unpack("<109I", data[76:512]))
    sectors = (len(data) - size + size - 1) // size  # sectors after the header (the last may be short)

    def sector(n: int) -> bytes:
        if n >= sectors:
            raise _Bad(f"sector {n} beyond the file")
        return data[size * (n + 1):size * (n + 2)]

    per = size // 4
    nxt = first_difat
    for _ in range(difat_sectors):
        entries = struct.unpack(f"<{per}I", sector(nxt).ljust(size, b"\0"))
        difat.extend(entries[:-1])
        nxt = entries[-1]
    if fat_sectors > sectors:
        raise _Bad("FAT larger than the file")
    fat: list[int] = []
    for n in difat[:fat_sectors]:
        fat.extend(struct.unpack(f"<{per}I", sector(n).ljust(size, b"\0")))
    names: set[str] = set()
    n, seen = first_dir, 0
    while n != _END_OF_CHAIN:
        seen += 1
        if seen > sectors or n >= len(fat):
            raise _Bad("directory chain")
        block = sector(n)
        for off in range(0, len(block) - 127, 128):
            name_len = struct.unpack("<H", block[off + 64:off + 66])[0]
            if block[off + 66] != 0 and 2 <= name_len <= 64:  # type 0: unused entry
                names.add(block[off:off + name_len - 2].decode("utf-16-le", "replace").lower())
        n = fat[n]
    return names
