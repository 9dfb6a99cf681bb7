"""Uploaded files are what their extension says from the first byte to the last, and
their names hide nothing: real files pass, crafted ones are refused (422; 415 for a
type not accepted at all) with a message saying what to do, and nothing is stored."""
from __future__ import annotations

import io
import re
import struct
import unicodedata
import zipfile
import zlib
from pathlib import Path

import pytest
from helpers import PDF, make_pdf, pdf_of, upload
from PIL import Image

from workflow_app.extensions import db
from workflow_app.models import Attachment, AuditRecord
from workflow_app.services import attach_evidence, create_dossier
from workflow_app.services.admin.demo import demo_evidence_pdf
from workflow_app.services.core.filecheck import MAX_NAME_BYTES, check_upload, trim_name
from workflow_app.services.core.filecheck.packages import MAX_ENTRIES
from workflow_app.services.core.filecheck.pdf import ASK_ISSUER, MAX_OBJECTS, check_pdf_shape
from workflow_app.workflow.errors import RuleRefused

YEAR = 2024


# --- real files ---------------------------------------------------------------------

CATALOG, PAGES, PAGE = (b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
                        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>")


def pdf_with_object_stream(action: dict | None = None) -> bytes:
    """A one-page PDF written by pyHanko with an OpenAction packed in a compressed object
    stream (where Word and WeasyPrint put most objects)."""
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.writer import PdfFileWriter

    name, number = generic.NameObject, generic.NumberObject
    writer = PdfFileWriter(stream_xrefs=True)
    writer.insert_page(generic.DictionaryObject({
        name("/Type"): name("/Page"), name("/MediaBox"): generic.ArrayObject(map(number, (0, 0, 595, 842)))}))
    packed = writer.prepare_object_stream()
    body = {name("/S"): name("/GoTo"), name("/D"): generic.ArrayObject([number(0), name("/Fit")])}
    body.update({name(k): (name(v) if v.startswith("/") else generic.TextStringObject(v))
                 for k, v in (action or {}).items()})
    writer.root[name("/OpenAction")] = writer.add_object(generic.DictionaryObject(body), obj_stream=packed)
    out = io.BytesIO()
    writer.write(out)
    assert b"/ObjStm" in out.getvalue()
    return out.getvalue()


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def hand_png(width: int = 3, height: int = 2, extra: bytes = b"", idat: bytes | None = None) -> bytes:
    """An 8-bit RGB PNG built chunk by chunk; `extra` chunks go before IDAT."""
    rows = b"".join(b"\0" + bytes([200, 30, 30]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + extra + png_chunk(b"IDAT", zlib.compress(rows) if idat is None else idat) + png_chunk(b"IEND", b""))


def stored_png(pixels: bytes) -> bytes:
    """A one-row RGB PNG holding `pixels`, its IDAT written with stored (level-0) deflate
    blocks: the bytes stand in the file as they are."""
    width = -(-len(pixels) // 3)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, 1, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"\0" + pixels.ljust(3 * width), 0)) + png_chunk(b"IEND", b""))


def palette_png() -> bytes:
    out = io.BytesIO()
    img = Image.new("P", (40, 30))
    img.putpalette([0, 0, 0, 250, 200, 10, 30, 60, 200])
    img.save(out, "PNG", transparency=0)
    assert b"PLTE" in out.getvalue()
    return out.getvalue()


PAGE_WITH_CONTENT = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R>>"


def flate_stream(body: bytes) -> bytes:
    return b"<</Length %d/Filter/FlateDecode>>stream\n%s\nendstream" % (len(body), body)


def pillow(fmt: str, **kw) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (20, 120, 60)).save(out, fmt, **kw)
    return out.getvalue()


CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                 b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                 b'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                 b'<Default Extension="xml" ContentType="application/xml"/>'
                 b'<Override PartName="/word/document.xml" ContentType="%s"/></Types>')
DOCX_MAIN = b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
RELS = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        b'officeDocument" Target="word/document.xml"/></Relationships>')
DOCUMENT = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
            '<w:body><w:p><w:r><w:t>Biên bản họp thôn</w:t></w:r></w:p></w:body></w:document>').encode()


