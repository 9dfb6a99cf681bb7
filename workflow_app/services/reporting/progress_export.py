"""The dashboard's tables and the monthly report as XLSX workbooks (openpyxl).

Workbooks are in Vietnamese, like the official papers; numbers are stored as
numbers (not text) so the standing office can sum and chart them in Excel.
"""
from __future__ import annotations

from ...clock import local_date, local_naive
from ...formats import date_line, paper_date, vn_date
from ..core.common import engine
from .dashboard import Dashboard
from .monthly_report import MonthlyReportData
from .sheets import bold_last, book_bytes, new_book, titled_sheet

DASHBOARD_SHEETS = ("Theo xã", "Theo tiêu chí", "Thị trấn", "Huyện")
MONTHLY_SHEETS = ("Tổng hợp", "Theo xã", "Theo tiêu chí", "Hồ sơ quá hạn", "Báo cáo thành viên BCĐ", "Diễn biến")
REPORT_STATUS = {"on_time": "Đúng hạn", "late": "Muộn", "missing": "Chưa nộp (quá hạn)",
                 "pending": "Chưa nộp (chưa đến hạn)"}
WORDS = {"met": "Đạt", "not_met": "Chưa đạt", "pass": "Đạt", "fail": "Không đạt", None: "—"}


# ----------------------------------------------------------------------------- dashboard

def commune_sheet(wb, dash: Dashboard, title: str = "Theo xã", states: list[str] | None = None):
    states = states or dash.states
    columns = [("Xã", 22), ("Số bản", 8), ("Bản đăng ký", 10), ("Số hồ sơ", 9), ("Bản có hồ sơ", 10)]
    columns += [(dash.state_labels[s], 11) for s in states]
    if not dash.has_criteria:  # a kind made of lines: its applicants' dossiers by state only
        columns[1:5] = [("Số đơn vị", 8), ("Đơn vị đăng ký", 10), ("Số hồ sơ", 9), ("Đơn vị có hồ sơ", 10)]
        ws = titled_sheet(wb, title, f"TIẾN ĐỘ — {dash.kind_label.upper()} — NĂM {dash.year}", columns)
        for c in [*dash.communes, dash.total]:
            ws.append([c.name or "Tổng cộng", c.villages, c.registered, c.dossiers, c.with_dossier,
                       *[c.by_state.get(s, 0) for s in states]])
        bold_last(ws)
        ws.append([])
        ws.append([f"Mỗi đơn vị tính một lần, theo hồ sơ mới nhất của năm {dash.year}, ở trạng thái hiện tại."])
        return ws
    columns += [("TB tiêu chí đạt (tự đánh giá)", 14), ("Hồ sơ có kết luận thẩm định", 12),
                ("TB tiêu chí đạt (thẩm định)", 14)]
    ws = titled_sheet(wb, title, f"TIẾN ĐỘ THEO XÃ — {dash.kind_label.upper()} — NĂM {dash.year}", columns)
    for c in [*dash.communes, dash.total]:
        ws.append([c.name or "Tổng cộng", c.villages, c.registered, c.dossiers, c.with_dossier,
                   *[c.by_state.get(s, 0) for s in states], c.avg_self, c.appraised, c.avg_appraised])
    bold_last(ws)
    ws.append([])
    ws.append([(f"Mỗi bản tính một lần, theo hồ sơ mới nhất của năm {dash.year}. Trung bình tự đánh giá: số tiêu chí "
                f"'đạt' ở lượt hiện tại, trên các bản có hồ sơ; trung bình thẩm định: số tiêu chí 'đạt' theo kết luận "
                f"thẩm định, trên các hồ sơ đã bắt đầu thẩm định. Bộ tiêu chí có {dash.criteria_count} tiêu chí.")])
    return ws


def criteria_sheet(wb, dash_criteria, heading: str, title: str = "Theo tiêu chí"):
    ws = titled_sheet(wb, title, heading, [
        ("Thứ tự yếu nhất", 9), ("Mã", 6), ("Tiêu chí", 40), ("Số bản đạt (tự đánh giá)", 12),
        ("Trên số bản có hồ sơ", 12), ("Số bản đạt (thẩm định)", 12), ("Trên số hồ sơ có kết luận thẩm định", 12)])
    for rank, c in enumerate(dash_criteria, start=1):
        ws.append([rank, c.code, c.name, c.self_met, c.of, c.passed, c.appraised_of])
    return ws


