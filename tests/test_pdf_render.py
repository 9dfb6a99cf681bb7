"""Decision PDF: content, fonts, page geometry and hostile input, read back with poppler.

The PDF is checked the way a clerk reads it (pdftotext), not by peeking at the HTML, so a
broken stylesheet, a missing font or a clipped line fails here. A PNG of page 1 goes to
test-artifacts/pdf/ for a human look at the layout.
"""
from __future__ import annotations

import base64
import dataclasses
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from datetime import date
from pathlib import Path

import pytest
from markupsafe import Markup

from workflow_app.formats import date_line as vn_date_line
from workflow_app.pdf import printing, render
from workflow_app.pdf.decision import (
    DecisionFacts,
    decision_context,
    merged_texts,
    qr_data_uri,
)
from workflow_app.pdf.printing import render_pdf
from workflow_app.pdf.render import (
    AssetFetchError,
    LocalAssetFetcher,
    html_to_pdf,
)

TEMPLATE = "pdf/decision.html"
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "pdf"
POPPLER = ("pdftotext", "pdffonts", "pdfinfo", "pdftoppm")
needs_poppler = pytest.mark.skipif(
    any(shutil.which(tool) is None for tool in POPPLER),
    reason="poppler-utils not installed (make deps)",
)
needs_zbar = pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbar-tools not installed (make deps)")
# A 1x1 transparent PNG: the one kind of data: URI the fetcher accepts.
PNG_1X1 = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def make_facts(**changes) -> DecisionFacts:
    facts = DecisionFacts(
        kind="village_ntm",
        issuer_code="tam-duong",
        issuer_name="Huyện Tam Đường",
        issuer_place="Tam Đường",
        number=15,
        symbol="15/QĐ-UBND",
        issued_on=date(2024, 9, 5),
        year=2024,
        units=[("Bản Nà Tăm 01", "xã Nà Tăm")],
        proposer="Ủy ban nhân dân xã Nà Tăm",
        request_ref="Tờ trình số 12/TTr-UBND ngày 02/9/2024",
        appraisal_ref="Tờ trình số 45/TTr-NN ngày 04/9/2024",
        signer_name="Nguyễn Văn An",
        signer_capacity="vice_chairman",
        verify_url="https://ntm.example.vn/xac-thuc/TD-2024-15",
        dossier_codes=["TDU-240902-0001"],
    )
    return dataclasses.replace(facts, **changes)


def twelve_units() -> list[tuple[str, str]]:
    return [(f"Bản Nà Tăm {n:02d}", "xã Nà Tăm") for n in range(1, 13)]


def run(*command: str) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout


def pdf_text(pdf: Path, *pages: int) -> str:
    page_args = ["-f", str(pages[0]), "-l", str(pages[-1])] if pages else []
    return run("pdftotext", "-layout", *page_args, str(pdf), "-")


def flat(text: str) -> str:
    """Text without any whitespace: compares phrases whatever the line wrapping."""
    return "".join(text.split())


def page_count(pdf: Path) -> int:
    return int(re.search(r"^Pages:\s+(\d+)", run("pdfinfo", str(pdf)), re.M)[1])


def first_line(text: str) -> str:
    return next(line.strip() for line in text.splitlines() if line.strip())


_XHTML = "{http://www.w3.org/1999/xhtml}"
MM = 72 / 25.4  # points per millimetre


