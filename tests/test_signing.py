"""PAdES signing of decision PDFs (workflow_app/signing): a development CA,
a visible Vietnamese stamp on the last page, verification against the root."""
from __future__ import annotations

import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import weasyprint
from click.testing import CliRunner
from pyhanko.pdf_utils.reader import PdfFileReader

from workflow_app.signing import init_dev, sign_pdf, verify_pdf
from workflow_app.signing.cli import signing_cli
from workflow_app.signing.pades import iso_vn

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts" / "signing"
VN = timezone(timedelta(hours=7))
ISSUER = "Ủy ban nhân dân huyện Tam Đường"
SIGNER = "Trần Quốc Khánh"
CAPACITY = "KT. CHỦ TỊCH - PHÓ CHỦ TỊCH"
WHEN = datetime(2024, 9, 5, 10, 15, tzinfo=VN)

HTML = """<html lang="vi"><head><meta charset="utf-8"><style>
@page { size: A4; margin: 20mm }  body { font-family: Tinos, serif; font-size: 13pt }
</style></head><body>
<p>ỦY BAN NHÂN DÂN HUYỆN TAM ĐƯỜNG</p><h1>QUYẾT ĐỊNH</h1>
<p>Về việc công nhận danh hiệu "Thôn văn hóa" năm 2024</p>
<p style="page-break-before: always">Điều 3. Quyết định này có hiệu lực kể từ ngày ký.</p>
</body></html>"""


@pytest.fixture(scope="module")
def ca(tmp_path_factory):
    folder = tmp_path_factory.mktemp("signing")
    return init_dev(folder, "tam-duong", ISSUER, SIGNER)


@pytest.fixture(scope="module")
def pdf() -> bytes:
    return weasyprint.HTML(string=HTML).write_pdf()


def sign(pdf: bytes, ca: dict, when: datetime = WHEN) -> bytes:
    return sign_pdf(pdf, ca["key"], ca["cert"], ca["chain"], signer_name=SIGNER, capacity=CAPACITY,
                    issuer_name=ISSUER, signing_time=when)


@pytest.fixture(scope="module")
def signed(pdf, ca) -> bytes:
    return sign(pdf, ca)


def test_init_dev_writes_pems_and_is_idempotent(tmp_path):
    paths = init_dev(tmp_path, "tam-duong", ISSUER, SIGNER)
    assert {p.name for p in tmp_path.iterdir()} >= {"root.pem", "tam-duong.key.pem", "tam-duong.cert.pem"}
    assert paths["root"] == tmp_path / "root.pem" and paths["chain"] == [tmp_path / "root.pem"]
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    again = init_dev(tmp_path, "tam-duong", ISSUER, SIGNER)
    assert again["created"] == [] and {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    forced = init_dev(tmp_path, "tam-duong", ISSUER, SIGNER, force=True)
    assert forced["created"] and paths["cert"].read_bytes() != before["tam-duong.cert.pem"]

    from cryptography import x509
    from cryptography.x509.oid import NameOID
    root = x509.load_pem_x509_certificate(paths["root"].read_bytes())
    cert = x509.load_pem_x509_certificate(paths["cert"].read_bytes())
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (root.not_valid_after_utc - root.not_valid_before_utc).days >= 3650
    assert cert.issuer == root.subject
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == SIGNER
    assert cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == ISSUER
    ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    assert ku.digital_signature and ku.content_commitment


def test_signed_pdf_is_intact_and_trusted_against_the_dev_root(signed, ca):
    check = verify_pdf(signed, ca["root"])
    assert check.valid and check.intact and check.trusted, check.reason
    assert check.signer == SIGNER
    assert check.signing_time == WHEN
    assert iso_vn(check.signing_time) == "2024-09-05T10:15:00+07:00"


def test_signature_is_pades_with_a_visible_stamp_on_the_last_page(signed):
    reader = PdfFileReader(__import__("io").BytesIO(signed))
    (emb,) = reader.embedded_signatures
    assert emb.field_name == "Signature1"
    assert emb.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    widget = emb.sig_field
    x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
    assert x2 - x1 > 100 and y2 - y1 > 30  # visible, not a 0x0 invisible field
    last_page = reader.root["/Pages"]["/Kids"][-1].get_object()
    assert widget["/P"].get_object() is last_page or widget["/P"] == reader.root["/Pages"]["/Kids"][-1]
    width = float(last_page["/MediaBox"][2])
    assert x1 > width / 2 and y2 < 200  # bottom right
    stamp = stamp_text(widget)
    for piece in (f"Ký bởi: {SIGNER}", CAPACITY, ISSUER, "Thời gian ký: 2024-09-05T10:15:00+07:00"):
        assert piece in stamp


def stamp_text(widget) -> str:
    """The text of a signature widget's appearance stream (glyph ids + /ActualText in UTF-16BE)."""
    texts = b""
    stack = [widget["/AP"]["/N"]]
    while stack:
        xobj = stack.pop().get_object()
        texts += xobj.data
        stack += list(xobj.get("/Resources", {}).get("/XObject", {}).values())
    actual = b"".join(re.findall(rb"/ActualText \((.*?)\)\s*>>", texts, re.DOTALL))
    decoded = actual.decode("latin-1").encode("latin-1").decode("unicode_escape").encode("latin-1")
    return decoded.replace(b"\xfe\xff", b"").decode("utf-16-be")


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_last_page_renders_for_review(signed, tmp_path):
    src = tmp_path / "signed.pdf"
    src.write_bytes(signed)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "signed.pdf").write_bytes(signed)
    subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "2", "-l", "2", "-singlefile", str(src),
                    str(ARTIFACTS / "signed-page")], check=True, timeout=60)
    # the stamp zoomed in: look at this one to check the Vietnamese diacritics
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-f", "2", "-l", "2", "-singlefile",
                    "-x", "850", "-y", "1950", "-W", "800", "-H", "400", str(src),
                    str(ARTIFACTS / "signed-stamp")], check=True, timeout=60)
    assert (ARTIFACTS / "signed-page.png").stat().st_size > 1000