def docx(parts: dict[str, bytes] | None = None, main_type: bytes = DOCX_MAIN, drop: tuple[str, ...] = ()) -> bytes:
    """A Word package with its three parts (plus `parts`), as Word lays it out."""
    entries = {"[Content_Types].xml": CONTENT_TYPES % main_type, "_rels/.rels": RELS, "word/document.xml": DOCUMENT,
               **(parts or {})}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            if name not in drop:
                zf.writestr(name, data)
    return out.getvalue()


def xlsx() -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.active["A1"] = "Số hộ nghèo"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def odt() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), b"application/vnd.oasis.opendocument.text",
                    compress_type=zipfile.ZIP_STORED)
        zf.writestr("META-INF/manifest.xml", b'<?xml version="1.0"?><manifest:manifest xmlns:manifest='
                    b'"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0"/>')
        zf.writestr("content.xml", b'<?xml version="1.0"?><office:document-content xmlns:office='
                    b'"urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>')
    return out.getvalue()


# --- the world ----------------------------------------------------------------------

@pytest.fixture
def draft(app, make_user, api_as):
    """(preparer's API client, the preparer, a village draft's id)."""
    preparer = make_user("preparer", "na-tam-03")
    did = create_dossier(preparer, "village_ntm", "na-tam-03", YEAR).id
    db.session.commit()
    return api_as(preparer), preparer, did


