"""The receiving level's summary of a kind made of lines across its communes: the
page, its XLSX workbook and its PDF for the head of the issuing body to sign.

Who may read it is the service's rule (services/reporting/line_summary.py): whoever
reads the issuer's dossiers. Without ?issuer= the page shows the user's own unit at
the year's receiving level (else the first such unit the user reads)."""
from __future__ import annotations

import io

from flask import g, render_template, request, send_file

from ..clock import local_today
from ..i18n import request_lang
from ..pdf.printing import render_pdf
from ..services.core.common import engine
from ..services.reporting.dashboard import parse_year
from ..services.reporting.line_summary import (
    LineSummary,
    filing_note,
    summary,
    summary_issuers,
    summary_kinds,
    summary_years,
)
from ..services.reporting.line_summary_export import (
    pdf_filename,
    summary_pdf_context,
    summary_xlsx,
    xlsx_filename,
)
from ..services.reporting.sheets import XLSX_MIME
from ..workflow.errors import NotFound
from . import bp


@bp.app_template_global()
def summary_links(user) -> list[tuple[str, str]]:
    """(kind, label) of the summaries the dashboard offers this user: this year's lines
    kinds whose receiving level is at or below one of the user's units."""
    return [(k, engine().kind_label(k, request_lang())) for k in summary_kinds(user, local_today().year)]


def _selection(kind: str, lang: str) -> tuple[LineSummary | None, list, int]:
    year = parse_year(request.args.get("year"), local_today().year)
    issuers = summary_issuers(g.user, kind, year)
    code = request.args.get("issuer") or (issuers[0].code if issuers else None)
    return (summary(kind, code, year, g.user, lang) if code else None), issuers, year


def _summary(kind: str) -> LineSummary:
    s, _issuers, _year = _selection(kind, "vi")  # papers and workbooks are in Vietnamese
    if s is None:
        raise NotFound("Không có đơn vị tiếp nhận nào trong phạm vi của bạn để lập bảng tổng hợp.",
                       "No receiving unit in your reach to summarise.")
    return s


@bp.get("/summaries/<kind>")
def summary_page(kind: str):
    lang = request_lang()
    s, issuers, year = _selection(kind, lang)
    years = sorted({*summary_years(kind, local_today().year), year}, reverse=True)
    return render_template("summaries/summary.html", s=s, kind=kind, year=year, years=years, issuers=issuers,
                           filing_note=filing_note, lang=lang)


@bp.get("/summaries/<kind>.xlsx")
def summary_xlsx_download(kind: str):
    s = _summary(kind)
    return send_file(io.BytesIO(summary_xlsx(s)), mimetype=XLSX_MIME, as_attachment=True,
                     download_name=xlsx_filename(s))


@bp.get("/summaries/<kind>.pdf")
def summary_pdf_download(kind: str):
    s = _summary(kind)
    pdf = render_pdf("pdf/line_summary.html", summary_pdf_context(s, g.user.name))
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True, download_name=pdf_filename(s))
