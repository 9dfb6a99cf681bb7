"""PDF files: a PDF from its first byte to its last, that a reader can open.

Valid here means: the header `%PDF-1.x` or `%PDF-2.0` at byte 0; `%%EOF` at the end
(only white space after it); the cross-reference sections and trailer readable by
pyHanko, with a /Root catalog whose page tree has at least one page; every object the
last cross-reference lists readable where it says; no password needed to open it; no
JavaScript or launch action; no HTML or SVG markup anywhere except inside the binary
data of a compressed (Flate), JPEG or JPEG 2000 stream."""
from __future__ import annotations

import io
import logging
import re

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.reader import PdfFileReader

from ...workflow.errors import RuleRefused, Text
from .markup import iter_markup

log = logging.getLogger(__name__)

_HEADER = re.compile(rb"%PDF-(1\.[0-7]|2\.0)[\r\n\s%]")
_TRAILING = b" \t\r\n\f\0"
# More objects than this is not an evidence document; reading them all would take too long.
MAX_OBJECTS = 200_000
_BINARY_BODIES = ((b"/FlateDecode", re.compile(rb"[\x08\x18\x28\x38\x48\x58\x68\x78]")),  # zlib CMF
                  (b"/DCTDecode", re.compile(rb"\xff\xd8")),
                  (b"/JPXDecode", re.compile(rb"\x00\x00\x00\x0cjP  |\xff\x4f")))
# What to do about a refused PDF: evidence can be exported again; a decision someone
# presents for checking cannot, and only its issuer has the real one.
REEXPORT = Text("Hãy mở tệp gốc (Word, Excel...) và xuất lại ra PDF (Tệp > Lưu thành > PDF) rồi tải lên.",
                "Open the original (Word, Excel...), export it to PDF again (File > Save as > PDF) and upload that.")
ASK_ISSUER = Text("Vì vậy tệp này không thể là bản quyết định đã ban hành. Đừng dựa vào tệp này; hãy xin bản "
                  "chính thức từ cơ quan ban hành.",
                  "So it cannot be the issued decision. Do not rely on it; ask the issuing office for the "
                  "official copy.")


def refuse(vi: str, en: str, advice: Text = REEXPORT) -> RuleRefused:
    return RuleRefused(f"{vi} {advice.vi}", f"{en} {advice.en}")


def check_pdf(data: bytes) -> None:
    """The whole check, for files we keep."""
    check_pdf_shape(data)
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        _check_encryption(reader)
        _check_pages(reader)
        _check_objects(reader)
    except RuleRefused:
        raise
    except Exception as exc:  # noqa: BLE001  (pyHanko's read errors, and whatever a hostile file makes it raise)
        log.info("PDF refused: %s: %s", type(exc).__name__, exc)
        raise refuse("Tệp PDF này không hợp lệ (cấu trúc tệp bị hỏng, phần mềm đọc PDF không mở được).",
                     "This PDF is not valid (its structure is broken; PDF readers cannot open it).") from None


def check_pdf_shape(data: bytes, advice: Text = REEXPORT) -> None:
    """Header at byte 0, %%EOF at the end, no markup: the checks that need no parsing
    (the public verification page, which keeps nothing, stops here)."""
    if not _HEADER.match(data):
        raise refuse("Tệp PDF này không hợp lệ (phần đầu tệp không phải của PDF).",
                     "This PDF is not valid (it does not start as a PDF does).", advice)
    if not data.rstrip(_TRAILING).endswith(b"%%EOF"):
        raise refuse("Tệp PDF này không hợp lệ (tệp bị cắt cụt hoặc có dữ liệu lạ sau phần kết thúc %%EOF).",
                     "This PDF is not valid (it is cut short or has other data after its %%EOF end).", advice)
    for hit in iter_markup(data):
        if not _in_binary_stream(data, hit.start()):
            raise refuse("Tệp PDF này không hợp lệ (có nội dung HTML sau phần đầu).",
                         "This PDF is not valid (it has HTML content after its header).", advice)


def _in_binary_stream(data: bytes, pos: int) -> bool:
    """Whether `pos` lies in the body of a stream whose data is Flate, JPEG or JPEG 2000
    and begins as such: markup-like bytes there are chance bytes of binary data."""
    keyword = data.rfind(b"stream", 0, pos)
    while keyword >= 3 and data[keyword - 3:keyword] == b"end":
        keyword = data.rfind(b"stream", 0, keyword - 3)
    if keyword < 0:
        return False
    body = keyword + 6
    body += 2 if data[body:body + 2] == b"\r\n" else 1
    close = data.find(b"endstream", body)
    if close < 0 or close < pos:
        return False
    opening = data.rfind(b"obj", 0, keyword)
    dictionary = data[max(opening, 0):keyword]
    filters = re.findall(rb"/[A-Za-z0-9]+Decode", dictionary)
    if not filters:
        return False
    for name, start in _BINARY_BODIES:
        if filters[0] == name and start.match(data, body):
            return True
    return False


def _check_encryption(reader: PdfFileReader) -> None:
    if not reader.encrypted:
        return
    try:
        opened = reader.decrypt(b"").status != AuthStatus.FAILED
    except Exception:  # noqa: BLE001  (a certificate-based handler, or a broken encryption dictionary)
        opened = False
    if not opened:
        raise RuleRefused(
            "Tệp PDF này có mật khẩu nên người thẩm định không mở được. Hãy bỏ mật khẩu (hoặc xuất lại tệp "
            "không đặt mật khẩu) rồi tải lên.",
            "This PDF is password-protected, so appraisers cannot open it. Remove the password (or export "
            "it again without one) and upload it.")


def _check_pages(reader: PdfFileReader) -> None:
    root = reader.root
    pages = root.get_object()["/Pages"].get_object() if "/Pages" in root else None
    count = pages.get("/Count") if isinstance(pages, generic.DictionaryObject) else None
    if root.get("/Type") != "/Catalog" or not isinstance(count, int) or count < 1:
        raise refuse("Tệp PDF này không hợp lệ (không có trang nào đọc được).",
                     "This PDF is not valid (it has no readable page).")


def _check_objects(reader: PdfFileReader) -> None:
    xrefs = reader.xrefs
    refs: set = set()
    for revision in range(xrefs.total_revisions):
        refs |= xrefs.explicit_refs_in_revision(revision)
        if len(refs) > MAX_OBJECTS:
            raise refuse("Tệp PDF này có quá nhiều đối tượng để kiểm tra.",
                         "This PDF has too many objects to check.")
    for ref in refs:
        obj = reader.get_object(ref)
        if isinstance(obj, generic.DictionaryObject) and _is_active(obj):
            raise RuleRefused(
                "Tệp PDF này chứa mã lệnh (JavaScript) hoặc lệnh mở chương trình khác, không được nhận làm "
                "minh chứng. Hãy in lại tệp ra PDF (Máy in: Microsoft Print to PDF) rồi tải lên.",
                "This PDF contains code (JavaScript) or an action that launches another program; it is not "
                "accepted as evidence. Print it to a new PDF (printer: Microsoft Print to PDF) and upload that.")


def _is_active(obj: generic.DictionaryObject) -> bool:
    return obj.get("/S") in ("/JavaScript", "/Launch") or "/JS" in obj