def test_one_changed_byte_inside_the_signed_range_breaks_it(signed, ca):
    reader = PdfFileReader(__import__("io").BytesIO(signed))
    start, len1, _start2, _len2 = (int(x) for x in reader.embedded_signatures[0].sig_object["/ByteRange"])
    assert start == 0 and len1 > 20
    tampered = bytearray(signed)
    tampered[10] ^= 0x01  # the binary comment after %PDF-1.x: still parses, but covered by the signature
    check = verify_pdf(bytes(tampered), ca["root"])
    assert not check.valid and not check.intact
    # and a changed byte in the body of the document
    tampered = bytearray(signed)
    pos = len1 // 2
    tampered[pos] = (tampered[pos] + 1) % 256
    check = verify_pdf(bytes(tampered), ca["root"])
    assert not check.valid and not check.intact


def test_certificate_from_another_root_is_not_trusted(pdf, ca, tmp_path):
    other = init_dev(tmp_path, "tam-duong", ISSUER, SIGNER)  # a different root, same names
    signed_elsewhere = sign(pdf, other)
    check = verify_pdf(signed_elsewhere, ca["root"])
    assert check.intact and not check.trusted and not check.valid
    assert verify_pdf(signed_elsewhere, other["root"]).valid


def test_signing_twice_gives_two_different_valid_files(pdf, ca):
    first, second = sign(pdf, ca), sign(pdf, ca)
    assert first != second
    assert verify_pdf(first, ca["root"]).valid and verify_pdf(second, ca["root"]).valid


def test_unsigned_pdf_is_not_valid(pdf, ca):
    check = verify_pdf(pdf, ca["root"])
    assert not check.valid and check.reason == "no signature"


