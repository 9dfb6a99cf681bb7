"""PDF files: a PDF from its first byte to its last, that a reader can open.

Valid here means: the header `%PDF-1.x` or `%PDF-2.0` at byte 0; `%%EOF` at the end
(only white space after it); the cross-reference sections and trailer readable by
pyHanko, with a /Root catalog whose page tree has at least one page; every object the
last cross-reference lists readable where it says; no password needed to open it; no
JavaScript or launch action; no HTML or SVG markup anywhere except inside the binary
data of a compressed (Flate), JPEG or JPEG 2000 stream; every Flate stream but images
inflates, to no markup."""
from __future__ import annotations

import io
import logging
import re
import zlib

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.crypt import AuthStatus
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.xref import ObjStreamRef

from ....workflow.errors import RuleRefused, Text
from .markup import MarkupScan, find_markup, iter_markup

log = logging.getLogger(__name__)

_HEADER = re.compile(rb"%PDF-(1\.[0-7]|2\.0)[\r\n\s%]")
_TRAILING = b" \t\r\n\f\0"
# More objects than this is not an evidence document (a 300-page report has a few thousand);
# reading them takes about 0.17 ms each, so the cap keeps the check under about 3 s.
MAX_OBJECTS = 15_000
# Names that start code or another program: /S /JavaScript, /JS, /S /Launch, the /JavaScript name tree.
_ACTIVE_NAMES = {b"JS", b"JavaScript", b"Launch"}
_NAME = re.compile(rb"/([^\s/<>\[\]()%{}]*)")
# Streams other than images hold page content, fonts and dictionaries: this much inflated,
# all told, is not a document.
MAX_INFLATED = 256 * 1024 * 1024
_PIECE = 4 * 1024 * 1024
_BINARY_BODIES = ((b"/DCTDecode", re.compile(rb"\xff\xd8")),
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
    inflated: dict[int, tuple[bool | str, int]] = {}  # stream body -> what inflating it gave
    budget = [MAX_INFLATED]
    for hit in iter_markup(data):
        if not _in_binary_stream(data, hit.start(), inflated, budget):
            raise refuse("Tệp PDF này không hợp lệ (có nội dung HTML sau phần đầu).",
                         "This PDF is not valid (it has HTML content after its header).", advice)


def _in_binary_stream(data: bytes, pos: int, inflated: dict, budget: list[int]) -> bool:
    """Whether `pos` lies in the body of a stream whose data is Flate (and inflates, to no
    markup; `pos` within the compressed data), JPEG or JPEG 2000 and begins as such:
    markup-like bytes there are chance bytes of binary data."""
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
    if filters[0] == b"/FlateDecode":
        if body not in inflated:
            inflated[body] = _inflates_clean(data[body:close], budget)
        found, consumed = inflated[body]
        return found is True and pos < body + consumed
    for name, start in _BINARY_BODIES:
        if filters[0] == name and start.match(data, body):
            return True
    return False


def _inflates_clean(compressed: bytes, budget: list[int]) -> tuple[bool | str, int]:
    """(True when `compressed` inflates, a few MB at a time counted against `budget` (bytes
    left), to data without markup, otherwise what is wrong: "broken", "markup" or "too
    large"; how many bytes of `compressed` the Flate data takes)."""
    inflater, scan, rest = zlib.decompressobj(), MarkupScan(), compressed
    try:
        while rest and not inflater.eof:
            out = inflater.decompress(rest, _PIECE)
            rest = inflater.unconsumed_tail
            budget[0] -= len(out)
            if budget[0] < 0:
                return "too large", 0
            if scan.feed(out):
                return "markup", 0
            if not out:
                break
    except zlib.error:
        return "broken", 0
    return True, len(compressed) - len(inflater.unused_data)


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
    """Read every loose object the cross-references list, where their offsets say; for
    objects packed in object streams, decode each stream once and read its names.
    (pyHanko decodes a whole object stream again for each object asked of it, and
    parses about a thousand objects a second: reading each packed one would take
    minutes for a long report.)"""
    xrefs = reader.xrefs
    refs: set = set()
    for revision in range(xrefs.total_revisions):
        refs |= xrefs.explicit_refs_in_revision(revision)
        if len(refs) > MAX_OBJECTS:
            raise refuse("Tệp PDF này có quá nhiều đối tượng để kiểm tra (tài liệu quá dài).",
                         "This PDF has too many objects to check (the document is too long).",
                         Text("Hãy chia tệp thành nhiều phần rồi tải lên từng phần.",
                              "Split it into several files and upload each."))
    streams: set[int] = set()
    budget = [MAX_INFLATED]
    for ref in refs:
        where = xrefs[ref]
        if isinstance(where, ObjStreamRef):
            streams.add(where.obj_stream_id)
        elif where is not None:
            obj = reader.get_object(ref)
            _check_active(obj)
            if isinstance(obj, generic.StreamObject):
                _check_flate(obj, budget)
    for stream_id in streams:
        stream = reader.get_object(generic.Reference(stream_id, 0, reader))
        if not isinstance(stream, generic.StreamObject) or stream.get("/Type") != "/ObjStm":
            raise ValueError(f"object {stream_id} is not an object stream")
        data = _inflate(stream, budget)
        header = data[:int(stream["/First"])].split()
        if len(header) < 2 * int(stream["/N"]) or not all(n.isdigit() for n in header):
            raise ValueError(f"object stream {stream_id}: bad header")
        if any(_unescape(m[1]) in _ACTIVE_NAMES for m in _NAME.finditer(data)):
            _refuse_active()
        if find_markup(data):
            raise _markup_inside()


def _check_flate(stream: generic.StreamObject, budget: list[int]) -> None:
    """A stream whose first filter is Flate must inflate, and, unless it is an image
    (pixels, binary), to no markup: page content, forms and fonts are not web pages."""
    filters = stream.get("/Filter")
    first = filters[0] if isinstance(filters, generic.ArrayObject) and filters else filters
    if first != "/FlateDecode" or stream.get("/Subtype") == "/Image" or stream.get("/Type") == "/ObjStm":
        return
    found, _ = _inflates_clean(stream.encoded_data, budget)
    if found == "too large":
        raise _too_large()
    if found == "markup":
        raise _markup_inside()
    if found == "broken":
        raise ValueError("a Flate stream does not inflate")


def _markup_inside() -> RuleRefused:
    return refuse("Tệp PDF này không hợp lệ (có nội dung HTML trong dữ liệu nén).",
                  "This PDF is not valid (it has HTML content in its compressed data).")


def _too_large() -> RuleRefused:
    return refuse("Tệp PDF này khi giải nén lớn bất thường so với kích thước của nó.",
                  "This PDF expands to far more than its size when decompressed.")


def _inflate(stream: generic.StreamObject, budget: list[int]) -> bytes:
    """The stream's data, counted against `budget` (bytes left): Flate inflated here with
    a cap, so a small object stream cannot inflate to gigabytes."""
    if stream.get("/Filter") == "/FlateDecode" and "/DecodeParms" not in stream:
        inflater = zlib.decompressobj()
        data = inflater.decompress(stream.encoded_data, budget[0] + 1)
        if inflater.unconsumed_tail or len(data) > budget[0]:
            raise _too_large()
    else:
        data = stream.data
    budget[0] -= len(data)
    if budget[0] < 0:
        raise _too_large()
    return data


def _check_active(obj) -> None:
    """Refuse JavaScript and launch actions anywhere in the object (not following references)."""
    pending, seen = [obj], 0
    while pending:
        item = pending.pop()
        seen += 1
        if seen > 100_000:
            raise ValueError("object too deeply nested")
        if isinstance(item, generic.DictionaryObject):
            if item.get("/S") in ("/JavaScript", "/Launch") or "/JS" in item:
                _refuse_active()
            pending.extend(item.values())
        elif isinstance(item, generic.ArrayObject):
            pending.extend(item)


def _refuse_active():
    raise RuleRefused(
        "Tệp PDF này chứa mã lệnh (JavaScript) hoặc lệnh mở chương trình khác, không được nhận làm "
        "minh chứng. Hãy in lại tệp ra PDF (Máy in: Microsoft Print to PDF) rồi tải lên.",
        "This PDF contains code (JavaScript) or an action that launches another program; it is not "
        "accepted as evidence. Print it to a new PDF (printer: Microsoft Print to PDF) and upload that.")


def _unescape(name: bytes) -> bytes:
    return re.sub(rb"#([0-9A-Fa-f]{2})", lambda m: bytes([int(m[1], 16)]), name) if b"#" in name else name
