"""Papers a clerk signs unchanged (Nghị định 30/2020/NĐ-CP): padded numbers, nothing but
the footer in page 1's bottom margin, the "MẪU" demo marker only where configured, and
decision texts read from the app's STATES_DIR with `levels:` sections.

Checked on real PDFs read back with poppler (pdftotext, pdftoppm) and zbar.
"""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from flask import Flask
from PIL import Image
from test_pdf_render import TEMPLATE, make_facts, needs_poppler, needs_zbar, twelve_units, zbar

from workflow_app.config import Config
from workflow_app.pdf import printing, render
from workflow_app.pdf.decision import decision_context, merged_texts
from workflow_app.pdf.numbers import document_number
from workflow_app.pdf.texts import DEFAULT_STATES_DIR
from workflow_app.workflow.yamlfile import load_yaml

MM = 72 / 25.4
A4_HEIGHT_MM = 297
BOTTOM_MARGIN_MM = 20  # decision.css @page: 20 mm at the bottom on every page


def pdftotext(pdf: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()


def decision_pdf(facts, path: Path) -> Path:
    path.write_bytes(render.html_to_pdf(render.render_html(TEMPLATE, decision_context(facts), printing.watermark())))
    return path


def page_png(pdf: Path, page: int, dpi: int, out: Path) -> Path:
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", "-f", str(page), "-l", str(page), "-singlefile",
                    str(pdf), str(out)], check=True)
    return out.with_suffix(".png")


# --- numbers -------------------------------------------------------------------------

@pytest.mark.parametrize(("number", "text"), [(1, "01"), (5, "05"), (9, "09"), (10, "10"), (125, "125")])
def test_numbers_below_10_get_a_leading_zero(number, text):
    assert document_number(number) == text


@pytest.mark.parametrize("bad", [0, -1, True, "1", 1.0, None])
def test_a_document_number_is_a_whole_number_from_1(bad):
    with pytest.raises(ValueError):
        document_number(bad)


@needs_poppler
def test_decision_number_1_prints_01(tmp_path):
    facts = make_facts(number=1, symbol=f"{document_number(1)}/QĐ-UBND")
    text = pdftotext(decision_pdf(facts, tmp_path / "d.pdf").read_bytes())
    assert "Số: 01/QĐ-UBND" in text and "Số: 1/" not in text


# --- page 1's bottom margin ----------------------------------------------------------

@needs_poppler
@needs_zbar
@pytest.mark.parametrize("units", [[("Bản Nà Tăm 01", "xã Nà Tăm")], twelve_units()], ids=["1-unit", "12-units"])
def test_page_1_bottom_margin_is_blank_and_the_qr_sits_in_the_text_area(units, tmp_path):
    pdf = decision_pdf(make_facts(units=units), tmp_path / "d.pdf")
    dpi = 100
    png = page_png(pdf, 1, dpi, tmp_path / "p1")
    image = Image.open(png).convert("L")
    margin_top = round((A4_HEIGHT_MM - BOTTOM_MARGIN_MM) / 25.4 * dpi)
    strip = image.crop((0, margin_top + 1, image.width, image.height))
    assert strip.getextrema()[0] >= 250, "something is printed in page 1's bottom margin"
    # The QR code is found above the margin: its bottom edge is inside the text area.
    last = len(units) == 1 and 1 or 2  # one unit: one page; twelve: the closing is on page 2
    page = page_png(pdf, last, 150, tmp_path / "last")
    above = Image.open(page)
    cut = round((A4_HEIGHT_MM - BOTTOM_MARGIN_MM) / 25.4 * 150)
    above.crop((0, 0, above.width, cut)).save(tmp_path / "above.png")
    assert zbar(tmp_path / "above.png") == [make_facts().verify_url]


@needs_poppler
def test_one_unit_decision_stays_on_one_page(tmp_path):
    pdf = decision_pdf(make_facts(), tmp_path / "d.pdf")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           1" in info


# --- the demo marker -----------------------------------------------------------------