def dashboard_xlsx(dash: Dashboard) -> bytes:
    wb = new_book(f"Tiến độ xây dựng nông thôn mới năm {dash.year}")
    commune_sheet(wb, dash)
    if dash.has_criteria:
        criteria_sheet(wb, dash.criteria, f"SỐ BẢN ĐẠT TỪNG TIÊU CHÍ — NĂM {dash.year} (yếu nhất trước)")
    ws = titled_sheet(wb, "Thị trấn", f"TIÊU CHÍ CỦA THỊ TRẤN — NĂM {dash.year}",
                       [("Thị trấn", 22), ("Mã hồ sơ", 22), ("Mã", 6), ("Tiêu chí", 44), ("Tự đánh giá", 12),
                        ("Thẩm định", 12)])
    for town in dash.towns:
        if not town.criteria:
            ws.append([town.name, "Chưa có hồ sơ"])
        for c in town.criteria:
            ws.append([town.name, town.dossier_code, c.code, c.name, WORDS.get(c.self_assessment, c.self_assessment),
                       WORDS.get(c.verdict, c.verdict)])
    ws = titled_sheet(wb, "Huyện", f"TIÊU CHÍ HUYỆN NÔNG THÔN MỚI — NĂM {dash.year}",
                       [("Huyện", 22), ("Số tiêu chí đạt", 12), ("Tổng số tiêu chí", 12)])
    for x in dash.district:
        ws.append([x.name, x.met, x.total])
    if not dash.district:
        ws.append(["Chưa có số liệu chiến dịch cho năm này"])
    return book_bytes(wb)


def dashboard_filename(dash: Dashboard) -> str:
    return f"tien-do-ntm-{dash.kind.replace('_', '-')}-{dash.year}.xlsx"


# ----------------------------------------------------------------------------- monthly report

