"""The monthly report: states at month ends from the audit trail, the month's
moves, overdue dossiers, the committee's reports; XLSX and PDF.

The dossiers here are dedicated to these tests and moved through the real
services; then their audit records are re-dated on purpose (a month ago is
not something a test can wait for). Re-dating changes the records' content,
so each dossier's hash chain is recomputed in full, honestly, and every test
ends by checking that `audit verify` still finds the chain intact.
"""
from __future__ import annotations

import io
import re
import subprocess
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from audit_helpers import rewrite_chain
from helpers import make_pdf, statements
from openpyxl import load_workbook
from sqlalchemy import and_, event, func

from workflow_app.clock import local_month_bounds as month_bounds
from workflow_app.extensions import db
from workflow_app.models import AuditRecord, CommitteeMember, Dossier, MonthlyReport, UnitLink, User
from workflow_app.permissions import scope_clause, scope_of
from workflow_app.services import (
    appraise_criterion,
    attach_evidence,
    create_dossier,
    fire_event,
    self_assess,
)
from workflow_app.services.committee.visits import file_report
from workflow_app.services.core.audit import verify_chains
from workflow_app.services.core.clocks import step_clock
from workflow_app.services.core.eras import place_on
from workflow_app.services.reporting import monthly_report as report_module
from workflow_app.services.reporting.monthly_report import (
    monthly_report,
    moves_page,
    overdue_page,
    overdue_summary,
    report_month,
    states_at,
)
from workflow_app.services.reporting.progress_export import MONTHLY_SHEETS, monthly_pdf_context, monthly_xlsx
from workflow_app.workflow.errors import BadRequest

pytestmark = pytest.mark.db

VN = timezone(timedelta(hours=7))
TODAY = date(2024, 10, 15)


def vn(*args) -> datetime:
    """A Vietnam wall-clock time as stored: naive UTC."""
    return datetime(*args, tzinfo=VN).astimezone(UTC).replace(tzinfo=None)


def retime(dossier: Dossier, schedule: list[datetime]) -> None:
    """Give the dossier's transitions the times of `schedule`, in order (creation
    first); other records follow the transition before them by a second each.
    Then recompute the whole hash chain of this dossier."""
    times = iter(schedule)
    at = None

    def moved(rec: AuditRecord) -> None:
        nonlocal at
        at = next(times) if rec.is_transition else at + timedelta(seconds=1)
        rec.at = at
    rewrite_chain(dossier.id, moved)
    assert next(times, None) is None, "schedule longer than the transitions"


