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
    # the appearance stream carries the stamp text (as glyph ids + /ActualText in UTF-16BE)
    texts = b""
    stack = [widget["/AP"]["/N"]]
    while stack:
        xobj = stack.pop().get_object()
        texts += xobj.data
        stack += list(xobj.get("/Resources", {}).get("/XObject", {}).values())
    actual = b"".join(re.findall(rb"/ActualText \((.*?)\)\s*>>", texts, re.DOTALL))
    decoded = actual.decode("latin-1").encode("latin-1").decode("unicode_escape").encode("latin-1")
    stamp = decoded.replace(b"\xfe\xff", b"").decode("utf-16-be")
    for piece in (f"Ký bởi: {SIGNER}", CAPACITY, ISSUER, "Thời gian ký: 2024-09-05T10:15:00+07:00"):
        assert piece in stamp


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
    assert f"SIGNING_KEY_NA_TAM={(folder / 'na-tam.key.pem').resolve()}" in result.output
    assert "SIGNING_CERT_NA_TAM=" in result.output and "SIGNING_ROOT=" in result.output
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