def stored_files(app) -> list[Path]:
    root = Path(app.config["STORAGE_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def counts() -> tuple[int, int]:
    return (db.session.scalar(db.select(db.func.count()).select_from(Attachment)),
            db.session.scalar(db.select(db.func.count()).select_from(AuditRecord)))


def assert_refused_and_nothing_stored(app, api, did, content, name, status=422, code="rule_refused") -> dict:
    before, files = counts(), stored_files(app)
    r = upload(api, did, "1", content=content, name=name)
    assert r.status_code == status, (r.status_code, r.json)
    assert r.json["error"]["code"] == code
    db.session.expire_all()
    assert counts() == before and stored_files(app) == files
    return r.json["error"]


# --- real files pass ----------------------------------------------------------------

@pytest.mark.parametrize("name, make, mime", [
    ("quyet-dinh.pdf", lambda: demo_evidence_pdf(), "application/pdf"),      # the app's own renderer
    ("toi-gian.pdf", lambda: PDF, "application/pdf"),
    ("nen.pdf", pdf_with_object_stream, "application/pdf"),
    ("anh-chup.jpg", lambda: pillow("JPEG"), "image/jpeg"),
    ("anh-chup.JPEG", lambda: pillow("JPEG", progressive=True, quality=70), "image/jpeg"),
    ("so-do.png", lambda: pillow("PNG"), "image/png"),
    ("so-do-xen-ke.png", lambda: hand_png(5, 9, extra=png_chunk(b"tEXt", b"Title\0Ban do thon")), "image/png"),
    ("so-do-khong-nen.png", lambda: pillow("PNG", compress_level=0), "image/png"),        # stored deflate
    ("so-do-bang-mau.png", lambda: palette_png(), "image/png"),                           # PLTE + tRNS
    ("nen-noi-dung.pdf", lambda: pdf_of(CATALOG, PAGES, PAGE_WITH_CONTENT,
                                        flate_stream(zlib.compress(b"BT /F1 12 Tf 72 720 Td <48656c6c6f> Tj ET"))),
     "application/pdf"),
    ("bien-ban.docx", docx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("bang-ke.xlsx", xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("bao-cao.odt", odt, "application/vnd.oasis.opendocument.text"),
])
def test_real_files_are_accepted(app, draft, name, make, mime):
    api, _, did = draft
    data = make()
    r = upload(api, did, "1", content=data, name=name)
    assert r.status_code == 201, r.json
    assert r.json["filename"] == name and r.json["size"] == len(data)
    stored = db.session.get(Attachment, r.json["id"])
    assert stored.mime == mime and len(stored_files(app)) == 1


# --- crafted files are refused, nothing stored --------------------------------------

HTML = b"<!DOCTYPE html><html><body><script>fetch('/api/v1/me')</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(document.cookie)"/>'


def zip_bomb() -> bytes:
    """A well-formed Word package with 8 MB of zeros in it: about 8 kB on disk."""
    return docx({"word/media/image1.bin": bytes(8 * 1024 * 1024)})


def docx_with_gap(filler: bytes) -> bytes:
    """A Word package with `filler` written between two entries, every offset right."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES % DOCX_MAIN)
        out.write(filler)
        zf.start_dir = out.tell()  # where zipfile writes the next entry (it seeks there)
        zf.writestr("_rels/.rels", RELS)
        zf.writestr("word/document.xml", DOCUMENT)
    return out.getvalue()


def many_entries() -> bytes:
    # Short names keep the body under the test client's 500 kB spool threshold (above it
    # the client leaves a temporary file open).
    return docx({str(i): b"" for i in range(MAX_ENTRIES + 1)})


def jpeg_with_comment(comment: bytes) -> bytes:
    data = pillow("JPEG")
    return data[:2] + b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment + data[2:]


@pytest.mark.parametrize("name, make, words", [
    # PDF: HTML after the header (what a browser would render), inside a valid PDF,
    # data after %%EOF, cut short, no pages, JavaScript.
    ("hoa-don.pdf", lambda: b"%PDF-1.4\n" + HTML + b"\n%%EOF\n", "HTML"),
    ("hoa-don.pdf", lambda: pdf_of(CATALOG, PAGES, PAGE, b"<</Length %d>>stream\n" % len(HTML) + HTML
                                   + b"\nendstream"), "HTML"),
    ("hoa-don.pdf", lambda: PDF + HTML, "%%EOF"),
    ("hoa-don.pdf", lambda: PDF + b"MZ\x90\x00 payload " * 20, "%%EOF"),  # PDF readers skip this
    ("hoa-don.pdf", lambda: demo_evidence_pdf()[:-2000] + b"\n%%EOF\n", "xuất lại"),
    ("hoa-don.pdf", lambda: pdf_of(CATALOG, b"<</Type/Pages/Kids[]/Count 0>>"), "không có trang"),
    ("hoa-don.pdf", lambda: pdf_of(b"<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>", PAGES, PAGE,
                                   b"<</S/Java#53cript/J#53(app.launchURL\\('http://x.example'\\))>>"), "JavaScript"),
    ("hoa-don.pdf", lambda: pdf_with_object_stream({"/S": "/JavaScript", "/JS": "app.alert(1)"}), "JavaScript"),
    ("hoa-don.pdf", lambda: pdf_with_object_stream({"/S": "/Launch", "/F": "cmd.exe"}), "JavaScript"),
    # PDF: a "Flate" page content stream that is HTML after one byte "x" (a zlib header's
    # first byte), stored (level-0) Flate holding HTML in the clear, HTML compressed for real.
    ("hoa-don.pdf", lambda: pdf_of(CATALOG, PAGES, PAGE_WITH_CONTENT, flate_stream(b"x" + HTML)), "HTML"),
    ("hoa-don.pdf", lambda: pdf_of(CATALOG, PAGES, PAGE_WITH_CONTENT, flate_stream(zlib.compress(HTML, 0))),
     "HTML"),
    ("hoa-don.pdf", lambda: pdf_of(CATALOG, PAGES, PAGE_WITH_CONTENT, flate_stream(zlib.compress(HTML, 9))),
     "HTML"),
    # Flate data that inflates, then HTML before endstream (outside the compressed data).
    ("hoa-don.pdf", lambda: pdf_of(CATALOG, PAGES, PAGE_WITH_CONTENT,
                                   flate_stream(zlib.compress(b"q Q") + HTML)), "HTML"),
    # PNG: an SVG after IEND, an SVG in a text chunk with a right CRC, pixel data cut short.
    ("so-do.png", lambda: hand_png() + SVG, "PNG"),
    ("so-do.png", lambda: hand_png(extra=png_chunk(b"tEXt", b"Comment\0" + SVG)), "PNG"),
    ("so-do.png", lambda: hand_png(idat=zlib.compress(b"\0" * 4)), "PNG"),
    ("so-do.png", lambda: pillow("PNG")[:-40], "PNG"),
    # PNG: SVG in a critical chunk no decoder knows (skipped by a walk that only reads
    # known chunks), in PLTE (a right length), in pixel data stored uncompressed; a PLTE
    # longer than 256 colours.
    ("so-do.png", lambda: hand_png(extra=png_chunk(b"Svgx", SVG)), "PNG"),
    ("so-do.png", lambda: hand_png(extra=png_chunk(b"PLTE", SVG.ljust(-(-len(SVG) // 3) * 3))), "PNG"),
    ("so-do.png", lambda: stored_png(SVG), "PNG"),
    ("so-do.png", lambda: stored_png(HTML), "PNG"),
    ("so-do.png", lambda: hand_png(extra=png_chunk(b"PLTE", bytes(769 * 3))), "PNG"),
    ("so-do.png", lambda: hand_png(extra=png_chunk(b"PLTE", bytes(4))), "PNG"),
    ("so-do.png", lambda: hand_png(extra=png_chunk(b"Abcd", b"harmless")), "PNG"),  # critical, unknown
    # JPEG: HTML in a comment segment, cut short (no EOI), something after EOI.
    ("anh.jpg", lambda: jpeg_with_comment(HTML), "JPEG"),
    ("anh.jpg", lambda: pillow("JPEG")[:-300], "JPEG"),
    ("anh.jpg", lambda: pillow("JPEG") + HTML, "JPEG"),
    # OOXML / ODF: no [Content_Types].xml, a workbook named .docx, a zip bomb, too many
    # entries, HTML between two entries, an ODF without its mimetype entry.
    ("bien-ban.docx", lambda: docx(drop=("[Content_Types].xml",)), "Word"),
    ("bien-ban.docx", xlsx, "Word"),
    ("bien-ban.docx", zip_bomb, "bom nén"),
    ("bien-ban.docx", many_entries, "bom nén"),
    ("bien-ban.docx", lambda: docx_with_gap(HTML), "Word"),
    ("bao-cao.odt", lambda: docx(), "OpenDocument"),
    # Legacy Office: only the OLE signature, then HTML.
    ("bang-ke.xls", lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + HTML * 10, "Excel"),
])
def test_crafted_files_are_refused_with_what_to_do(app, draft, name, make, words):
    api, _, did = draft
    error = assert_refused_and_nothing_stored(app, api, did, make(), name)
    assert words in error["message"] and name in error["message"]
    assert re.search(r"Hãy .*(tải lên|xin)", error["message"]), error["message"]


FLATE_TRICKS = [flate_stream(b"x" + HTML), flate_stream(zlib.compress(HTML, 0)),
                flate_stream(zlib.compress(b"q Q") + HTML)]


@pytest.mark.parametrize("stream", FLATE_TRICKS)
def test_the_public_check_without_parsing_refuses_html_in_flate_streams(stream):
    # check_pdf_shape is all the public verification form runs on a file it does not know.
    with pytest.raises(RuleRefused) as refused:
        check_pdf_shape(pdf_of(CATALOG, PAGES, PAGE_WITH_CONTENT, stream), ASK_ISSUER)
    assert "HTML" in refused.value.message("en")
    check_pdf_shape(pdf_of(CATALOG, PAGES, PAGE_WITH_CONTENT, flate_stream(zlib.compress(b"q Q"))), ASK_ISSUER)


@pytest.mark.parametrize("markup", [
    b'<img src=x onerror=alert(1)>', b'<IMG\nsrc="a.png" onLoad = "go()">', b'<object data="x.swf">',
    b'<embed src="x">', b'<a href="javascript:alert(1)">here</a>', b"<A HREF = ' JavaScript:go()'>",
    b'<form action="https://x.example">', b"< iframe src=x>", b"<svg/onload=alert(1)>", b"<Script>go()</script>",
    b"<!DOCTYPE  HTML>", b"<html>",
])
def test_active_markup_is_found_in_every_spelling(markup):
    for name, data in (("anh.jpg", jpeg_with_comment(b"note " + markup)),
                       ("anh.png", hand_png(extra=png_chunk(b"tEXt", b"Comment\0" + markup))),
                       ("a.pdf", pdf_of(CATALOG, PAGES, PAGE, b"<</Title(" + markup + b")>>"))):
        with pytest.raises(RuleRefused):
            check_upload(name, data, 10 * 1024 * 1024)


def test_text_that_only_mentions_tags_is_not_markup():
    for text in (b"a < b and img > 3", b"<a name=x>", b"<img src=logo.png>", b"<format>", b"<objects>", b"<html5"):
        check_upload("anh.jpg", jpeg_with_comment(text), 10 * 1024 * 1024)


def test_a_pdf_of_more_objects_than_the_cap_is_refused():
    # The cap bounds the work of checking a PDF full of small objects: just under it the
    # file is read, at it the file is refused. (How long that takes is not asserted here.)
    filler = [b"<</Type/Annot/Subtype/Link/Rect[0 0 10 10]/Border[0 0 0]>>"]
    ok = pdf_of(CATALOG, PAGES, PAGE, *filler * (MAX_OBJECTS - 10))
    check_upload("dai.pdf", ok, 10 * 1024 * 1024)
    with pytest.raises(RuleRefused) as refused:
        check_upload("dai.pdf", pdf_of(CATALOG, PAGES, PAGE, *filler * MAX_OBJECTS), 10 * 1024 * 1024)
    assert "quá nhiều đối tượng" in refused.value.message("vi")
    assert MAX_OBJECTS <= 15_000


def test_refusals_in_english(app, draft):
    from conftest import ApiClient

    api, _, did = draft

    en = ApiClient(api.client, api.token, "en")
    error = assert_refused_and_nothing_stored(app, en, did, b"%PDF-1.4\n" + HTML + b"\n%%EOF\n", "x.pdf")
    assert "HTML content after its header" in error["message"] and "export it to PDF again" in error["message"]
    error = assert_refused_and_nothing_stored(app, en, did, zip_bomb(), "x.docx")
    assert "zip bomb" in error["message"]


def test_a_type_not_accepted_is_still_415(app, draft):
    api, _, did = draft
    assert_refused_and_nothing_stored(app, api, did, SVG, "so-do.svg", 415, "unsupported_file_type")
    assert_refused_and_nothing_stored(app, api, did, HTML, "hoa-don.pdf", 415, "unsupported_file_type")


# --- names --------------------------------------------------------------------------

@pytest.mark.parametrize("hidden", ["\u202e", "\u202a", "\u2066", "\u2069", "\u200e", "\u200f", "\x00", "\r", "\n",
                                    "\x1b", "\x85", "\u2028", "\ufeff"])
def test_names_with_control_or_format_characters_are_refused(app, draft, hidden):
    _, preparer, did = draft
    from workflow_app.models import Dossier

    dossier = db.session.get(Dossier, did)
    files = stored_files(app)
    with pytest.raises(RuleRefused) as refused:
        attach_evidence(preparer, dossier, f"hoa-don{hidden}fdp.exe.pdf", PDF, "1")
    message = refused.value.message("vi")
    assert "'file'" in message and f"U+{ord(hidden):04X}" in message and "đổi tên" in message
    assert "'file'" in refused.value.message("en")
    db.session.rollback()
    assert counts()[0] == 0 and stored_files(app) == files


def test_a_bidi_override_name_through_the_api_is_422_naming_the_field(app, draft):
    api, _, did = draft
    error = assert_refused_and_nothing_stored(app, api, did, PDF, "bien-ban-\u202egnp.pdf")
    assert "trường 'file'" in error["message"] and "U+202E" in error["message"]


VIETNAMESE = "Biên bản họp thôn Nà Tăm về việc đề nghị xét công nhận đạt chuẩn nông thôn mới năm 2024 "


def test_a_400_character_vietnamese_name_is_trimmed_keeping_letters_and_extension(app, draft):
    api, _, did = draft
    long_name = (VIETNAMESE * 5)[:400 - 4] + ".pdf"
    decomposed = unicodedata.normalize("NFD", long_name)  # as macOS sends it
    assert len(long_name) == 400
    r = upload(api, did, "1", content=PDF, name=decomposed)
    assert r.status_code == 201, r.json
    kept = r.json["filename"]
    assert kept.endswith(".pdf") and unicodedata.is_normalized("NFC", kept)
    assert len(kept.encode("utf-8")) <= MAX_NAME_BYTES and len(kept) <= 255
    stem = kept[:-4]
    assert long_name.startswith(stem) and len(stem.encode("utf-8")) > MAX_NAME_BYTES - 10
    assert db.session.get(Attachment, r.json["id"]).filename == kept


def test_trimming_never_separates_a_letter_from_its_marks():
    # q with two marks has no precomposed form: three code points in NFC too.
    cluster = unicodedata.normalize("NFC", "q\u0308\u0323")
    assert len(cluster) == 3
    for pad in range(6):
        name = "a" * pad + cluster * 200 + ".pdf"
        kept = trim_name(name)
        assert kept.endswith(".pdf") and len(kept.encode("utf-8")) <= MAX_NAME_BYTES
        stem = kept[:-4]
        assert name.startswith(stem)
        assert not unicodedata.combining(name[len(stem)]), "cut between a letter and its marks"
    assert trim_name("a" * 300 + ".tar.gz").endswith(".gz")
    assert trim_name("ngắn.pdf") == "ngắn.pdf"


def test_a_stored_name_with_hidden_characters_downloads_safely(app, draft):
    api, _, did = draft
    r = upload(api, did, "1", content=PDF, name="bien-ban.pdf")
    attachment = db.session.get(Attachment, r.json["id"])
    attachment.filename = "hoa-don\u202efdp.exe\r\nSet-Cookie: a=b.pdf"  # as another import path might write it
    db.session.commit()
    got = api.get(f"/api/v1/dossiers/{did}/attachments/{attachment.id}")
    assert got.status_code == 200 and got.data == PDF
    disposition = got.headers["Content-Disposition"]
    assert "\u202e" not in disposition and "%E2%80%AE" not in disposition and "\r" not in disposition
    assert "Set-Cookie" not in got.headers


# --- the page form ------------------------------------------------------------------

def test_the_page_shows_a_refusal_at_the_form_it_came_from(app, draft):
    _, preparer, did = draft
    client = app.test_client()
    assert client.post("/login", data={"username": preparer.username, "password": "pw-123456"}).status_code == 302
    files = stored_files(app)
    r = client.post(f"/dossiers/{did}/attachments", content_type="multipart/form-data",
                    data={"criterion": "7", "file": (io.BytesIO(hand_png() + SVG), "so-do.png")})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    block = page[page.index('id="c-7"'):page.index('id="c-8"')]
    assert 'id="upload-error"' in block and "Tệp ảnh PNG này không hợp lệ" in block and "so-do.png" in block
    assert 'name="criterion" value="7"' in block  # the same form, ready to choose another file
    db.session.expire_all()
    assert counts()[0] == 0 and stored_files(app) == files
    r = client.post(f"/dossiers/{did}/attachments", content_type="multipart/form-data",
                    data={"criterion": "7", "file": (io.BytesIO(hand_png()), "so-do.png")})
    assert r.status_code == 302 and len(stored_files(app)) == 1


# --- public verification by upload --------------------------------------------------

def test_verify_upload_refuses_html_after_a_pdf_header_and_still_matches_the_issued_file(app, issued):
    token = issued.decision.verify_token
    issued_pdf = issued.path.read_bytes()

    def check(content: bytes):
        with app.app_context():
            return app.test_client().post(f"/verify/{token}", data={"file": (io.BytesIO(content), "qd.pdf")},
                                          headers={"Accept": "application/json"}, content_type="multipart/form-data")

    r = check(b"%PDF-1.7\n" + HTML + b"\n%%EOF\n")
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid_pdf"
    assert "HTML" in r.json["error"]["message"] and "cơ quan ban hành" in r.json["error"]["message"]
    assert check(issued_pdf + HTML).status_code == 422
    assert check(issued_pdf).json["match"] is True
    other = check(make_pdf(b"khac"))
    assert other.status_code == 200 and other.json["match"] is False