def test_cli_init_dev_prints_paths_and_config(tmp_path):
    folder = tmp_path / "signing"
    result = CliRunner().invoke(signing_cli, ["init-dev", "--folder", str(folder), "--issuer", "na-tam",
                                              "--issuer-name", "Ủy ban nhân dân xã Nà Tăm",
                                              "--signer", "Lò Văn Minh"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (folder / "na-tam.key.pem").exists() and (folder / "root.pem").exists()
    assert f"set SIGNING_DIR={folder.resolve()}" in result.output  # not where the app reads: say so
    again = CliRunner().invoke(signing_cli, ["init-dev", "--folder", str(folder), "--issuer", "na-tam"])
    assert again.exit_code == 0 and "(kept)" in again.output and "(created)" not in again.output


def test_signing_works_inside_a_running_event_loop(tmp_path):
    """pyHanko's sync API uses asyncio.run(); callers inside an event loop
    (the browser tests seed signed demo decisions under Playwright) must work."""
    import asyncio

    paths = init_dev(tmp_path / "ca", "tam-duong", "Ủy ban nhân dân huyện Tam Đường", "Trần Quốc Khánh")
    from weasyprint import HTML

    pdf = HTML(string="<p>Quyết định</p>").write_pdf()

    async def inside_loop():
        return sign_pdf(pdf, paths["key"], paths["cert"], paths["chain"], signer_name="Trần Quốc Khánh",
                        capacity="PHÓ CHỦ TỊCH", issuer_name="Ủy ban nhân dân huyện Tam Đường",
                        signing_time=datetime(2024, 9, 5, 10, 15))

    signed = asyncio.run(inside_loop())
    assert verify_pdf(signed, paths["root"]).valid


# --- official decisions: render_signed_pdf (stamp in the signature slot, images) ----------

from test_pdf_render import MM, decision_context, line_box, make_facts, text_lines, twelve_units  # noqa: E402

from workflow_app.signing.issuing import render_signed_pdf  # noqa: E402
from workflow_app.signing.material import seal_path, signature_path  # noqa: E402

TEMPLATE = "pdf/decision.html"
A4_HEIGHT = 841.89
SEAL_SIZE, SIGNATURE_SIZE = (600, 600), (900, 420)  # specimen PNGs, pixels
needs_poppler = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in ("pdftotext", "pdfimages", "pdftoppm")),
    reason="poppler-utils not installed (make deps)")
CASES = {  # name: (units, capacity, expected pages)
    "1-unit": ([("Bản Nà Tăm 01", "xã Nà Tăm")], "vice_chairman", 1),
    "12-units": (twelve_units(), "chairman", 2),
}


def issue(folder: Path, units, capacity: str, username: str = "chutich") -> tuple[bytes, dict]:
    context = decision_context(make_facts(units=units, signer_capacity=capacity, signer_name=SIGNER))
    pdf = render_signed_pdf(
        TEMPLATE, context, issuer_code="tam-duong", issuer_name=ISSUER, signer_username=username,
        signer_name=SIGNER, capacity=" - ".join(context["capacity_lines"]), when=WHEN,
        signing_dir=folder)
    return pdf, context


@pytest.fixture(scope="module")
def signing_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("signing-dir")
    init_dev(folder, "tam-duong", ISSUER, SIGNER, usernames=["chutich"])
    return folder


@pytest.fixture(scope="module")
def decisions(signing_dir, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("signed-decisions")
    made = {}
    for name, (units, capacity, pages) in CASES.items():
        pdf, context = issue(signing_dir, units, capacity)
        path = out / f"decision-{name}.pdf"
        path.write_bytes(pdf)
        made[name] = (path, context, pages)
    return made


def widget_of(pdf: bytes):
    """(widget dictionary, 0-based page index, page count) of the one signature."""
    reader = PdfFileReader(__import__("io").BytesIO(pdf))
    (emb,) = reader.embedded_signatures
    widget = emb.sig_field
    kids = [ref.get_object() for ref in reader.root["/Pages"]["/Kids"]]
    page = next(i for i, kid in enumerate(kids) if kid is widget["/P"].get_object() or kid == widget["/P"])
    return widget, page, len(kids)


def images_by_page(pdf: Path) -> dict[int, list[tuple[int, int]]]:
    """pdfimages -list: page -> [(width, height)] of the images (not their soft masks)."""
    found: dict[int, list[tuple[int, int]]] = {}
    for row in subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                              check=True).stdout.splitlines()[2:]:
        page, _num, kind, width, height, *_ = row.split()
        if kind == "image":
            found.setdefault(int(page), []).append((int(width), int(height)))
    return found