@pytest.fixture
def world(app, make_user):
    officer = make_user("submitter", "na-tam")
    gm_officer = make_user("submitter", "giang-ma")
    appraiser = make_user("appraiser", "tam-duong")
    approver = make_user("approver", "tam-duong")
    viewer = make_user("viewer", "tam-duong")

    def ready(creator, unit):
        d = create_dossier(creator, "village_ntm", unit, 2024)
        for entry in list(d.current_criteria()):
            attach_evidence(creator, d, f"mc-{entry.code}.pdf", make_pdf(entry.code.encode()), entry.code)
            self_assess(creator, d, entry.code, "met", None)
        return d

    # D1: submitted in August, appraised and recognised in September (the last second of it).
    d1 = ready(officer, "na-tam-01")
    fire_event(officer, d1, "submit")
    for entry in list(d1.current_criteria()):
        appraise_criterion(appraiser, d1, entry.code, "pass", None)
    fire_event(appraiser, d1, "appraise")
    fire_event(approver, d1, "recognize")
    retime(d1, [vn(2024, 8, 10, 9), vn(2024, 8, 20, 9), vn(2024, 9, 10, 9), vn(2024, 9, 30, 23, 59, 58)])
    # D2: created in August, submitted at 00:00 on 1 October (Vietnam time): still a draft in September.
    d2 = ready(officer, "na-tam-02")
    fire_event(officer, d2, "submit")
    retime(d2, [vn(2024, 8, 25, 9), vn(2024, 10, 1, 0, 0)])
    # D3: created at 23:59 on 31 August, submitted at 00:00 on 1 September, returned in September.
    d3 = ready(officer, "na-tam-03")
    fire_event(officer, d3, "submit")
    appraise_criterion(appraiser, d3, "7", "fail", "Thiếu danh sách lao động")
    fire_event(appraiser, d3, "return", "Bổ sung minh chứng tiêu chí 7 (Lao động)")
    retime(d3, [vn(2024, 8, 31, 23, 59), vn(2024, 9, 1, 0, 0), vn(2024, 9, 15, 10)])
    # D5: submitted on 4 September and never appraised: overdue by mid-October.
    d5 = ready(officer, "na-tam-05")
    fire_event(officer, d5, "submit")
    retime(d5, [vn(2024, 8, 28, 9), vn(2024, 9, 4, 9)])
    # D4: created in October, never filed: late against the 30/09 filing deadline.
    d4 = create_dossier(gm_officer, "village_ntm", "giang-ma-01", 2024)
    db.session.commit()
    retime(d4, [vn(2024, 10, 5, 9)])

    # Committee: one member on Nà Tăm (on time) and Giang Ma (missing), one on Sơn Bình (late).
    m1 = make_user("viewer", "tam-duong", name="Lê Văn Hải")
    m2 = make_user("viewer", "tam-duong", name="Phạm Thị Hoa")
    db.session.add(CommitteeMember(user_id=m1.id, title="Phó trưởng phòng NN&PTNT", criteria={},
                                   communes=["na-tam", "giang-ma"]))
    db.session.add(CommitteeMember(user_id=m2.id, title="Trưởng phòng Văn hóa", criteria={}, communes=["son-binh"]))
    db.session.commit()
    file_report(m1, "na-tam", "2024-09", "Nà Tăm: 3 bản hoàn thiện hồ sơ.", {}, now=vn(2024, 9, 20, 10))
    file_report(m2, "son-binh", "2024-09", "Sơn Bình: chậm tiêu chí 7.", {}, now=vn(2024, 9, 27, 10))
    db.session.commit()
    return {"officer": officer, "viewer": viewer, "appraiser": appraiser, "approver": approver, "ready": ready,
            "d": {"d1": d1.id, "d2": d2.id, "d3": d3.id, "d4": d4.id, "d5": d5.id}}


def chains_intact():
    checked, broken = verify_chains()
    assert broken is None, broken
    assert checked > 0


def village(report):
    return {r.state: (r.end, r.previous, r.change) for r in
            next(k for k in report.kinds if k.kind == "village_ntm").rows}


# ----------------------------------------------------------------------------- month arithmetic

def test_month_boundaries_are_vietnam_midnight():
    start, end = month_bounds(2024, 9)
    assert (start, end) == (datetime(2024, 8, 31, 17), datetime(2024, 9, 30, 17))
    assert month_bounds(2024, 12) == (datetime(2024, 11, 30, 17), datetime(2024, 12, 31, 17))


@pytest.mark.parametrize("raw", ["2024-13", "2024-00", "24-09", "2024/09", "abc", "2024-9-1", "1999-05", "2024-11"])
def test_bad_months_are_refused_with_what_to_enter(raw):
    with pytest.raises(BadRequest) as info:
        report_month(raw, TODAY)
    assert "month=" in info.value.text.vi


def test_no_month_means_this_month():
    assert report_month(None, TODAY) == report_month("", TODAY) == "2024-10"


# ----------------------------------------------------------------------------- the figures