def app_with_env(monkeypatch, env: dict[str, str]) -> Flask:
    for name in ("APP_ENV", "PDF_WATERMARK"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = Flask(__name__)
    app.config.from_object(Config())
    return app


def test_watermark_defaults_on_in_development_off_in_production(monkeypatch):
    assert app_with_env(monkeypatch, {"APP_ENV": "development"}).config["PDF_WATERMARK"] == "MẪU"
    production = app_with_env(monkeypatch, {"APP_ENV": "production", "SECRET_KEY": "x" * 32,
                                            "PUBLIC_BASE_URL": "https://ntm.example.vn"})
    assert production.config["PDF_WATERMARK"] == ""
    assert app_with_env(monkeypatch, {"APP_ENV": "development", "PDF_WATERMARK": ""}).config["PDF_WATERMARK"] == ""


@needs_poppler
def test_watermark_is_drawn_in_development_and_absent_in_production(monkeypatch, tmp_path):
    def render_under(app: Flask, name: str) -> tuple[str, Image.Image]:
        with app.app_context():
            pdf = decision_pdf(make_facts(), tmp_path / f"{name}.pdf")
        return pdftotext(pdf.read_bytes()), Image.open(page_png(pdf, 1, 50, tmp_path / name)).convert("L")

    dev_text, dev = render_under(app_with_env(monkeypatch, {"APP_ENV": "development"}), "dev")
    prod_text, prod = render_under(app_with_env(monkeypatch, {"APP_ENV": "production", "SECRET_KEY": "x" * 32,
                                                              "PUBLIC_BASE_URL": "https://ntm.example.vn"}), "prod")
    # The marker's letters are the only characters production lacks: no word of the
    # legal text changes.
    assert "MẪU" not in prod_text
    assert sorted("".join(dev_text.split())) == sorted("".join(prod_text.split()) + "MẪU")
    # Drawn in development: light grey (not black) pixels where production has white.
    changed = [(a, b) for a, b in zip(dev.tobytes(), prod.tobytes(), strict=True) if a != b]
    assert len(changed) > 2000, "no watermark drawn in development"
    # Only ever darker (drawn over the page), and light where it falls on white paper.
    assert all(a <= b for a, b in changed)
    assert sum(1 for a, b in changed if b == 255 and 180 <= a < 255) > 0.5 * len(changed)


def test_every_print_template_draws_the_watermark(monkeypatch):
    app = app_with_env(monkeypatch, {"APP_ENV": "development"})
    templates = sorted(p.name for p in (render.TEMPLATES_DIR / "pdf").glob("*.html") if not p.name.startswith("_"))
    assert templates == ["apology.html", "appraisal_report.html", "decision.html", "line_summary.html",
                         "monthly_report.html", "receipt.html"]
    for name in templates:
        source = (render.TEMPLATES_DIR / "pdf" / name).read_text(encoding="utf-8")
        assert '{% extends "pdf/_base.html" %}' in source, name
    base = (render.TEMPLATES_DIR / "pdf" / "_base.html").read_text(encoding="utf-8")
    assert '{% include "pdf/_watermark.html" %}' in base
    with app.app_context():
        assert printing.watermark() == "MẪU"
    assert printing.watermark() == ""  # no app: scripts and pure tests print none


# --- texts from STATES_DIR, with `levels:` -------------------------------------------

def test_levels_section_lies_between_default_and_issuers():
    document = {
        "default": {"authority": "default", "legal_bases": ["d"], "subject": "s"},
        "levels": {"commune": {"authority": "commune", "legal_bases": ["c1", "c2"]}},
        "issuers": {"binh-lu": {"authority": "binh-lu"}},
    }
    required = {k: "x" for k in ("issuer_lines", "consider", "articles", "recipients", "archive", "capacities")}
    document["default"].update(required)
    assert merged_texts(document, "tam-duong", "district")["authority"] == "default"
    commune = merged_texts(document, "nà-tăm", "commune")
    assert (commune["authority"], commune["legal_bases"], commune["subject"]) == ("commune", ["c1", "c2"], "s")
    # The issuer's own section wins over its level's; the level's other keys stay.
    issuer = merged_texts(document, "binh-lu", "commune")
    assert (issuer["authority"], issuer["legal_bases"]) == ("binh-lu", ["c1", "c2"])
    assert merged_texts(document, "binh-lu")["legal_bases"] == ["d"]  # no level given: none applied


def test_a_level_section_that_is_not_a_mapping_is_refused():
    document = {"default": {}, "levels": {"commune": ["not", "a", "mapping"]}}
    with pytest.raises(ValueError, match="levels.commune"):
        merged_texts(document, "x", "commune")


def test_decision_texts_follow_the_apps_states_dir(tmp_path):
    states = tmp_path / "states"
    shutil.copytree(DEFAULT_STATES_DIR / "decisions", states / "decisions")
    path = states / "decisions" / "village_ntm.yaml"
    document = load_yaml(path.read_text(encoding="utf-8"))
    document["levels"] = {"commune": {"authority": "CHỦ TỊCH ỦY BAN NHÂN DÂN {issuer_upper} (cấp xã)"}}
    document["issuers"] = {}
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    app = Flask(__name__)
    app.config["STATES_DIR"] = str(states)
    commune = dataclasses.replace(make_facts(), issuer_code="na-tam", issuer_name="Xã Nà Tăm",
                                  issuer_place="Nà Tăm", issuer_level="commune")
    with app.app_context():
        assert decision_context(commune)["authority"] == "CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ NÀ TĂM (cấp xã)"
        district = decision_context(make_facts(issuer_level="district"))
        assert district["authority"] == "CHỦ TỊCH ỦY BAN NHÂN DÂN HUYỆN TAM ĐƯỜNG"
    # Without the app, the project's own states/ (which has no such text).
    assert decision_context(commune)["authority"] != "CHỦ TỊCH ỦY BAN NHÂN DÂN XÃ NÀ TĂM (cấp xã)"