def monthly_xlsx(report: MonthlyReportData) -> bytes:
    wb = new_book(f"Báo cáo tiến độ xây dựng nông thôn mới tháng {report.label}")
    ws = titled_sheet(wb, "Tổng hợp",
                       f"BÁO CÁO TIẾN ĐỘ XÂY DỰNG NÔNG THÔN MỚI THÁNG {report.label} — {report.scope_name.upper()}",
                       [("Loại hồ sơ", 40), ("Trạng thái", 22), (f"Cuối tháng {report.label}", 14),
                        ("Cuối tháng trước", 14), ("Thay đổi", 10)])
    for k in report.kinds:
        for r in k.rows:
            ws.append([k.label, r.label, r.end, r.previous, r.change])
        ws.append([k.label, "Cộng", k.total_end, k.total_previous, k.total_end - k.total_previous])
        bold_last(ws)
    ws.append([])
    ws.append(["Loại hồ sơ", "Trong tháng", "Số lượt"])
    bold_last(ws)
    for k in report.kinds:
        for m in k.moves:
            ws.append([k.label, m.label, m.n])
    ws.append(["Hồ sơ quá hạn (ngày lập báo cáo)", report.overdue_total])
    ws.append(["Báo cáo thành viên BCĐ đã nhận", report.reports_received])
    ws.append(["  trong đó nộp muộn", report.reports_late])
    ws.append(["Báo cáo thành viên BCĐ chưa nộp (quá hạn)", report.reports_missing])
    ws.append(["Báo cáo thành viên BCĐ chưa đến hạn", report.reports_pending])
    ws.append([(f"Ngày lập báo cáo: {vn_date(report.today)}. Số hồ sơ lũy kế (mọi năm), trạng thái "
                "cuối tháng tính theo lịch sử chuyển trạng thái (nhật ký), mốc là 0 giờ ngày đầu tháng sau, "
                "giờ Việt Nam.")])

    states = report.states
    columns = [("Xã", 22)]
    for s in states:
        columns += [(f"{report.state_labels[s]} (cuối tháng)", 12), ("thay đổi", 9)]
    columns += [(m.label + " trong tháng", 12) for m in report.village_moves]
    ws = titled_sheet(wb, "Theo xã", f"HỒ SƠ BẢN THEO XÃ — CUỐI THÁNG {report.label}", columns)
    for c in report.communes:
        row = [c.name]
        for s in states:
            row += [c.end.get(s, 0), c.change(s)]
        row += [c.moves.get(m.event, 0) for m in report.village_moves]
        ws.append(row)

    criteria_sheet(wb, report.criteria, f"SỐ BẢN ĐẠT TỪNG TIÊU CHÍ — HỒ SƠ NĂM {report.criteria_year} "
                                        f"(tại ngày {vn_date(report.today)}, yếu nhất trước)")

    ws = titled_sheet(wb, "Hồ sơ quá hạn", f"HỒ SƠ QUÁ HẠN TẠI NGÀY {vn_date(report.today)}",
                       [("Mã hồ sơ", 22), ("Loại", 30), ("Đơn vị", 22), ("Xã", 18), ("Trạng thái", 16),
                        ("Hạn xử lý", 12), ("Số ngày trễ", 9), ("Người phải xử lý", 30), ("Lý do", 50)])
    for o in report.overdue:
        ws.append([o.code, o.kind_label, o.unit, o.commune, o.state_label, o.due_on, o.days_late, o.who, o.why])
        ws.cell(ws.max_row, 6).number_format = "DD/MM/YYYY"
    if not report.overdue:
        ws.append(["Không có hồ sơ quá hạn."])

    ws = titled_sheet(wb, "Báo cáo thành viên BCĐ", f"BÁO CÁO CỦA THÀNH VIÊN BAN CHỈ ĐẠO — THÁNG {report.label}",
                       [("Thành viên", 26), ("Chức vụ", 30), ("Xã, thị trấn", 20), ("Hạn nộp", 12), ("Ngày nộp", 16),
                        ("Tình trạng", 22)])
    for r in report.reports:
        ws.append([r.member, r.title, r.commune, r.due_on, local_naive(r.submitted_at),
                   REPORT_STATUS.get(r.status, r.status)])
        ws.cell(ws.max_row, 4).number_format = "DD/MM/YYYY"
        ws.cell(ws.max_row, 5).number_format = "DD/MM/YYYY HH:MM"
    if not report.reports:
        ws.append(["Chưa có thành viên Ban chỉ đạo phụ trách xã nào trong phạm vi này."])

    ws = titled_sheet(wb, "Diễn biến", f"HỒ SƠ CHUYỂN TRẠNG THÁI TRONG THÁNG {report.label}",
                       [("Thời điểm", 17), ("Thao tác", 30), ("Mã hồ sơ", 22), ("Đơn vị", 22), ("Xã", 18),
                        ("Người thực hiện", 24), ("Ý kiến", 50)])
    for m in report.moves:
        ws.append([local_naive(m.at), m.event_label, m.code, m.unit, m.commune, m.actor, m.comment or ""])
        ws.cell(ws.max_row, 1).number_format = "DD/MM/YYYY HH:MM"
    return book_bytes(wb)


def monthly_filename(report: MonthlyReportData) -> str:
    return f"bao-cao-tien-do-ntm-{report.month}.xlsx"


def monthly_pdf_filename(report: MonthlyReportData) -> str:
    return f"bao-cao-tien-do-ntm-{report.month}.pdf"


# ----------------------------------------------------------------------------- PDF context

def _place(name: str) -> str:
    """"Huyện Tam Đường" -> "Tam Đường" (the place in the date line)."""
    for prefix in ("Thị trấn ", "Huyện ", "Tỉnh ", "Xã ", "Thành phố ", "Thị xã "):
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


RECIPIENTS = {
    "district": ["Ban Chỉ đạo các CTMTQG tỉnh (b/c);", "Văn phòng Điều phối nông thôn mới tỉnh;",
                 "Thường trực Huyện ủy, HĐND huyện;", "Thành viên Ban Chỉ đạo huyện;"],
    "province": ["Ban Chỉ đạo Trung ương các CTMTQG (b/c);", "Văn phòng Điều phối nông thôn mới Trung ương;",
                 "Thành viên Ban Chỉ đạo tỉnh;"],
    "other": ["Ban Chỉ đạo các CTMTQG huyện (b/c);", "Văn phòng Điều phối nông thôn mới huyện;"],
}