def test_counts_at_month_ends_come_from_the_history(world):
    report = monthly_report(world["viewer"], "2024-09", TODAY)
    got = village(report)
    # End of August: D1 submitted; D2, D3 and D5 drafts (D3 created at 23:59 on 31/8). D4 did not exist.
    # End of September: D1 recognised (at 23:59:58 on 30/9), D2 still a draft (filed at 00:00 on 1/10),
    # D3 returned, D5 submitted.
    assert got["draft"] == (1, 3, -2)
    assert got["submitted"] == (1, 1, 0)
    assert got["returned"] == (1, 0, 1)
    assert got["appraised"] == (0, 0, 0)
    assert got["recognized"] == (1, 0, 1)
    assert report.total("end") == 4 and report.total("previous") == 4
    # The dossiers' states today differ: the report is history, not a snapshot.
    assert db.session.get(Dossier, world["d"]["d2"]).state == "submitted"
    october = village(monthly_report(world["viewer"], "2024-10", TODAY))
    assert october["draft"] == (1, 1, 0)  # D4 appeared, D2 left
    assert october["submitted"] == (2, 1, 1)
    chains_intact()


def test_counts_equal_an_independent_replay_of_the_audit_trail(world):
    """The same counts by replaying every dossier's records in Python."""
    def replay(moment):
        counts = {}
        for d in db.session.execute(db.select(Dossier)).scalars():
            state = None
            for rec in sorted(d_records(d.id), key=lambda r: r.seq):
                if rec.is_transition and rec.at < moment:
                    state = rec.to_state
            if state and d.kind == "village_ntm":
                counts[state] = counts.get(state, 0) + 1
        return counts

    def d_records(dossier_id):
        return db.session.execute(db.select(AuditRecord).where(AuditRecord.dossier_id == dossier_id)).scalars()

    for month in ("2024-08", "2024-09", "2024-10"):
        report = monthly_report(world["viewer"], month, TODAY)
        start, end = month_bounds(int(month[:4]), int(month[5:]))
        got = village(report)
        assert {s: v[0] for s, v in got.items() if v[0]} == replay(end), month
        assert {s: v[1] for s, v in got.items() if v[1]} == replay(start), month


def states_by_last_record(moment, scope, day):
    """The reference: each dossier's state at `moment` is the `to_state` of its last
    transition record before it, found by aggregating every record in scope."""
    last = (db.select(AuditRecord.dossier_id, func.max(AuditRecord.seq).label("seq"))
            .where(AuditRecord.is_transition.is_(True), AuditRecord.at < moment)
            .group_by(AuditRecord.dossier_id)).subquery()
    link = db.aliased(UnitLink)
    stmt = (db.select(Dossier.kind, link.parent_id, AuditRecord.to_state, func.count(Dossier.id))
            .join(last, last.c.dossier_id == Dossier.id)
            .join(AuditRecord, and_(AuditRecord.dossier_id == last.c.dossier_id, AuditRecord.seq == last.c.seq))
            .outerjoin(link, place_on(link, Dossier.unit_id, day))
            .where(scope_clause(Dossier.unit_id, scope))
            .group_by(Dossier.kind, link.parent_id, AuditRecord.to_state))
    return {(kind, parent, state): n for kind, parent, state, n in db.session.execute(stmt)}


