"""The numbering register (sổ đăng ký văn bản) as a page and as an XLSX download.

Who may read an issuer's register is the API's rule (services/reporting/register.py):
every user whose subtree meets the issuer's. The navigation links it for the
officials who work with it (approver, appraiser, viewer, admin)."""
from __future__ import annotations

import io

from flask import g, render_template, request, send_file

from ..clock import local_today
from ..services.reporting.register import (
    XLSX_MIME,
    default_issuer,
    gaps,
    issuer_body,
    readable_issuers,
    register_issuer,
    register_rows,
    register_xlsx,
    register_years,
    xlsx_filename,
)
from ..workflow.errors import NotFound
from . import bp

REGISTER_ROLES = ("approver", "appraiser", "viewer", "admin")


@bp.app_template_global()
def shows_register(user) -> bool:
    """Whether the navigation offers the register to this user."""
    return any(ra.role in REGISTER_ROLES for ra in user.roles)


def _selection():
    """(issuer or None, year, readable issuers) from ?issuer=&year=, defaulting to the
    user's own issuer and the current year (an abolished issuer's last year with numbers)."""
    issuers = readable_issuers(g.user)
    code = request.args.get("issuer")
    if not code:
        fallback = default_issuer(g.user, issuers)
        code = fallback.code if fallback else None
    issuer = register_issuer(g.user, code) if code else None
    raw = request.args.get("year", "")
    if raw.isdigit() and 2000 <= int(raw) <= 2100:
        return issuer, int(raw), issuers
    year = local_today().year
    if issuer is not None and year not in (years := register_years(issuer)):
        year = years[0]
    return issuer, year, issuers


@bp.get("/decisions")
def register_page():
    issuer, year, issuers = _selection()
    rows = register_rows(issuer, year) if issuer else []
    missing = gaps(issuer, year) if issuer else []
    years = register_years(issuer) if issuer else [year]
    if year not in years:
        years = sorted({*years, year}, reverse=True)
    return render_template("web/register.html", issuer=issuer, year=year, issuers=issuers, years=years,
                           rows=rows, missing=missing, issuer_body=issuer_body)


@bp.get("/decisions.xlsx")
def register_xlsx_download():
    issuer, year, _issuers = _selection()
    if issuer is None:

        raise NotFound("Không có cơ quan ban hành nào để xuất sổ đăng ký.", "No issuer to export a register for.")
    data = register_xlsx(issuer, year, register_rows(issuer, year))
    return send_file(io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True,
                     download_name=xlsx_filename(issuer, year))