@needs_poppler
@pytest.mark.parametrize("name", list(CASES))
def test_signature_widget_sits_in_the_slot_between_capacity_and_name(decisions, signing_dir, name):
    path, context, pages = decisions[name]
    pdf = path.read_bytes()
    widget, page, count = widget_of(pdf)
    assert count == pages and page == pages - 1  # the signature block's page
    x0, y0, x1, y1 = (float(v) for v in widget["/Rect"])
    top, bottom = A4_HEIGHT - y1, A4_HEIGHT - y0
    assert 24.5 * MM < bottom - top < 25.5 * MM and x1 - x0 > 80 * MM
    lines = text_lines(path, page + 1)
    capacity = line_box(lines, context["capacity_lines"][-1], right_half=True)
    signer = line_box(lines, SIGNER, right_half=True)
    assert capacity[3] <= top + 1, "stamp overlaps the capacity lines"
    assert bottom <= signer[1] + 1, "stamp overlaps the signer's name"
    # Inside the page's text area: left 30 mm, right 15 mm, top 20 mm, bottom 20 mm.
    assert x0 >= 30 * MM - 0.5 and x1 <= 595.28 - 15 * MM + 0.5
    assert top >= 20 * MM and bottom <= A4_HEIGHT - 20 * MM + 0.5
    if page == 0:
        verification = next(box for line, box in lines if line.startswith("Tra cứu, xác thực văn bản"))
        assert bottom < verification[1]
    # The stamp's own text (poppler reads the widget's appearance too) is in the slot,
    # above the name, right of the images.
    for piece in (f"Ký bởi: {SIGNER}", " - ".join(context["capacity_lines"]), ISSUER,
                  "Thời gian ký:", "2024-09-05T10:15:00+07:00"):
        boxes = [box for line, box in lines if line == piece and box[0] > x0 + 45 * MM]
        assert len(boxes) == 1, f"stamp line {piece!r} not right of the images"
        (box,) = boxes
        assert box[2] <= x1 + 0.5 and top - 0.5 <= box[1] and box[3] < signer[1]
    # Still a valid PAdES signature against the development root; one byte changed breaks it.
    check = verify_pdf(pdf, signing_dir / "root.pem")
    assert check.valid and check.intact and check.trusted, check.reason
    assert check.signer == SIGNER and check.signing_time == WHEN
    tampered = bytearray(pdf)
    tampered[len(pdf) // 3] ^= 0x01
    assert not verify_pdf(bytes(tampered), signing_dir / "root.pem").valid


@needs_poppler
@pytest.mark.parametrize("name", list(CASES))
def test_seal_and_signature_images_are_on_the_signature_page(decisions, name):
    path, _context, pages = decisions[name]
    images = images_by_page(path)
    on_signature_page = images[pages]
    assert SEAL_SIZE in on_signature_page and SIGNATURE_SIZE in on_signature_page
    # The QR code sits with the closing block (Decree 30: inside the text area of the
    # last page), so the signature page holds all three images and page 1 of a longer
    # decision holds none.
    assert len(on_signature_page) == 3
    if pages == 2:
        assert images.get(1, []) == []


@needs_poppler
def test_without_images_the_decision_still_renders_and_signs(tmp_path):
    folder = tmp_path / "signing"
    init_dev(folder, "tam-duong", ISSUER, SIGNER)  # no --username: no signature image
    seal_path(folder, "tam-duong").unlink()
    pdf, context = issue(folder, *CASES["1-unit"][:2])
    path = tmp_path / "no-images.pdf"
    path.write_bytes(pdf)
    assert [len(found) for found in images_by_page(path).values()] == [1]  # the QR code
    assert verify_pdf(pdf, folder / "root.pem").valid
    widget, page, _count = widget_of(pdf)
    # On the slot the template reports (the same layout rendered without signing).
    from workflow_app.pdf.printing import render_document

    context = {**context, "seal_image": None, "signature_image": None}
    slot = render_document(TEMPLATE, context).slots["signature"]
    assert page == slot.page == 0
    assert [float(v) for v in widget["/Rect"]] == pytest.approx(list(slot.box), abs=0.01)


@pytest.fixture
def issuing_log(caplog):
    """caplog for the issuing module. Alembic's fileConfig (migrations/env.py, run by
    tests that migrate) disables every logger that exists at that moment; undo that
    for this module's logger so the test does not depend on test order."""
    import logging

    for name in ("workflow_app.signing.issuing", "workflow_app.signing.material"):
        logging.getLogger(name).disabled = False
    with caplog.at_level("WARNING"):
        yield caplog


@needs_poppler
def test_without_a_key_the_pdf_is_unsigned_and_shows_no_images(tmp_path, issuing_log):
    folder = tmp_path / "signing"
    init_dev(folder, "tam-duong", ISSUER, SIGNER, usernames=["chutich"])
    for name in ("tam-duong.key.pem", "tam-duong.cert.pem"):
        (folder / name).unlink()
    pdf, _context = issue(folder, *CASES["1-unit"][:2])
    assert pdf.startswith(b"%PDF") and b"/ByteRange" not in pdf
    assert "no signing key for tam-duong" in issuing_log.text
    path = tmp_path / "unsigned.pdf"
    path.write_bytes(pdf)
    # An unsigned decision must not look signed: no seal, no signature image.
    assert [len(found) for found in images_by_page(path).values()] == [1]


def test_a_broken_image_file_is_left_out(tmp_path, issuing_log):
    folder = tmp_path / "signing"
    init_dev(folder, "tam-duong", ISSUER, SIGNER, usernames=["chutich"])
    seal_path(folder, "tam-duong").write_bytes(b"<svg onload=alert(1)>")  # not a PNG
    pdf, _context = issue(folder, *CASES["1-unit"][:2])
    assert verify_pdf(pdf, folder / "root.pem").valid
    assert "is not a PNG" in issuing_log.text
    # A username that cannot name a file has no image, and no error either.
    pdf, _context = issue(folder, *CASES["1-unit"][:2], username="../../etc/passwd")
    assert verify_pdf(pdf, folder / "root.pem").valid


@needs_poppler
@pytest.mark.parametrize("name", list(CASES))
def test_signature_page_renders_for_review(decisions, name):
    """Look at these: test-artifacts/signing/decision-*-signed*.png."""
    path, _context, pages = decisions[name]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"decision-{name}-signed.pdf").write_bytes(path.read_bytes())
    widget, page, _count = widget_of(path.read_bytes())
    x0, _y0, _x1, y1 = (float(v) for v in widget["/Rect"])
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", str(pages), "-l", str(pages), "-singlefile",
                    str(path), str(ARTIFACTS / f"decision-{name}-signed")], check=True, timeout=60)
    dpi = 250  # the slot with a line of context above and below, close up
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", str(pages), "-l", str(pages), "-singlefile",
                    "-x", str(int((x0 - 10) * dpi / 72)), "-y", str(int((A4_HEIGHT - y1 - 40) * dpi / 72)),
                    "-W", str(int(250 * dpi / 72)), "-H", str(int(140 * dpi / 72)),
                    str(path), str(ARTIFACTS / f"decision-{name}-signed-slot")], check=True, timeout=60)
    assert (ARTIFACTS / f"decision-{name}-signed-slot.png").stat().st_size > 1000