def test_states_from_later_records_equal_the_last_record_before_each_moment(world):
    """Today's states less the later transitions give what the last record before each
    moment gives, at every day of a history with returns, a second filing, a revocation,
    a creation after the moment, for a district and a commune, grouped under the
    communes before and after the 2025 reform (the villages moved)."""
    officer, appraiser, approver = world["officer"], world["appraiser"], world["approver"]
    d6 = world["ready"](officer, "na-tam-04")
    fire_event(officer, d6, "submit")
    fire_event(appraiser, d6, "return", "Thiếu biên bản họp thôn")
    fire_event(officer, d6, "submit")
    for entry in list(d6.current_criteria()):
        appraise_criterion(appraiser, d6, entry.code, "pass", None)
    fire_event(appraiser, d6, "appraise")
    fire_event(approver, d6, "recognize")
    fire_event(approver, d6, "revoke", "Không duy trì tiêu chí 7")
    retime(d6, [vn(2024, 8, 5, 9), vn(2024, 8, 12, 9), vn(2024, 9, 2, 9), vn(2024, 9, 20, 9), vn(2024, 10, 3, 9),
                vn(2024, 10, 8, 9), vn(2024, 10, 9, 9)])
    moments = [vn(2024, 8, 1) + timedelta(days=n) for n in range(0, 80, 3)] + [vn(2024, 9, 1, 0, 0)]
    checked = 0
    for user in (world["viewer"], officer):
        scope = scope_of(user, progress=True)
        for day in (date(2024, 9, 30), date(2025, 7, 15)):
            new = states_at(moments, scope, day)
            for moment, got in zip(moments, new, strict=True):
                assert got == states_by_last_record(moment, scope, day), (user.username, day, moment)
                checked += sum(got.values())
    assert checked > 100  # the comparisons saw dossiers, not empty dicts
    # Grouped under the new commune after the reform, under Nà Tăm before it.
    late = states_at([vn(2024, 10, 20)], scope_of(world["viewer"], progress=True), date(2025, 7, 15))[0]
    assert {p for (_k, p, _s) in late} != {p for (_k, p, _s) in states_at(
        [vn(2024, 10, 20)], scope_of(world["viewer"], progress=True), date(2024, 9, 30))[0]}
    chains_intact()


def test_moves_during_the_month(world):
    report = monthly_report(world["viewer"], "2024-09", TODAY)
    assert [(m.event, m.code) for m in report.moves] == [
        ("submit", db.session.get(Dossier, world["d"]["d3"]).code),     # 00:00 on 1/9
        ("submit", db.session.get(Dossier, world["d"]["d5"]).code),
        ("appraise", db.session.get(Dossier, world["d"]["d1"]).code),
        ("return", db.session.get(Dossier, world["d"]["d3"]).code),
        ("recognize", db.session.get(Dossier, world["d"]["d1"]).code),  # 23:59:58 on 30/9
    ]
    by_kind = {k.kind: {m.event: m.n for m in k.moves} for k in report.kinds}
    village = report.village_kind
    assert {e: n for e, n in by_kind[village].items() if n} == {"submit": 2, "return": 1, "recognize": 1, "appraise": 1}
    # Every kind's reported events are listed under that kind, even at zero, in its own words.
    others = [k for k in report.kinds if k.kind != village]
    assert others and all(m.n == 0 for k in others for m in k.moves)
    assert all(k.moves for k in report.kinds)
    accepts = {k.kind: m.label for k in report.kinds for m in k.moves if m.event == "accept"}
    assert len(accepts) >= 2 and len(set(accepts.values())) == len(accepts), accepts
    na_tam = next(c for c in report.communes if c.code == "na-tam")
    assert na_tam.moves == {"submit": 2, "appraise": 1, "return": 1, "recognize": 1}
    assert na_tam.end == {"draft": 1, "submitted": 1, "returned": 1, "recognized": 1}


def test_the_lists_show_a_bounded_first_part_and_the_counts_stay_whole(world, monkeypatch):
    whole = monthly_report(world["viewer"], "2024-09", TODAY, rows=None)
    part = monthly_report(world["viewer"], "2024-09", TODAY, rows=2)
    assert [m.code for m in part.moves] == [m.code for m in whole.moves][:2]
    assert part.moves_total == whole.moves_total == len(whole.moves) == 5
    assert [k.moves for k in part.kinds] == [k.moves for k in whole.kinds]
    assert [c.moves for c in part.communes] == [c.moves for c in whole.communes]
    assert [o.dossier_id for o in part.overdue] == [o.dossier_id for o in whole.overdue][:2]
    assert part.overdue_total == whole.overdue_total == 2
    assert part.overdue_counts == {"submitted": 1, "draft": 1}
    # The rest is one click away: pages of ROWS_SHOWN, together the whole list, in order.
    monkeypatch.setattr(report_module, "ROWS_SHOWN", 2)
    pages = [moves_page(world["viewer"], "2024-09", TODAY, n) for n in (1, 2, 3)]
    assert [p.pages for p in pages] == [3, 3, 3] and pages[0].total == 5
    assert [m.code for p in pages for m in p.rows] == [m.code for m in whole.moves]
    late = [overdue_page(world["viewer"], "2024-09", TODAY, n) for n in (1, 2)]
    assert [o.dossier_id for p in late for o in p.rows] == [o.dossier_id for o in whole.overdue]
    assert late[0].pages == 1 and late[1].rows == []
    one = overdue_summary(scope_of(world["viewer"], progress=True), TODAY, limit=1, offset=1)
    assert [o.dossier_id for o in one.rows] == [whole.overdue[1].dossier_id]


