"""The numbering register (sổ đăng ký văn bản) as a page and as an XLSX download.

Who may read an issuer's register is the API's rule (services/reporting/register.py):
every user whose subtree meets the issuer's. The navigation links it for the
officials who work with it (approver, appraiser, viewer, admin).

The page shows PAGE_SIZE numbers at a time: page p is the numbers (p-1)*50+1 .. p*50,
read on the (issuer, year, number) key, so every page costs the same however long the
register. ``?number=N`` jumps to the page holding number N (redirect to
``?page=P#so-N``). The XLSX download is the whole register."""
from __future__ import annotations

from flask import g, redirect, render_template, request, send_file, url_for

from ..clock import local_today
from ..services.reporting.register import (
    PAGE_SIZE,
    default_issuer,
    gaps,
    issuer_body,
    page_numbers,
    page_of,
    readable_issuer,
    readable_issuers,
    register_extent,
    register_rows,
    register_xlsx,
    register_years,
    xlsx_filename,
)
from ..services.reporting.sheets import XLSX_MIME
from ..validation import is_digits, query_int
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
    issuer = readable_issuer(g.user, code, issuers) if code else None
    raw = request.args.get("year", "")
    if is_digits(raw) and 2000 <= int(raw) <= 2100:
        return issuer, int(raw), issuers
    year = local_today().year
    if issuer is not None and year not in (years := register_years(issuer)):
        year = years[0]
    return issuer, year, issuers


@bp.get("/decisions")
def register_page():
    issuer, year, issuers = _selection()
    number, page = query_int("number", lo=1), query_int("page", 1, lo=1)
    if issuer is not None and number is not None:
        return redirect(url_for("web.register_page", issuer=issuer.code, year=year, page=page_of(number),
                                _anchor=f"so-{number}"))
    years = register_years(issuer) if issuer else [year]
    if year not in years:
        years = sorted({*years, year}, reverse=True)
    if issuer is None:
        return render_template("web/register.html", issuer=None, year=year, issuers=issuers, years=years)
    extent = register_extent(issuer, year)
    page = min(page, extent.pages)  # past the end: the last page
    first, last = page_numbers(page)
    rows = register_rows(issuer, year, after=first - 1, last=last)
    return render_template("web/register.html", issuer=issuer, year=year, issuers=issuers, years=years,
                           rows=rows, extent=extent, missing=gaps(issuer, year, extent), page=page,
                           first=first, last=min(last, extent.top), page_size=PAGE_SIZE, issuer_body=issuer_body)


@bp.get("/decisions.xlsx")
def register_xlsx_download():
    issuer, year, _issuers = _selection()
    if issuer is None:
        raise NotFound("Không có cơ quan ban hành nào để xuất sổ đăng ký.", "No issuer to export a register for.")
    return send_file(register_xlsx(issuer, year), mimetype=XLSX_MIME, as_attachment=True,
                     download_name=xlsx_filename(issuer, year))