def test_init_dev_draws_specimen_images(tmp_path):
    from PIL import Image

    paths = init_dev(tmp_path, "tam-duong", ISSUER, SIGNER, usernames=["chutich", "pho.chutich"])
    assert paths["seal"] == seal_path(tmp_path, "tam-duong")
    assert paths["signatures"] == {u: signature_path(tmp_path, u) for u in ("chutich", "pho.chutich")}
    with Image.open(paths["seal"]) as seal:
        assert seal.format == "PNG" and seal.mode == "RGBA" and seal.size == SEAL_SIZE
        assert seal.getpixel((0, 0))[3] == 0  # transparent background
        red = [p for p in seal.get_flattened_data() if p[3] > 200 and p[0] > 150 and p[2] < 80]
        assert len(red) > 10_000  # a red seal
    with Image.open(paths["signatures"]["chutich"]) as signature:
        assert signature.mode == "RGBA" and signature.size == SIGNATURE_SIZE
        blue = [p for p in signature.get_flattened_data() if p[3] > 200 and p[2] > 120 and p[0] < 80]
        assert len(blue) > 5_000  # blue ink
    # Kept on a second run, redrawn with --force; different users sign differently.
    before = paths["signatures"]["chutich"].read_bytes()
    assert init_dev(tmp_path, "tam-duong", ISSUER, SIGNER, usernames=["chutich"])["created"] == []
    assert before != paths["signatures"]["pho.chutich"].read_bytes()
    with pytest.raises(ValueError):
        init_dev(tmp_path, "tam-duong", ISSUER, SIGNER, usernames=["../evil"])


def test_cli_init_dev_draws_signatures_for_usernames(tmp_path):
    folder = tmp_path / "signing"
    result = CliRunner().invoke(signing_cli, ["init-dev", "--folder", str(folder), "--username", "chutich",
                                              "--username", "pho.chutich"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (folder / "tam-duong.seal.png").is_file()
    assert (folder / "signatures" / "chutich.png").is_file() and (folder / "signatures" / "pho.chutich.png").is_file()
    assert "signature chutich" in result.output and "(created)" in result.output