def test_the_report_costs_the_same_statements_however_many_moves_and_overdue(world):
    def count():
        db.session.expire_all()
        with statements() as seen:
            report = monthly_report(world["viewer"], "2024-09", TODAY)
        return len(seen), report

    before, small = count()
    officer, appraiser = world["officer"], world["appraiser"]
    for n in range(6, 9):  # three more dossiers filed in September, two of them returned
        d = world["ready"](officer, f"na-tam-0{n}")
        fire_event(officer, d, "submit")
        schedule = [vn(2024, 8, 20, 9), vn(2024, 9, 3, 9)]
        if n < 8:
            fire_event(appraiser, d, "return", "Bổ sung minh chứng")
            schedule.append(vn(2024, 9, 5, 9))
        retime(d, schedule)
    after, big = count()
    assert big.moves_total == small.moves_total + 5 and big.overdue_total == small.overdue_total + 1
    assert after == before, (before, after)


def test_overdue_dossiers_say_who_must_act_and_why(world):
    report = monthly_report(world["viewer"], "2024-09", TODAY)
    by_id = {o.dossier_id: o for o in report.overdue}
    d5 = db.session.get(Dossier, world["d"]["d5"])
    clock = step_clock(d5, TODAY)
    assert clock.overdue
    row = by_id[d5.id]
    assert (row.state, row.due_on, row.days_late, row.day_unit) == \
        ("submitted", clock.due_on, clock.days_late, "working")
    assert row.who == "cán bộ thẩm định của huyện"
    # D4: a draft after the 30/09 filing deadline, 15 calendar days late on 15/10.
    row = by_id[world["d"]["d4"]]
    assert (row.state, row.due_on, row.days_late, row.day_unit) == ("draft", date(2024, 9, 30), 15, "calendar")
    assert "30/09/2024" in row.why and row.who == "cán bộ UBND xã"
    # D2 was filed on 1/10: its 15 working days have not run out. D3 is with the village (no clock).
    assert set(by_id) == {d5.id, world["d"]["d4"]}
    assert report.overdue[0].days_late >= report.overdue[-1].days_late or report.overdue[0].day_unit != "calendar"


def test_members_reports_received_late_and_missing(world):
    report = monthly_report(world["viewer"], "2024-09", TODAY)
    assert [(r.member, r.commune, r.status) for r in report.reports] == [
        ("Lê Văn Hải", "Xã Giang Ma", "missing"),
        ("Phạm Thị Hoa", "Xã Sơn Bình", "late"),
        ("Lê Văn Hải", "Xã Nà Tăm", "on_time"),
    ]
    assert (report.reports_received, report.reports_late, report.reports_missing) == (2, 1, 1)
    assert all(r.due_on == date(2024, 9, 25) for r in report.reports)


def test_a_commune_officer_gets_their_commune_only(world):
    report = monthly_report(world["officer"], "2024-09", TODAY)
    assert [c.code for c in report.communes] == ["na-tam"]
    assert village(report)["draft"] == (1, 3, -2)  # D4 is in Giang Ma: not here
    assert [(r.commune, r.status) for r in report.reports] == [("Xã Nà Tăm", "on_time")]
    assert {o.dossier_id for o in report.overdue} == {world["d"]["d5"]}
    assert report.scope_name == "Xã Nà Tăm"


