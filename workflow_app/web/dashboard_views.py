"""The progress dashboard and the monthly report: pages and downloads.

Who may see them: officials with a role above village level — district (and
province) viewers, appraisers, approvers and admins over their subtree,
commune and town officers over their own unit (the same services, scoped by
the units the user may see). Village heads get 403: they follow their own
dossiers. Bad parameters are 400 pages that say what to enter."""
from __future__ import annotations

import io

from flask import g, render_template, request, send_file
from flask_babel import gettext as _

from ..charts import (
    PairRow,
    Series,
    StackedRow,
    paired_bars,
    stacked_bars,
    state_colour,
)
from ..clock import local_today
from ..i18n import request_lang
from ..pdf.printing import render_pdf
from ..permissions import scope_of
from ..services.core.common import engine
from ..services.core.eras import years_with_data
from ..services.reporting import progress_export as export
from ..services.reporting.dashboard import (
    Dashboard,
    can_see_progress,
    check_kind,
    dashboard,
    dashboard_kinds,
    parse_year,
)
from ..services.reporting.monthly_report import (
    ROWS_SHOWN,
    monthly_report,
    moves_page,
    overdue_page,
    overdue_summary,
)
from ..services.reporting.sheets import XLSX_MIME
from ..validation import query_int
from ..workflow.errors import NotPermitted
from . import bp

OVERDUE_SHOWN = 10  # the dashboard's most late dossiers; all of them on /reports/monthly/overdue


@bp.app_template_global()
def shows_progress(user) -> bool:
    """Whether the navigation offers "Tiến độ" to this user."""
    return can_see_progress(user)


def _require_progress() -> None:
    if not can_see_progress(g.user):
        raise NotPermitted(
            "Trang tiến độ dành cho cán bộ xã, thị trấn, huyện và tỉnh. Hồ sơ của bản bạn xem ở trang Hồ sơ.",
            "The progress pages are for commune, town, district and province officials. "
            "See your village's dossiers on the Dossiers page.")


def _selection(lang: str) -> Dashboard:
    _require_progress()
    this_year = local_today().year
    kind = check_kind(request.args.get("kind") or dashboard_kinds()[0])
    year = parse_year(request.args.get("year"), this_year)  # this year's units and figures by default
    return dashboard(g.user, year, kind, lang)


def _charts(dash: Dashboard) -> dict:
    states = [s for s in dash.states if dash.total.by_state.get(s)] or dash.states
    colours = engine().state_options(dash.kind)
    series = [Series(s, dash.state_labels[s], state_colour(colours[s].colour if s in colours else None))
              for s in states]
    rows = [StackedRow(c.name, c.by_state) for c in dash.communes]
    if not dash.has_criteria:  # a kind made of lines: its dossiers by state, no criteria chart
        return {"states": stacked_bars(
            "chart-states", _("Hồ sơ theo trạng thái (năm %(year)s)", year=dash.year),
            _("Mỗi thanh là một đơn vị cấp trên; các đoạn màu là số đơn vị có hồ sơ ở từng trạng thái, "
              "con số cuối thanh là tổng."),
            rows, series, _("Chưa có hồ sơ nào.")), "criteria": ""}
    by_state = stacked_bars(
        "chart-states", _("Hồ sơ bản theo trạng thái, từng xã (năm %(year)s)", year=dash.year),
        _("Mỗi thanh là một xã; các đoạn màu là số bản có hồ sơ ở từng trạng thái, con số cuối thanh là tổng."),
        rows, series, _("Chưa có hồ sơ nào."))
    criteria = paired_bars(
        "chart-criteria", _("Số bản đạt từng tiêu chí, tiêu chí yếu nhất trước"),
        _("Thanh trên: số bản tự đánh giá đạt trên số bản có hồ sơ; thanh dưới: số bản đạt theo thẩm định "
          "trên số hồ sơ đã thẩm định."),
        [PairRow(f"{c.code}. {c.name}", c.self_met, c.passed, c.of, c.appraised_of) for c in dash.criteria],
        Series("self", _("Tự đánh giá đạt"), "#9cc3e6"), Series("passed", _("Đạt theo thẩm định"), "#2e7d4f"),
        _("Chưa có hồ sơ nào."))
    return {"states": by_state, "criteria": criteria}


@bp.get("/dashboard")
def dashboard_page():
    lang = request_lang()
    dash = _selection(lang)
    today = local_today()
    scope = scope_of(g.user, progress=True)
    late = overdue_summary(scope, today, lang, limit=OVERDUE_SHOWN)  # the count, the most late; the rest paged
    years = sorted({*years_with_data(scope, [dash.kind], today.year), dash.year}, reverse=True)
    return render_template("web/dashboard.html", dash=dash, charts=_charts(dash), late=late, today=today,
                           years=years,
                           kinds=[(k, engine().kind_label(k, lang)) for k in dashboard_kinds()])


@bp.get("/dashboard.xlsx")
def dashboard_xlsx():
    dash = _selection("vi")  # workbooks are in Vietnamese, like the official papers
    return send_file(io.BytesIO(export.dashboard_xlsx(dash)), mimetype=XLSX_MIME, as_attachment=True,
                     download_name=export.dashboard_filename(dash))


def _report(lang: str, *, whole: bool = False):
    """The report of ?month=: the page lists the first ROWS_SHOWN of its moves and overdue
    dossiers (the rest on the paged lists below); the downloads (`whole`) hold all of them."""
    _require_progress()
    return monthly_report(g.user, request.args.get("month"), local_today(), lang,
                          rows=None if whole else ROWS_SHOWN)


@bp.get("/reports/monthly")
def monthly_report_page():
    report = _report(request_lang())
    return render_template("web/monthly_report.html", report=report)


@bp.get("/reports/monthly/moves")
def monthly_moves_page():
    _require_progress()
    listing = moves_page(g.user, request.args.get("month"), local_today(), query_int("page", 1, lo=1), request_lang())
    return render_template("web/monthly_list.html", listing=listing, what="moves")


@bp.get("/reports/monthly/overdue")
def monthly_overdue_page():
    _require_progress()
    listing = overdue_page(g.user, request.args.get("month"), local_today(), query_int("page", 1, lo=1), request_lang())
    return render_template("web/monthly_list.html", listing=listing, what="overdue")


@bp.get("/reports/monthly.xlsx")
def monthly_report_xlsx():
    report = _report("vi", whole=True)
    return send_file(io.BytesIO(export.monthly_xlsx(report)), mimetype=XLSX_MIME, as_attachment=True,
                     download_name=export.monthly_filename(report))


@bp.get("/reports/monthly.pdf")
def monthly_report_pdf():
    report = _report("vi", whole=True)
    pdf = render_pdf("pdf/monthly_report.html", export.monthly_pdf_context(report, g.user.name))
    return send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                     download_name=export.monthly_pdf_filename(report))
