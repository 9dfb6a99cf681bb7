"""Print templates share one skeleton and one set of tables.

Every document in templates/pdf/ (a name not starting with "_") extends pdf/_base.html,
which alone holds <html>, <head>, the stylesheets, the watermark and the Decree 30
header; tables that several documents print (closing with "Nơi nhận" and signatures,
label/value facts, data tables) come from pdf/_macros.html. Checked on the parsed
template (Jinja's AST), then on the rendered HTML (parsed as WeasyPrint parses it) and
on the laid-out PDF: each document still prints its header and its signature block.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import tinyhtml5
from jinja2 import nodes

from workflow_app.pdf import render

PDF_TEMPLATES = render.TEMPLATES_DIR / "pdf"
BASE = "pdf/_base.html"
MACROS = "pdf/_macros.html"
DOCUMENTS = sorted(path.name for path in PDF_TEMPLATES.glob("*.html") if not path.name.startswith("_"))

NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
# A 1x1 PNG: the decision's QR code must be an image the fetcher accepts.
PNG_1X1 = ("data:image/png;base64,"
           "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
HOSTILE = '<b>Lò Văn "Đậm"</b> & <script>x</script>'


def _common(title: str, number_line: str) -> dict:
    return {
        "title": title,
        "issuer_lines": ["ỦY BAN NHÂN DÂN", "HUYỆN TAM ĐƯỜNG"],
        "number_line": number_line,
        "date_line": "Tam Đường, ngày 05 tháng 9 năm 2024",
    }


def _facts() -> list[dict]:
    return [{"label": "Mã hồ sơ", "value": "TDU-240902-0001"}, {"label": "Đơn vị", "value": "Bản Nà Tăm 01"}]


CONTEXTS: dict[str, dict] = {
    "apology.html": {
        **_common("Phiếu xin lỗi", "Số: 3/PXL"),
        "doc_type": "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        "recipient": "Ủy ban nhân dân xã Nà Tăm",
        "paragraphs": ["Hồ sơ đã quá hạn thẩm định.", "Xin hẹn lại ngày trả kết quả."],
        "facts": _facts(),
        "signature_lines": ["ĐẠI DIỆN CƠ QUAN GIẢI QUYẾT"],
        "sign_note": "(Ủy ban nhân dân huyện Tam Đường)",
        "signer_name": HOSTILE,
    },
    "appraisal_report.html": {
        **_common("Báo cáo thẩm định", "Số: 7/BC-NN"),
        "doc_type": "BÁO CÁO",
        "subject": "Kết quả thẩm định hồ sơ Bản Nà Tăm 01",
        "paragraphs": ["Phòng Nông nghiệp đã thẩm định hồ sơ."],
        "headings": {"criteria": "I. TIÊU CHÍ", "fields": "II. SỐ LIỆU", "comment": "III. Ý KIẾN",
                     "conclusion": "IV. KẾT LUẬN"},
        "criteria_headers": ["STT", "Tiêu chí", "Tự đánh giá", "Thẩm định", "Ghi chú", "Người thẩm định"],
        "criteria_rows": [[1, "Giao thông", "Đạt", "Đạt", HOSTILE, "Nguyễn Thị Thẩm"],
                          [2, "Điện", "Đạt", "Không đạt", "", "Nguyễn Thị Thẩm"]],
        "long_notes": [{"label": "(1)", "text": "Ghi chú dài."}],
        "fields": [{"label": "Số hộ", "value": "120"}],
        "comment": "Đề nghị công nhận.",
        "conclusion": "Đủ điều kiện.",
        "recipients": ["UBND huyện", HOSTILE],
        "signature_lines": ["KT. TRƯỞNG PHÒNG", "PHÓ TRƯỞNG PHÒNG"],
        "signer_name": "Nguyễn Thị Thẩm",
        "role_line": "Cán bộ thẩm định",
    },
    "decision.html": {
        **_common("Quyết định", "Số: 15/QĐ-UBND"),
        "subject": "Về việc công nhận bản đạt chuẩn nông thôn mới năm 2024",
        "authority": "CHỦ TỊCH ỦY BAN NHÂN DÂN HUYỆN TAM ĐƯỜNG",
        "preamble": ["Căn cứ Luật Tổ chức chính quyền địa phương;"],
        "articles": [
            {"label": "Điều 1.", "paragraphs": ["Công nhận các bản sau:", "Đạt chuẩn năm 2024."],
             "table": {"headers": ["STT", "Bản", "Xã"], "rows": [[1, "Bản Nà Tăm 01", HOSTILE]]}},
            {"label": "Điều 2.", "paragraphs": ["Quyết định có hiệu lực từ ngày ký."], "table": None},
        ],
        "recipients": ["Như Điều 2", "Lưu: VT"],
        "qr_data_uri": PNG_1X1,
        "verify_url": "https://ntm.example.vn/xac-thuc/TD-2024-15",
        "dossier_codes": ["TDU-240902-0001", "TDU-240902-0002"],
        "capacity_lines": ["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH"],
        "signer_name": "Nguyễn Văn An",
    },
    "line_summary.html": {
        **_common("Bảng tổng hợp đăng ký nhu cầu xi măng năm 2024", ""),
        "doc_type": "BẢNG TỔNG HỢP ĐĂNG KÝ NHU CẦU XI MĂNG NĂM 2024",
        "as_of": "(Số liệu đến ngày 05/9/2024; hạn nộp 15/4/2024)",
        "headers": ["STT", "Xã / Thôn, bản", "Mã hồ sơ", "Trạng thái", "Ngày nộp", "Xi măng (tấn)",
                    "Được chấp nhận"],
        "cols": ["no", "name", "code", "state", "filed", "num", "num"],
        "cells": ["center", "", "ref", "", "center", "num", "num"],
        "rows": [[1, "Xã Nà Tăm", "TD-240410-0001", "Đã chấp nhận", "10/4/2024", "22,8", "20,3"],
                 ["", "- Bản 01 (Nà Tăm)", "", "", "", "15,5", "13"], [2, HOSTILE, "", "Chưa lập", "", "", ""]],
        "total": ["", "Tổng cộng", "", "", "", "22,8", "20,3"],
        "note": "Mỗi xã tính một lần, theo hồ sơ mới nhất của năm 2024.",
        "landscape": False,
        "preparer_lines": ["NGƯỜI LẬP BIỂU"],
        "preparer_note": "(Ký, ghi rõ họ tên)",
        "preparer_name": "Hoàng Thị Lan",
        "head_lines": ["THỦ TRƯỞNG ĐƠN VỊ"],
        "head_note": "(Ký tên, đóng dấu)",
    },
    "monthly_report.html": {
        **_common("Báo cáo tiến độ", "Số: 9/BC-UBND"),
        "subject": "Tiến độ xây dựng nông thôn mới tháng 9 năm 2024",
        "intro": "Ủy ban nhân dân huyện báo cáo như sau.",
        "month_label": "9/2024",
        "kinds": [{"label": "Bản nông thôn mới", "rows": [["Đang thẩm định", 2, 1, "+1"]],
                   "total": ["Cộng", 2, 1, "+1"], "moves": [["Nộp", 3]]}],
        "state_headers": ["Đang thẩm định", "Đã công nhận"],
        "communes": [["Nà Tăm", 1, 2, 3, 1]],
        "commune_totals": ["Cộng", 1, 2, 3, 1],
        "criteria_year": 2024,
        "criteria": [[1, "TC01", "Giao thông", 3, 2]],
        "overdue": [["TDU-240902-0001", "Bản Nà Tăm 01", "Đang thẩm định", "05/9/2024", "2 ngày",
                     "Nguyễn Thị Thẩm", HOSTILE]],
        "reports_summary": [["Đã nộp", 1]],
        "reports": [["Lò Văn Nộp", "Nà Tăm", "30/9/2024", "28/9/2024", "Đúng hạn"]],
        "recipients": ["UBND tỉnh", "Văn phòng điều phối"],
        "archive": "Lưu: VT, NN.",
        "signature_lines": ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"],
        "preparer_line": "Người lập: Hoàng Thị Lan",
    },
    "receipt.html": {
        **_common("Giấy tiếp nhận", "Mã hồ sơ: TDU-240902-0001"),
        "doc_type": "GIẤY TIẾP NHẬN HỒ SƠ",
        "round_line": "(Lần nộp thứ 2)",
        "intro": "Ủy ban nhân dân huyện đã nhận hồ sơ.",
        "facts": _facts(),
        "fields": [{"label": "Số hộ", "value": "120"}],
        "due_line": "Hẹn trả kết quả: 20/9/2024",
        "files_heading": "Thành phần hồ sơ",
        "files_headers": ["STT", "Tệp", "Tiêu chí", "Dung lượng"],
        "files": [[1, "to-trinh.pdf", "TC01", "12 KB"]],
        "no_files": "Không có tệp đính kèm.",
        "notes": ["Giấy này không thay thế kết quả."],
        "sender_signature": ["NGƯỜI NỘP HỒ SƠ"],
        "submitter_name": "Lò Văn Nộp",
        "receiver_signature": ["CƠ QUAN TIẾP NHẬN"],
        "receiver_note": "(Tiếp nhận tự động trên hệ thống)",
        "receiver_name": "Ủy ban nhân dân huyện Tam Đường",
    },
}

# What each document prints in its signature cell(s) and in "Nơi nhận" (None: no list).
SIGNATURES = {
    "apology.html": [["ĐẠI DIỆN CƠ QUAN GIẢI QUYẾT", "(Ủy ban nhân dân huyện Tam Đường)", HOSTILE]],
    "appraisal_report.html": [["KT. TRƯỞNG PHÒNG", "PHÓ TRƯỞNG PHÒNG", "Nguyễn Thị Thẩm", "Cán bộ thẩm định"]],
    "decision.html": [["KT. CHỦ TỊCH", "PHÓ CHỦ TỊCH", "Nguyễn Văn An"]],
    "line_summary.html": [["NGƯỜI LẬP BIỂU", "(Ký, ghi rõ họ tên)", "Hoàng Thị Lan"],
                          ["THỦ TRƯỞNG ĐƠN VỊ", "(Ký tên, đóng dấu)"]],
    "monthly_report.html": [["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH", "Người lập: Hoàng Thị Lan"]],
    "receipt.html": [["NGƯỜI NỘP HỒ SƠ", "Lò Văn Nộp"],
                     ["CƠ QUAN TIẾP NHẬN", "(Tiếp nhận tự động trên hệ thống)", "Ủy ban nhân dân huyện Tam Đường"]],
}
RECIPIENTS = {
    "apology.html": None,
    "appraisal_report.html": ["UBND huyện", HOSTILE],
    "decision.html": ["Như Điều 2", "Lưu: VT"],
    "line_summary.html": None,
    "monthly_report.html": ["UBND tỉnh", "Văn phòng điều phối", "Lưu: VT, NN."],
    "receipt.html": None,
}
STYLESHEETS = {name: ["document.css"] for name in DOCUMENTS}
STYLESHEETS["decision.html"] = ["decision.css"]
STYLESHEETS["monthly_report.html"] = ["document.css", "monthly_report.css"]
STYLESHEETS["line_summary.html"] = ["document.css", "line_summary.css"]


# --- the templates themselves (Jinja AST) ---------------------------------------------

def _tree(name: str) -> nodes.Template:
    env = render._jinja_env()
    source, _, _ = env.loader.get_source(env, name)
    return env.parse(source)


def _blank(node: nodes.Node) -> bool:
    """Output of whitespace only (what the newline after a tag leaves at top level)."""
    return isinstance(node, nodes.Output) and all(
        isinstance(child, nodes.TemplateData) and not child.data.strip() for child in node.nodes)


def _const(node: nodes.Node) -> object:
    return node.value if isinstance(node, nodes.Const) else None


def test_every_document_has_a_context_here():
    """A new document must be added to CONTEXTS (and so to every check below)."""
    assert {"apology.html", "appraisal_report.html", "decision.html", "monthly_report.html",
            "receipt.html"} <= set(DOCUMENTS)
    assert set(CONTEXTS) == set(DOCUMENTS)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_extends_the_base_first_and_prints_only_in_blocks(name):
    tree = _tree(f"pdf/{name}")
    extends = list(tree.find_all(nodes.Extends))
    assert len(extends) == 1, f"{name}: one {{% extends %}}"
    assert _const(extends[0].template) == BASE
    top = [node for node in tree.body if not _blank(node)]
    assert top[0] is extends[0], f"{name}: {{% extends %}} comes first"
    # Text outside a block of a child template is silently dropped: none may be there.
    strays = [node for node in top if not isinstance(node, (nodes.Extends, nodes.Import, nodes.Block))]
    assert not strays, f"{name}: output outside blocks: {strays}"
    base_blocks = {block.name for block in _tree(BASE).find_all(nodes.Block)}
    blocks = {block.name for block in tree.find_all(nodes.Block)}
    assert "content" in blocks
    assert blocks <= base_blocks, f"{name}: blocks the base does not have: {blocks - base_blocks}"


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_leaves_the_skeleton_and_the_closing_to_the_shared_templates(name):
    tree = _tree(f"pdf/{name}")
    assert not list(tree.find_all(nodes.Include)), f"{name}: partials are included by the base"
    text = "".join(data.data for data in tree.find_all(nodes.TemplateData))
    for markup in ("<!DOCTYPE", "<html", "<head", "<body", "<title", "<meta", 'class="header"',
                   'class="closing"', 'class="signature"', 'class="recipients"', "Nơi nhận",
                   'class="sign-space"', 'class="facts"', 'class="doc-type"', "<thead", "<colgroup"):
        assert markup not in text, f"{name} writes {markup!r} itself instead of using {BASE} / {MACROS}"
    imports = [node for node in tree.find_all(nodes.Import) if _const(node.template) == MACROS]
    assert imports, f"{name}: imports {MACROS}"
    called = {call.call.node.attr for call in tree.find_all(nodes.CallBlock)
              if isinstance(call.call.node, nodes.Getattr)}
    assert "closing" in called, f"{name}: closing table from the macro"


def test_the_base_holds_the_skeleton_and_both_partials():
    tree = _tree(BASE)
    assert not list(tree.find_all(nodes.Extends))
    included = {_const(node.template) for node in tree.find_all(nodes.Include)}
    assert included == {"pdf/_watermark.html", "pdf/_document_header.html"}
    text = "".join(data.data for data in tree.find_all(nodes.TemplateData))
    for markup in ("<!DOCTYPE html>", '<html lang="vi">', "<head>", '<meta charset="utf-8">', "<body>",
                   "</html>"):
        assert markup in text
    assert {block.name for block in tree.find_all(nodes.Block)} == {"stylesheets", "content"}


# --- the rendered HTML (parsed as WeasyPrint parses it) -------------------------------

def _html(name: str, **extra) -> tinyhtml5.Element:
    html = render.render_html(f"pdf/{name}", {**CONTEXTS[name], **extra})
    return tinyhtml5.parse(html, namespace_html_elements=False)


def _text(element) -> str:
    return " ".join("".join(element.itertext()).split())


def _by_class(root, tag: str, css: str) -> list:
    return [element for element in root.iter(tag) if css in (element.get("class") or "").split()]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_rendered_document_has_one_skeleton_its_styles_and_the_header(name):
    context = CONTEXTS[name]
    root = _html(name)
    assert root.tag == "html" and root.get("lang") == "vi"
    assert [element.text for element in root.iter("title")] == [context["title"]]
    assert [link.get("href") for link in root.iter("link") if link.get("rel") == "stylesheet"] == STYLESHEETS[name]
    assert len(list(root.iter("body"))) == 1
    body = next(root.iter("body"))
    assert not _by_class(root, "div", "watermark"), "no watermark unless the renderer sets one"
    headers = _by_class(root, "table", "header")
    assert len(headers) == 1 and body[0] is headers[0], f"{name}: the header opens the page"
    header = _text(headers[0])
    for part in [*context["issuer_lines"], NATION, MOTTO, context["number_line"], context["date_line"]]:
        assert part in header
    assert len(_by_class(root, "p", "doc-type")) == 1
    assert len(_by_class(root, "div", "subject-rule")) == 1


@pytest.mark.parametrize("name", DOCUMENTS)
def test_rendered_document_ends_with_its_signature_block(name):
    root = _html(name)
    closings = _by_class(root, "table", "closing")
    assert len(closings) == 1
    closing = closings[0]
    # Nothing printed after the closing (the receipt keeps it with its notes).
    parent = next(element for element in root.iter() if closing in list(element))
    assert list(parent)[-1] is closing
    assert [col.get("class") for col in closing.iter("col")] == ["left", "right"]
    cells = _by_class(closing, "td", "signature")
    assert [[_text(p) for p in cell.iter("p")] for cell in cells] == SIGNATURES[name]
    for cell in cells:
        assert _by_class(cell, "p", "capacity")
        assert _by_class(cell, "div", "sign-space") or _by_class(cell, "div", "sign-slot")
    lists = _by_class(closing, "td", "recipients")
    if RECIPIENTS[name] is None:
        assert not lists and "Nơi nhận" not in _text(closing)
    else:
        assert len(lists) == 1
        lines = [_text(p) for p in lists[0].iter("p")]
        assert lines[0] == "Nơi nhận:"
        assert lines[1:1 + len(RECIPIENTS[name])] == [f"- {item}" for item in RECIPIENTS[name]]


def test_the_decision_keeps_its_signing_slot_and_verification_box():
    root = _html("decision.html")
    (cell,) = _by_class(root, "td", "signature")
    slots = [element.get("data-pdf-slot") for element in cell.iter() if element.get("data-pdf-slot")]
    assert slots == ["signature", "signature-text"]
    assert not list(cell.iter("img")), "no signature or seal image before signing"
    signed = _html("decision.html", signature_image=PNG_1X1, seal_image=PNG_1X1)
    (cell,) = _by_class(signed, "td", "signature")
    assert [img.get("class") for img in cell.iter("img")] == ["sign-image", "seal-image"]
    (recipients,) = _by_class(root, "td", "recipients")
    (box,) = _by_class(recipients, "table", "verification")
    assert "TDU-240902-0001, TDU-240902-0002" in _text(box)
    assert [img.get("src") for img in box.iter("img")] == [PNG_1X1]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_watermark_is_drawn_once_when_set(name):
    marks = _by_class(_html(name, watermark="MẪU"), "div", "watermark")
    assert [_text(mark) for mark in marks] == ["MẪU"]


def test_macro_tables_print_every_cell_with_its_column_class():
    root = _html("monthly_report.html")
    (counts,) = _by_class(root, "table", "counts")
    rows = [[(td.get("class"), _text(td)) for td in tr.iter("td")] for tr in counts.iter("tr") if list(tr.iter("td"))]
    assert rows == [[(None, "Đang thẩm định"), ("center", "2"), ("center", "1"), ("center", "+1")],
                    [(None, "Cộng"), ("center", "2"), ("center", "1"), ("center", "+1")]]
    assert [_text(th) for th in counts.iter("th")][1] == "Cuối tháng 9/2024"
    (communes,) = _by_class(root, "table", "communes")
    assert [th.get("class") for th in communes.iter("th")] == ["name", None, None, None, None]
    assert [_text(th) for th in communes.iter("th")] == ["Xã", "Đang thẩm định", "Đã công nhận", "Cộng",
                                                          "Công nhận trong tháng"]
    assert [tr.get("class") for tr in communes.iter("tr")][-1] == "total"
    (overdue,) = _by_class(root, "table", "overdue")
    assert [_text(td) for td in overdue.iter("td")][-1] == HOSTILE, "clerk text prints as text"
    receipt = _html("receipt.html")
    (facts,) = _by_class(receipt, "table", "facts")
    assert [td.get("class") for td in facts.iter("td")][:2] == ["label", "code"]
    assert "Hẹn trả kết quả: 20/9/2024" in _text(facts)


@pytest.mark.parametrize("name", DOCUMENTS)
def test_a_missing_value_still_fails_the_render(name):
    context = dict(CONTEXTS[name])
    del context["title"]
    with pytest.raises(Exception, match="title"):
        render.render_html(f"pdf/{name}", context)


# --- the laid-out PDF, read back with pdftotext ---------------------------------------

@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed (make deps)")
@pytest.mark.parametrize("name", DOCUMENTS)
def test_pdf_prints_header_then_title_then_signature(name):
    context = CONTEXTS[name]
    # No watermark here: its letters, drawn over the page, come out between the words.
    pdf, slots = render.layout_pdf(render.render_html(f"pdf/{name}", {**context, "watermark": ""}))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.pdf"
        path.write_bytes(pdf)
        text = " ".join(subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True,
                                       text=True).stdout.split())
    signature = SIGNATURES[name][-1]
    phrases = [NATION, context["date_line"], context.get("doc_type", "QUYẾT ĐỊNH" if name == "decision.html"
                                                                    else "BÁO CÁO"), *signature[:1]]
    at = 0
    for phrase in phrases:
        found = text.find(phrase, at)
        assert found >= 0, f"{name}: {phrase!r} missing or out of order"
        at = found + len(phrase)
    assert "".join(signature[-1].split()) in "".join(text.split())  # a long name may wrap
    if RECIPIENTS[name]:
        assert "Nơi nhận:" in text
    if name == "decision.html":
        assert "signature" in slots