def test_members_reports_read_only_the_members_and_reports_in_scope(world, make_user):
    """A commune officer's report reads the members owning their commune and the reports
    filed for it, in SQL: members of other communes (a country has thousands) and their
    reports are never loaded, however many there are."""
    for n in range(5):
        other = make_user("viewer", "tam-duong", name=f"Thành viên {n}")
        db.session.add(CommitteeMember(user_id=other.id, title="", criteria={}, communes=["son-binh", "ban-bo"]))
        db.session.commit()
        file_report(other, "son-binh", "2024-09", "Sơn Bình", {}, now=vn(2024, 9, 20, 10))
    db.session.commit()
    officer_id = world["officer"].id
    db.session.expunge_all()
    officer = db.session.get(User, officer_id)
    loaded: dict[str, int] = {}

    def note(target, _context):
        loaded[type(target).__name__] = loaded.get(type(target).__name__, 0) + 1
    for model in (CommitteeMember, MonthlyReport):
        event.listen(model, "load", note)
    try:
        report = monthly_report(officer, "2024-09", TODAY)
    finally:
        for model in (CommitteeMember, MonthlyReport):
            event.remove(model, "load", note)
    assert loaded == {"CommitteeMember": 1, "MonthlyReport": 1}, loaded  # Lê Văn Hải and his Nà Tăm report
    assert [(r.member, r.commune, r.status) for r in report.reports] == [("Lê Văn Hải", "Xã Nà Tăm", "on_time")]


# ----------------------------------------------------------------------------- files

def test_the_workbook_holds_the_expected_sheets_and_figures(world):
    report = monthly_report(world["viewer"], "2024-09", TODAY)
    wb = load_workbook(io.BytesIO(monthly_xlsx(report)))
    assert tuple(wb.sheetnames) == MONTHLY_SHEETS
    assert {"Tổng hợp", "Theo xã", "Theo tiêu chí", "Hồ sơ quá hạn", "Báo cáo thành viên BCĐ"} <= set(wb.sheetnames)
    summary = list(wb["Tổng hợp"].iter_rows(min_row=3, values_only=True))
    village_rows = {r[1]: r[2:5] for r in summary if r[0] == "Hồ sơ công nhận bản đạt chuẩn nông thôn mới"}
    assert village_rows["Đang soạn"] == (1, 3, -2)
    assert village_rows["Đã công nhận"] == (1, 0, 1)
    assert village_rows["Cộng"] == (4, 4, 0)
    facts = {r[0]: r[1] for r in summary if r[0] and r[1] is not None and r[2] is None}
    assert facts["Hồ sơ quá hạn (ngày lập báo cáo)"] == 2
    assert facts["Báo cáo thành viên BCĐ đã nhận"] == 2
    assert facts["Báo cáo thành viên BCĐ chưa nộp (quá hạn)"] == 1
    overdue = list(wb["Hồ sơ quá hạn"].iter_rows(min_row=3, values_only=True))
    assert {r[0] for r in overdue} == {o.code for o in report.overdue}
    members = list(wb["Báo cáo thành viên BCĐ"].iter_rows(min_row=3, values_only=True))
    assert [(r[0], r[2], r[5]) for r in members] == [
        ("Lê Văn Hải", "Xã Giang Ma", "Chưa nộp (quá hạn)"), ("Phạm Thị Hoa", "Xã Sơn Bình", "Muộn"),
        ("Lê Văn Hải", "Xã Nà Tăm", "Đúng hạn")]
    by_commune = {r[0]: r for r in wb["Theo xã"].iter_rows(min_row=3, values_only=True)}
    headings = [c.value for c in wb["Theo xã"][2]]
    na_tam = dict(zip(headings, by_commune["Xã Nà Tăm"], strict=True))
    assert na_tam["Đã công nhận (cuối tháng)"] == 1 and na_tam["Công nhận và ban hành quyết định trong tháng"] == 1