def monthly_pdf_context(report: MonthlyReportData, preparer: str) -> dict:
    """Plain values for templates/pdf/monthly_report.html (see pdf.printing.render_pdf)."""

    def signed(n: int) -> str:
        return f"+{n}" if n > 0 else str(n)

    kinds = [{"label": k.label,
              "rows": [[r.label, r.end, r.previous, signed(r.change)] for r in k.rows],
              "total": ["Cộng", k.total_end, k.total_previous, signed(k.total_end - k.total_previous)],
              "moves": [[m.label, m.n] for m in k.moves]}
             for k in report.kinds]
    states = report.states
    decided = engine().definition(report.village_kind).decision_events  # "recognised this month"
    communes = [[c.name, *[c.end.get(s, 0) for s in states], sum(c.end.values()),
                 sum(c.moves.get(e, 0) for e in decided)] for c in report.communes]
    totals = ["Tổng cộng", *[sum(c.end.get(s, 0) for c in report.communes) for s in states],
              sum(sum(c.end.values()) for c in report.communes),
              sum(sum(c.moves.get(e, 0) for e in decided) for c in report.communes)]
    unit_words = {"working": "ngày làm việc", "calendar": "ngày"}
    return {
        "title": f"Báo cáo tiến độ xây dựng nông thôn mới tháng {report.label}",
        "issuer_lines": ["ỦY BAN NHÂN DÂN", report.scope_name.upper()],
        # The number is given by the clerk at signing: a blank kept open with no-break spaces.
        "number_line": "Số:" + "\u00a0" * 12 + "/BC-UBND",
        "date_line": date_line(_place(report.scope_name), report.today),
        "month_label": report.label,
        "criteria_year": report.criteria_year,
        "subject": f"Tiến độ xây dựng nông thôn mới tháng {report.label}",
        "intro": (f"Thực hiện chế độ báo cáo hằng tháng của Ban Chỉ đạo các chương trình mục tiêu quốc gia, "
                  f"{report.scope_name} báo cáo tiến độ xây dựng nông thôn mới tháng {report.label} "
                  f"(số hồ sơ lũy kế, tính đến hết ngày {paper_date(report.last_day)}; số bản đạt từng tiêu chí "
                  f"theo hồ sơ năm {report.criteria_year}; hồ sơ quá hạn và báo cáo của thành viên Ban Chỉ đạo "
                  f"tính đến ngày {paper_date(report.today)}) như sau:"),
        "kinds": kinds,
        "state_headers": [report.state_labels[s] for s in states],
        "communes": communes,
        "commune_totals": totals,
        "criteria": [[i, c.code, c.name, f"{c.self_met}/{c.of}", f"{c.passed}/{c.appraised_of}"]
                     for i, c in enumerate(report.criteria, start=1)],
        "overdue": [[o.code, f"{o.unit}" + (f" ({o.commune})" if o.commune else ""), o.state_label,
                     paper_date(o.due_on), f"{o.days_late} {unit_words.get(o.day_unit, 'ngày')}", o.who, o.why]
                    for o in report.overdue],
        "reports_summary": [["Đã nhận", report.reports_received], ["Trong đó nộp muộn", report.reports_late],
                            ["Chưa nộp, đã quá hạn", report.reports_missing],
                            ["Chưa nộp, chưa đến hạn", report.reports_pending]],
        "reports": [[r.member, r.commune, paper_date(r.due_on),
                     paper_date(local_date(r.submitted_at)) if r.submitted_at else "—",
                     REPORT_STATUS.get(r.status, r.status)] for r in report.reports],
        "recipients": RECIPIENTS.get(report.scope_level, RECIPIENTS["other"]),
        "archive": "Lưu: VT, NN.",
        "signature_lines": ["TM. ỦY BAN NHÂN DÂN", "CHỦ TỊCH"],
        "preparer_line": f"Người lập: {preparer}",
    }