def text_lines(pdf: Path, page: int) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Lines of page ``page`` (1-based) as (text, (x0, top, x1, bottom)) in points from
    the top left of the page, as poppler reads them (pdftotext -bbox-layout)."""
    root = ET.fromstring(run("pdftotext", "-bbox-layout", "-f", str(page), "-l", str(page), str(pdf), "-"))
    lines = []
    for line in root.iter(f"{_XHTML}line"):
        text = " ".join(word.text or "" for word in line.iter(f"{_XHTML}word"))
        lines.append((text, tuple(float(line.get(k)) for k in ("xMin", "yMin", "xMax", "yMax"))))
    return lines


def line_box(lines, text: str, *, right_half: bool = False) -> tuple[float, float, float, float]:
    """The topmost line reading exactly ``text`` (optionally right of the page's middle)."""
    boxes = [box for line, box in lines if line == text and (not right_half or box[0] > 595 / 2)]
    assert boxes, f"no line {text!r} in {[line for line, _ in lines]}"
    return min(boxes, key=lambda box: box[1])


def write_pdf(directory: Path, name: str, facts: DecisionFacts) -> Path:
    path = directory / f"{name}.pdf"
    path.write_bytes(render_pdf(TEMPLATE, decision_context(facts)))
    return path


def save_page1_png(pdf: Path, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    run("pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", "-singlefile",
        str(pdf), str(ARTIFACTS / name))
    return ARTIFACTS / f"{name}.png"


@pytest.fixture(scope="module")
def one_pdf(tmp_path_factory) -> Path:
    return write_pdf(tmp_path_factory.mktemp("pdf"), "decision-1-unit", make_facts())


@pytest.fixture(scope="module")
def twelve_pdf(tmp_path_factory) -> Path:
    facts = make_facts(units=twelve_units(), signer_capacity="chairman")
    return write_pdf(tmp_path_factory.mktemp("pdf"), "decision-12-units", facts)


# --- the date line -------------------------------------------------------------------

@pytest.mark.parametrize(("day", "expected"), [
    (date(2024, 9, 5), "Tam Đường, ngày 05 tháng 9 năm 2024"),
    (date(2024, 1, 1), "Tam Đường, ngày 01 tháng 01 năm 2024"),
    (date(2024, 2, 29), "Tam Đường, ngày 29 tháng 02 năm 2024"),
    (date(2024, 3, 9), "Tam Đường, ngày 09 tháng 3 năm 2024"),
    (date(2024, 10, 10), "Tam Đường, ngày 10 tháng 10 năm 2024"),
    (date(2025, 11, 3), "Tam Đường, ngày 03 tháng 11 năm 2025"),
    (date(2024, 12, 31), "Tam Đường, ngày 31 tháng 12 năm 2024"),
])
def test_vn_date_line_pads_days_below_10_and_months_1_and_2(day, expected):
    assert vn_date_line("Tam Đường", day) == expected


# --- the context (no PDF) ------------------------------------------------------------

@pytest.mark.parametrize(("capacity", "lines"), [
    ("chairman", ["CHỦ TỊCH"]),
    ("vice_chairman", ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"]),
    ("on_behalf", ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"]),
])
def test_capacity_lines(capacity, lines):
    assert decision_context(make_facts(signer_capacity=capacity))["capacity_lines"] == lines


def test_context_is_plain_and_punctuated_as_decree_30_wants():
    context = decision_context(make_facts())
    render.ensure_plain(context)
    *bases, consider = context["preamble"]
    assert all(line.endswith(";") for line in bases)
    assert consider == (
        "Xét đề nghị của Ủy ban nhân dân xã Nà Tăm tại Tờ trình số 12/TTr-UBND ngày "
        "02/9/2024; của Trưởng phòng Nông nghiệp và Phát triển nông thôn huyện tại Tờ "
        "trình số 45/TTr-NN ngày 04/9/2024."
    )
    assert all(r.endswith(";") for r in context["recipients"][:-1])
    assert context["recipients"][-1] == "Lưu: VT, NN."
    assert [a["label"] for a in context["articles"]] == ["Điều 1.", "Điều 2.", "Điều 3."]
    assert context["articles"][0]["table"] is None


def test_unknown_references_are_left_out_of_the_consider_line():
    context = decision_context(make_facts(request_ref=None, appraisal_ref=None))
    assert context["preamble"][-1] == (
        "Xét đề nghị của Ủy ban nhân dân xã Nà Tăm; của Trưởng phòng Nông nghiệp và "
        "Phát triển nông thôn huyện."
    )


def test_several_units_get_a_table_and_the_plural_texts():
    context = decision_context(make_facts(units=twelve_units()))
    table = context["articles"][0]["table"]
    assert table["headers"] == ["STT", "Tên bản", "Thuộc xã"]
    assert table["rows"][11] == [12, "Bản Nà Tăm 12", "xã Nà Tăm"]
    assert context["subject"] == "Về việc công nhận các bản đạt chuẩn nông thôn mới năm 2024"


def test_town_decision_cites_the_civilised_town_rules():
    facts = make_facts(kind="town_civilized", units=[("thị trấn Tam Đường", "huyện Tam Đường")],
                       proposer="Ủy ban nhân dân thị trấn Tam Đường")
    context = decision_context(facts)
    assert context["subject"] == (
        "Về việc công nhận thị trấn Tam Đường đạt chuẩn đô thị văn minh năm 2024")
    assert any("04/2022/QĐ-TTg" in line for line in context["preamble"])


def test_placeholder_syntax_in_values_is_printed_not_evaluated():
    context = decision_context(make_facts(units=[("{proposer} {{ 7*7 }}", "xã Nà Tăm")]))
    assert "{proposer} {{ 7*7 }}, xã Nà Tăm" in context["subject"]


def test_issuer_section_replaces_whole_keys_of_default():
    default = {key: f"default {key}" for key in
               ("issuer_lines", "authority", "subject", "legal_bases", "consider",
                "articles", "recipients", "archive", "capacities")}
    document = {"default": default, "issuers": {"binh-lu": {"legal_bases": ["Căn cứ X"]}}}
    assert merged_texts(document, "binh-lu")["legal_bases"] == ["Căn cứ X"]
    assert merged_texts(document, "binh-lu")["authority"] == "default authority"
    assert merged_texts(document, "tam-duong")["legal_bases"] == "default legal_bases"
    with pytest.raises(ValueError, match="lack: authority"):
        merged_texts({"default": {k: v for k, v in default.items() if k != "authority"}}, "x")


@pytest.mark.parametrize("changes", [
    {"signer_capacity": "secretary"},
    {"symbol": "16/QĐ-UBND"},  # does not carry number 15
    {"units": []},
    {"kind": "../village_ntm"},
    {"kind": "no_texts_kind"},  # a kind without a texts file
])
def test_bad_facts_are_refused(changes):
    with pytest.raises(ValueError):
        decision_context(make_facts(**changes))


# --- render_pdf guards ---------------------------------------------------------------

class Row:  # stands for an ORM object
    name = "Bản Nà Tăm 01"


@pytest.mark.parametrize("value", [
    object(),
    Row(),
    Markup("<b>x</b>"),  # str subclass that would switch escaping off
    {1: "non-str key"},
    {"a", "b"},
    [["deep", object()]],
])
def test_non_plain_context_values_are_refused(value):
    context = decision_context(make_facts())
    context["articles"][1]["paragraphs"].append(value)
    with pytest.raises(ValueError, match="plain|keys"):
        render_pdf(TEMPLATE, context)


def test_only_print_templates_are_rendered():
    with pytest.raises(ValueError, match="print template"):
        render_pdf("web/base.html", {})


@pytest.mark.parametrize("url", [
    "http://example.com/style.css",
    "https://example.com/",
    "ftp://example.com/x",
    "file:///etc/passwd",
    "file://evil.example/etc/passwd",
    render.ASSETS_URL + "../render.py",
    render.ASSETS_URL + "missing.css",
    "data:text/css,body{}",
    "data:image/svg+xml;base64,PHN2Zy8+",
])
def test_fetcher_refuses_anything_but_asset_files(url):
    with pytest.raises(PermissionError):
        LocalAssetFetcher().fetch(url)


def test_fetcher_serves_assets_and_raster_data_images():
    css = LocalAssetFetcher().fetch(render.ASSETS_URL + "decision.css")
    assert b"@page" in css.read()
    png = LocalAssetFetcher().fetch(f"data:image/png;base64,{PNG_1X1}")
    assert png.read().startswith(b"\x89PNG")


@pytest.mark.parametrize("html", [
    '<img src="http://example.com/x.png">',
    '<link rel="stylesheet" href="file:///etc/passwd">',
    '<p style="background: url(https://example.com/bg.png)">x</p>',
])
def test_a_template_asking_for_outside_resources_fails_loudly(html):
    with pytest.raises(AssetFetchError):
        html_to_pdf(html)


# --- the PDF as printed --------------------------------------------------------------

@needs_poppler
def test_one_unit_decision_prints_every_element_in_order(one_pdf):
    png = save_page1_png(one_pdf, "decision-1-unit")
    assert png.stat().st_size > 0
    assert page_count(one_pdf) == 1
    text = flat(pdf_text(one_pdf))
    expected_in_order = [
        "ỦY BAN NHÂN DÂN",
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "HUYỆN TAM ĐƯỜNG",
        "Độc lập - Tự do - Hạnh phúc",
        "Số: 15/QĐ-UBND",
        "Tam Đường, ngày 05 tháng 9 năm 2024",
        "QUYẾT ĐỊNH",
        "Về việc công nhận Bản Nà Tăm 01, xã Nà Tăm đạt chuẩn nông thôn mới năm 2024",
        "CHỦ TỊCH ỦY BAN NHÂN DÂN HUYỆN TAM ĐƯỜNG",
        "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;",
        "Luật Tổ chức chính quyền địa phương ngày 22 tháng 11 năm 2019;",
        "Căn cứ Quyết định số 263/QĐ-TTg ngày 22 tháng 02 năm 2022",
        "Căn cứ Quyết định số 1144/QĐ-UBND",
        "Xét đề nghị của Ủy ban nhân dân xã Nà Tăm tại Tờ trình số 12/TTr-UBND ngày 02/9/2024",
        "tại Tờ trình số 45/TTr-NN ngày 04/9/2024.",
        "QUYẾT ĐỊNH:",
        "Điều 1. Công nhận Bản Nà Tăm 01, xã Nà Tăm đạt chuẩn nông thôn mới năm 2024.",
        "Điều 2. Ủy ban nhân dân xã Nà Tăm có trách nhiệm",
        "Điều 3. Quyết định này có hiệu lực kể từ ngày ký.",
        "chịu trách nhiệm thi hành Quyết định này./.",
        "Nơi nhận:",
        "KT. CHỦ TỊCH",
        "- Như Điều 3;",
        "PHÓ CHỦ TỊCH",
        "- Lưu: VT, NN.",
        "Nguyễn Văn An",
    ]
    position = 0
    for phrase in expected_in_order:
        found = text.find(flat(phrase), position)
        assert found >= 0, f"missing or out of order: {phrase!r}"
        position = found + 1
    # The verification note sits under "Nơi nhận", in the left column (read alone: the
    # signature column runs beside it).
    left = flat(" ".join(line for line, box in text_lines(one_pdf, 1) if box[2] < 595 / 2))
    assert flat("Tra cứu, xác thực văn bản: https://ntm.example.vn/xac-thuc/TD-2024-15") in left
    assert flat("Mã hồ sơ: TDU-240902-0001") in left
    # A one-page decision carries no page number.
    assert first_line(pdf_text(one_pdf)).startswith("ỦY BAN NHÂN DÂN")


@needs_poppler
def test_twelve_unit_decision_has_a_table_and_numbers_page_2_only(twelve_pdf):
    save_page1_png(twelve_pdf, "decision-12-units")
    assert page_count(twelve_pdf) == 2
    lines = {" ".join(line.split()) for line in pdf_text(twelve_pdf).splitlines()}
    assert "STT Tên bản Thuộc xã" in lines
    for n in range(1, 13):
        assert f"{n} Bản Nà Tăm {n:02d} xã Nà Tăm" in lines
    text = flat(pdf_text(twelve_pdf))
    assert flat("Về việc công nhận các bản đạt chuẩn nông thôn mới năm 2024") in text
    assert flat("Công nhận 12 bản đạt chuẩn nông thôn mới năm 2024, gồm:") in text
    assert first_line(pdf_text(twelve_pdf, 1)).startswith("ỦY BAN NHÂN DÂN")
    page2 = pdf_text(twelve_pdf, 2)
    assert first_line(page2) == "2"
    # Signature never alone: some article text travels with it to page 2.
    assert "Điều" in page2 and "Lưu: VT, NN." in page2 and "CHỦ TỊCH" in page2


@needs_poppler
def test_fonts_are_embedded_subset_tinos_or_liberation_serif(one_pdf, twelve_pdf):
    for pdf in (one_pdf, twelve_pdf):
        rows = run("pdffonts", str(pdf)).splitlines()[2:]
        assert rows, "no fonts in the PDF"
        for row in rows:
            name, *_, emb, sub, _uni, _obj, _gen = row.split()
            assert (emb, sub) == ("yes", "yes"), row
            prefix, _, family = name.partition("+")
            assert re.fullmatch(r"[A-Z]{6}", prefix), f"not a subset: {row}"
            assert family.startswith(("Tinos", "LiberationSerif")), f"stray font: {row}"


@needs_poppler
def test_pages_are_a4_portrait(twelve_pdf):
    sizes = re.findall(r"Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts",
                       run("pdfinfo", "-f", "1", "-l", "2", str(twelve_pdf)))
    assert len(sizes) == 2
    for width, height in sizes:
        assert 595 <= float(width) < 596 and 841 <= float(height) < 842


HOSTILE = [
    ('<img src="file:///etc/passwd">', "xã Nà Tăm"),
    ("Bản Nà Tăm 01", '<a href="http://example.com">x</a>'),
    ('</td></tr></table><script>alert(1)</script>', "<style>@import url(http://example.com/x.css)</style>"),
]


@needs_poppler
@pytest.mark.parametrize("unit", HOSTILE)
def test_hostile_values_print_as_text_and_fetch_nothing(unit, monkeypatch, tmp_path):
    requested: list[str] = []
    original = LocalAssetFetcher.fetch

    def spy(self, url, headers=None):
        requested.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(LocalAssetFetcher, "fetch", spy)
    # Laid out in this process (render_pdf uses a worker process the spy cannot see).
    pdf = tmp_path / "hostile.pdf"
    pdf.write_bytes(html_to_pdf(render.render_html(TEMPLATE, decision_context(make_facts(units=[unit])))))
    # Asset files, and the QR code's own data: URI (it is built from the verify URL only).
    qr = qr_data_uri(make_facts().verify_url)
    assert requested and all(url.startswith(render.ASSETS_URL) or url == qr for url in requested)
    text = flat(pdf_text(pdf))
    assert flat(f"{unit[0]}, {unit[1]}") in text
    assert run("pdfinfo", "-url", str(pdf)).strip().splitlines()[1:] == []  # no links


@needs_poppler
def test_a_20000_character_value_prints_whole(tmp_path):
    # Z occurs nowhere else in the document, so counting it proves nothing was clipped.
    pdf = write_pdf(tmp_path, "long", make_facts(request_ref="Z" * 20_000))
    assert run("pdftotext", str(pdf), "-").count("Z") == 20_000


# --- the QR code on page 1 -----------------------------------------------------------

def zbar(png: Path) -> list[str]:
    """Every QR code zbarimg finds in an image, one decoded text each."""
    out = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", str(png)],
                         capture_output=True, text=True, check=False)
    assert out.returncode in (0, 4), out.stderr  # 4: no code found
    return out.stdout.splitlines()


def test_qr_data_uri_is_a_png_the_fetcher_accepts():
    uri = qr_data_uri("https://ntm.example.vn/xac-thuc/TD-2024-15")
    assert uri.startswith("data:image/png;base64,")
    assert LocalAssetFetcher().fetch(uri).read().startswith(b"\x89PNG")
    with pytest.raises(ValueError):
        qr_data_uri("")


@needs_zbar
@pytest.mark.parametrize("url", [
    "https://ntm.example.vn/xac-thuc/TD-2024-15",
    "http://ntm.test/verify/wKVd_fw7wbjgI9rZhnU2mg",
])
def test_qr_encodes_exactly_the_verify_url(url, tmp_path):
    png = tmp_path / "qr.png"
    png.write_bytes(base64.b64decode(qr_data_uri(url).partition(",")[2]))
    assert zbar(png) == [url]


@needs_poppler
def test_qr_is_embedded_once_on_the_signature_page(one_pdf, twelve_pdf):
    for pdf, page in ((one_pdf, "1"), (twelve_pdf, "2")):
        rows = run("pdfimages", "-list", str(pdf)).splitlines()[2:]
        assert [row.split()[0] for row in rows] == [page], rows  # one image, with "Nơi nhận"
    # Still one page for one unit, with the QR inside the text area (test_decree30_layout).
    assert page_count(one_pdf) == 1


@needs_poppler
@needs_zbar
def test_qr_on_printed_page_1_reads_back_the_verify_url(one_pdf, tmp_path):
    run("pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile", str(one_pdf), str(tmp_path / "p1"))
    assert zbar(tmp_path / "p1.png") == ["https://ntm.example.vn/xac-thuc/TD-2024-15"]
    # It sits in the bottom-left of the page: crop to that corner and it is still found.
    run("pdftoppm", "-r", "150", "-png", "-f", "1", "-l", "1", "-singlefile",
        "-x", "0", "-y", str(int(150 * (297 - 40) / 25.4)), "-W", str(int(150 * 90 / 25.4)),
        "-H", str(int(150 * 40 / 25.4)), str(one_pdf), str(tmp_path / "corner"))
    assert zbar(tmp_path / "corner.png") == ["https://ntm.example.vn/xac-thuc/TD-2024-15"]


# --- the signing slot ----------------------------------------------------------------

@needs_poppler
@pytest.mark.parametrize(("units", "capacity", "page"), [
    ([("Bản Nà Tăm 01", "xã Nà Tăm")], "vice_chairman", 0),
    (twelve_units(), "chairman", 1),
])
def test_signature_slot_is_reported_between_capacity_and_name(units, capacity, page, tmp_path):
    """render_document measures the slot after layout, in PDF points (origin bottom
    left); poppler finds the capacity lines above it and the name below, same page."""
    facts = make_facts(units=units, signer_capacity=capacity)
    context = decision_context(facts)
    rendered = printing.render_document(TEMPLATE, context)
    pdf = tmp_path / "slot.pdf"
    pdf.write_bytes(rendered.pdf)
    assert page_count(pdf) == page + 1  # one unit still fits one page with the slot
    slot, text_area = rendered.slots["signature"], rendered.slots["signature-text"]
    assert slot.page == text_area.page == page
    height = 841.89
    top, bottom = height - slot.y1, height - slot.y0
    assert 24.5 * MM < bottom - top < 25.5 * MM  # decision.css: 25 mm
    lines = text_lines(pdf, page + 1)
    capacity_box = line_box(lines, context["capacity_lines"][-1], right_half=True)
    name_box = line_box(lines, facts.signer_name, right_half=True)
    assert capacity_box[3] <= top + 1 and bottom <= name_box[1] + 1
    assert slot.x0 <= name_box[0] and name_box[2] <= slot.x1  # the name is centred under it
    # The text area is inside the slot, right of the images.
    assert slot.x0 < text_area.x0 < text_area.x1 <= slot.x1 + 0.01
    assert slot.y0 <= text_area.y0 < text_area.y1 <= slot.y1
    assert text_area.x0 - slot.x0 > 45 * MM


def test_slot_images_appear_only_when_given(tmp_path):
    context = decision_context(make_facts())
    html = render.render_html(TEMPLATE, context)
    assert "sign-image" not in html and "seal-image" not in html
    png = f"data:image/png;base64,{PNG_1X1}"
    html = render.render_html(TEMPLATE, {**context, "seal_image": png, "signature_image": png})
    assert html.count(png) == 2