def test_the_pdf_holds_the_month_and_the_totals(world, tmp_path):
    from workflow_app.pdf.printing import render_pdf

    report = monthly_report(world["viewer"], "2024-09", TODAY)
    pdf = render_pdf("pdf/monthly_report.html", monthly_pdf_context(report, "Hoàng Thị Lan"))
    path = tmp_path / "bao-cao.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "BÁO CÁO" in text and "Tiến độ xây dựng nông thôn mới tháng 09/2024" in text
    assert "ỦY BAN NHÂN DÂN" in text and "HUYỆN TAM ĐƯỜNG" in text
    assert "Tam Đường, ngày 15 tháng 10 năm 2024" in text
    # The village table's total row: 4 at the end of September, 4 at the end of August, change 0.
    assert re.search(r"Cộng\s+4\s+4\s+0", text)
    assert re.search(r"Đang soạn\s+1\s+3\s+-2", text)
    # Each kind's moves under its table, in its words (the line may wrap anywhere).
    assert re.search(r"Công\s+nhận\s+và\s+ban\s+hành\s+quyết\s+định:\s+1\s+lượt", text)
    assert "Chưa nộp, đã quá hạn: 1" in text
    assert "Nơi nhận:" in text and "Lưu: VT, NN." in text


# ----------------------------------------------------------------------------- pages

def login(app, user):
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": "pw-123456"}).status_code == 302
    return client


def test_pages_and_downloads(app, world):
    client = login(app, world["viewer"])
    r = client.get("/reports/monthly?month=2024-09")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "tháng 09/2024" in html and "<script" not in html and len(r.data) < 200 * 1024
    assert re.search(r'<tr data-state="draft">.*?<td data-n="end">1</td><td data-n="previous">3</td>', html, re.DOTALL)
    assert 'href="/reports/monthly.xlsx?month=2024-09"' in html and 'href="/reports/monthly.pdf?month=2024-09"' in html
    r = client.get("/reports/monthly.xlsx?month=2024-09")
    assert r.status_code == 200 and "bao-cao-tien-do-ntm-2024-09.xlsx" in r.headers["Content-Disposition"]
    assert tuple(load_workbook(io.BytesIO(r.data)).sheetnames) == MONTHLY_SHEETS
    r = client.get("/reports/monthly.pdf?month=2024-09")
    assert r.status_code == 200 and r.mimetype == "application/pdf" and r.data.startswith(b"%PDF")
    r = client.get("/reports/monthly/moves?month=2024-09&page=1")
    assert r.status_code == 200 and r.get_data(as_text=True).count('<tr data-event="') == 5
    r = client.get("/reports/monthly/overdue?month=2024-09")
    assert r.status_code == 200 and db.session.get(Dossier, world["d"]["d5"]).code in r.get_data(as_text=True)
    # The query-string rule (docs/security.md): out of range 400, not a whole number 422.
    for bad, status in (("0", 400), ("-1", 400), ("abc", 422), ("²", 422)):
        r = client.get(f"/reports/monthly/moves?month=2024-09&page={bad}")
        assert r.status_code == status and "'page'" in r.get_data(as_text=True).replace("&#39;", "'"), bad
    chains_intact()


@pytest.mark.parametrize("month", ["2024-13", "abc", "2024-9x", "9999-01"])
def test_bad_month_is_a_400_page(app, world, month):
    client = login(app, world["viewer"])
    for path in ("/reports/monthly", "/reports/monthly.xlsx", "/reports/monthly.pdf"):
        r = client.get(f"{path}?month={month}")
        assert r.status_code == 400, (path, month)
        assert "month=" in r.get_data(as_text=True)
