"""The steering committee's work: each member (committee/membership.py) visits
the communes they own and files a monthly report per commune, due by the 25th;
the standing office (Phòng NN&PTNT) sees which reports are late or missing.

Decisions (docs/features.md, "Steering committee"):
- A report is due on the 25th of its month, inclusive; when the 25th is not a
  working day it is due on the next working day (Bộ luật Dân sự 2015, Điều 148
  khoản 5, as workdays.py's calendar-day limits). For a year without a holiday
  file only weekends move it.
- One report per member, commune and month. Filing again updates its content
  (`updated_at`) but never its first filing time (`submitted_at`): a report
  received on time stays on time when amended later, one first filed late
  stays late.
- A report's criteria are nested by dossier kind:
  {"<kind>": {"7": {"status": "in_progress", "note": "..."}}}; every
  criterion the member owns that applies to the commune needs a status.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func

from ... import workdays
from ...clock import as_stored, local_date, local_today
from ...extensions import db, on_postgresql
from ...formats import vn_date
from ...models import CommitteeMember, CommitteeVisit, MonthlyReport, Unit, User
from ...months import FIRST_DAY, check_in_range, first_day, parse_month, shift_month
from ...permissions import Scope as Subtree, in_scope, scope_clause
from ...workflow.errors import BadRequest, RuleRefused
from ..core.common import engine
from ..core.persist import flush_or_conflict
from .membership import Scope, member_of, my_scope, own_commune, require_office, units_of

STATUSES = ("met", "not_met", "in_progress")
DUE_DAY = 25
NOTES_MAX = 5000        # a visit's notes
BODY_MAX = 20000        # a report's text
CRITERION_NOTE_MAX = 1000


# ----------------------------------------------------------------------------- who











# ----------------------------------------------------------------------------- scope

















# ----------------------------------------------------------------------------- months

def due_date(month: str) -> date:
    """The 25th of the month, or the next working day when the 25th is a day off."""

    month = parse_month(month)
    first = first_day(month).replace(day=DUE_DAY)
    day = first
    try:
        while not workdays.is_working_day(day):
            day += timedelta(days=1)
        return day
    except workdays.CalendarGap:
        day = first  # no holiday file for that year: only weekends move it
        while day.weekday() >= 5:
            day += timedelta(days=1)
        return day


# ----------------------------------------------------------------------------- visits

def log_visit(user: User, commune_code: str, visited_on: date, notes: str | None,
              today: date | None = None) -> CommitteeVisit:
    """Record a site visit to one of the member's own communes."""
    member, unit = own_commune(user, commune_code)
    today = today or local_today()
    if not isinstance(visited_on, date) or isinstance(visited_on, datetime):
        raise BadRequest("Ngày đi cơ sở không hợp lệ: hãy ghi theo dạng NNNN-TT-NN.",
                         "The visit date is not valid: write it as YYYY-MM-DD.", field="visited_on")
    if visited_on > today:
        raise RuleRefused(f"Ngày đi cơ sở ({vn_date(visited_on)}) ở tương lai: chỉ ghi những chuyến đã đi.",
                          f"The visit date ({vn_date(visited_on)}) is in the future: log only visits made.",
                          field="visited_on")
    if visited_on < FIRST_DAY:
        raise RuleRefused(f"Ngày đi cơ sở không được trước {vn_date(FIRST_DAY)}.",
                          f"The visit date may not be before {vn_date(FIRST_DAY)}.",
                          field="visited_on")
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX:
        raise RuleRefused(f"Ghi chép dài {len(notes)} ký tự, vượt quá {NOTES_MAX}. Hãy rút gọn.",
                          f"The notes are {len(notes)} characters long, more than {NOTES_MAX}. Shorten them.",
                          field="notes")
    visit = CommitteeVisit(user_id=member.user_id, commune_id=unit.id, visited_on=visited_on, notes=notes)
    visit.commune = unit
    db.session.add(visit)
    db.session.flush()
    return visit


def recent_visits(user: User, limit: int = 20) -> list[CommitteeVisit]:
    return list(db.session.execute(
        db.select(CommitteeVisit).where(CommitteeVisit.user_id == user.id)
        .order_by(CommitteeVisit.visited_on.desc(), CommitteeVisit.id.desc()).limit(limit)).scalars())


@dataclass(frozen=True)
class VisitSummary:
    count: int
    last: date | None


def visits_in_month(month: str, scope: Subtree | None = None) -> dict[tuple[int, int], VisitSummary]:
    """(user id, commune id) -> visits in that month, to the communes in `scope` when
    given (a standing office's districts); (0, commune id) sums every member."""
    month = parse_month(month)
    start, end = first_day(month), first_day(shift_month(month, 1))
    rows = db.session.execute(
        db.select(CommitteeVisit.user_id, CommitteeVisit.commune_id, db.func.count(),
                  db.func.max(CommitteeVisit.visited_on))
        .where(CommitteeVisit.visited_on >= start, CommitteeVisit.visited_on < end,
               scope_clause(CommitteeVisit.commune_id, scope) if scope is not None else db.true())
        .group_by(CommitteeVisit.user_id, CommitteeVisit.commune_id)).all()
    out: dict[tuple[int, int], VisitSummary] = {}
    for user_id, commune_id, count, last in rows:
        out[(user_id, commune_id)] = VisitSummary(count, last)
        total = out.get((0, commune_id))
        out[(0, commune_id)] = VisitSummary((total.count if total else 0) + count,
                                            max(d for d in (last, total.last if total else None) if d))
    return out


# ----------------------------------------------------------------------------- reports

def criterion_field(kind: str, code: str, part: str) -> str:
    """The `field` of a refusal about one criterion's status or note in a report: the
    place of that value in the API's body (criteria_status.<kind>.<code>.<part>)."""
    return f"criteria_status.{kind}.{code}.{part}"


def _criteria_payload(scope: Scope, unit: Unit, criteria_status) -> dict:
    """Validate {kind: {code: {"status", "note"} | status}} against what the member
    owns for this commune; every owned criterion needs a status."""
    wanted = scope.criteria_for(unit)
    owned = {(c.kind, c.code): c for c in wanted}
    if criteria_status in (None, ""):
        criteria_status = {}
    if not isinstance(criteria_status, dict):
        raise BadRequest('Tình trạng tiêu chí phải có dạng {"<loại hồ sơ>": {"7": {"status": "met", "note": "..."}}}.',
                         'Criteria status must look like {"<dossier kind>": {"7": {"status": "met", "note": "..."}}}.')
    out: dict[str, dict] = {}
    for kind, entries in criteria_status.items():
        d = engine().definition(kind) if kind in engine().kinds() else None
        if d is None:
            raise RuleRefused(f"Không có loại hồ sơ '{kind}' (có: {engine().kind_labels(lang='vi')}).",
                              f"No dossier kind '{kind}' (known: {engine().kind_labels(lang='en')}).")
        if not isinstance(entries, dict):
            raise BadRequest(f"Tình trạng tiêu chí của '{kind}' phải là một bảng mã tiêu chí → tình trạng.",
                             f"The criteria status of '{kind}' must map criterion codes to a status.")
        for code, value in entries.items():
            code = str(code)
            criterion = d.criterion(code)
            if criterion is None:
                raise RuleRefused(f"{engine().kind_label(kind, 'vi')} không có tiêu chí mã '{code}'.",
                                  f"{engine().kind_label(kind, 'en')} has no criterion '{code}'.")
            if (kind, code) not in owned:
                raise RuleRefused(
                    f"Tiêu chí {code} ({criterion.name['vi']}) không thuộc phần bạn phụ trách ở {unit.name}.",
                    f"Criterion {code} ({criterion.name['en']}) is not one you report on for {unit.name}.")
            status, note = (value.get("status"), value.get("note")) if isinstance(value, dict) else (value, None)
            if status not in STATUSES:
                raise RuleRefused(
                    f"Tình trạng của tiêu chí {code} ({criterion.name['vi']}) phải là met (đạt), not_met (chưa đạt) "
                    "hoặc in_progress (đang thực hiện).",
                    f"The status of criterion {code} ({criterion.name['en']}) must be met, not_met or in_progress.",
                    field=criterion_field(kind, code, "status"))
            note = (str(note) if note is not None else "").strip()
            if len(note) > CRITERION_NOTE_MAX:
                raise RuleRefused(f"Ghi chú của tiêu chí {code} vượt quá {CRITERION_NOTE_MAX} ký tự.",
                                  f"The note of criterion {code} is longer than {CRITERION_NOTE_MAX} characters.",
                                  field=criterion_field(kind, code, "note"))
            out.setdefault(kind, {})[code] = {"status": status, "note": note}
    missing = [c for c in wanted if c.code not in out.get(c.kind, {})]
    if missing:
        names_vi = "; ".join(f"{c.code} ({c.name['vi']})" for c in missing)
        names_en = "; ".join(f"{c.code} ({c.name['en']})" for c in missing)
        raise RuleRefused(f"Chưa ghi tình trạng của tiêu chí: {names_vi}.",
                          f"No status given for criteria: {names_en}.",
                          field=criterion_field(missing[0].kind, missing[0].code, "status"))
    return out


def file_report(user: User, commune_code: str, month: str, body: str | None, criteria_status,
                now: datetime | None = None) -> MonthlyReport:
    """File (or amend) the member's report on one own commune for one month."""
    scope = my_scope(user)
    _member, unit = own_commune(user, commune_code)
    month = parse_month(month)
    stamp = as_stored(now)
    check_in_range(month, local_date(stamp), error=RuleRefused)
    body = (body or "").strip()
    if not body:
        raise RuleRefused("Báo cáo chưa có nội dung: hãy ghi tình hình của xã trong tháng.",
                          "The report is empty: write how the commune did this month.", field="body")
    if len(body) > BODY_MAX:
        raise RuleRefused(f"Nội dung báo cáo dài {len(body)} ký tự, vượt quá {BODY_MAX}. Hãy rút gọn.",
                          f"The report is {len(body)} characters long, more than {BODY_MAX}. Shorten it.",
                          field="body")
    criteria = _criteria_payload(scope, unit, criteria_status)
    report = find_report(user, unit, month)
    if report is None:
        report = MonthlyReport(user_id=user.id, commune_id=unit.id, month=month, submitted_at=stamp)
        report.commune = unit
        db.session.add(report)
    report.body, report.criteria, report.updated_at = body, criteria, stamp
    flush_or_conflict()  # two first filings at once: one wins, the other gets 409
    return report


def find_report(user: User, commune: Unit, month: str) -> MonthlyReport | None:
    return db.session.execute(db.select(MonthlyReport).where(
        MonthlyReport.user_id == user.id, MonthlyReport.commune_id == commune.id,
        MonthlyReport.month == month)).scalar_one_or_none()


def is_late(report: MonthlyReport) -> bool:
    return local_date(report.submitted_at) > due_date(report.month)


@dataclass(frozen=True)
class ReportRow:
    """One member × commune for a month. `late`: filed after the due date;
    `missing`: not filed and the due date has passed; neither: on time, or
    still pending (not filed, not yet due)."""

    member: CommitteeMember | None  # None: the report of someone no longer responsible for this commune
    user: User
    commune: Unit
    report: MonthlyReport | None
    due: date
    late: bool
    missing: bool

    @property
    def pending(self) -> bool:
        return self.report is None and not self.missing

    @property
    def status(self) -> str:
        """on_time | late | missing | pending"""
        if self.report is not None:
            return "late" if self.late else "on_time"
        return "missing" if self.missing else "pending"

    @property
    def filed_on(self) -> date | None:
        return local_date(self.report.submitted_at) if self.report else None


def report_status(month: str, today: date, scope: Subtree | None = None) -> list[ReportRow]:
    """Every member × owned commune for the month (plus reports filed for it by
    people who no longer own that commune), ordered by member name then commune.
    `scope`: read only the members owning a commune in it and the reports filed for
    its communes (selected in SQL: a district's report does not read the country's
    committees); rows on their other communes remain for the caller to drop."""
    month = parse_month(month)
    due = due_date(month)
    filed = db.select(MonthlyReport).where(MonthlyReport.month == month)
    owners = db.select(CommitteeMember)
    if scope is not None:
        filed = filed.where(scope_clause(MonthlyReport.commune_id, scope))
        owners = owners.where(_owns_one_of(scope))
    reports = {(r.user_id, r.commune_id): r for r in db.session.execute(filed).scalars()}
    members = list(db.session.execute(owners).scalars())
    units = {u.code: u for u in units_of(sorted({c for m in members for c in (m.communes or [])}))}
    rows, seen = [], set()

    def row(member, user, unit, report):
        late = report is not None and local_date(report.submitted_at) > due
        return ReportRow(member=member, user=user, commune=unit, report=report, due=due, late=late,
                         missing=report is None and today > due)

    for m in members:
        for code in m.communes or []:
            unit = units.get(code)
            if unit is None or (m.user_id, unit.id) in seen:
                continue
            seen.add((m.user_id, unit.id))
            rows.append(row(m, m.user, unit, reports.get((m.user_id, unit.id))))
    for key, report in reports.items():
        if key not in seen:
            rows.append(row(None, report.user, report.commune, report))
    rows.sort(key=lambda r: (r.user.name, r.user.username, r.commune.name))
    return rows


def _owns_one_of(scope: Subtree):
    """SQL: the member's list of commune codes holds a unit in `scope` (the JSON list
    expanded by the database's own function: json_each on SQLite,
    json_array_elements_text on PostgreSQL)."""
    if on_postgresql():
        codes = func.json_array_elements_text(CommitteeMember.communes).table_valued("value")
    else:
        codes = func.json_each(CommitteeMember.communes).table_valued("value")
    return db.exists(db.select(Unit.id).select_from(codes).join(Unit, Unit.code == codes.c.value)
                     .where(scope_clause(Unit.id, scope)))


def office_status(user: User, month: str, today: date) -> list[ReportRow]:
    """report_status limited to the communes of the standing office's district(s); 403 for others."""
    office = office_scope(user)
    return [r for r in report_status(month, today) if in_scope(office, r.commune)]


def office_scope(user: User) -> Subtree:
    """The subtrees of the standing office's district(s), in every period; 403 for others."""
    return Subtree.of_units(require_office(user))


def my_reports(user: User, limit: int = 24) -> list[ReportRow]:
    """The member's own reports, newest month first, each with its due date and lateness."""
    member = member_of(user)
    reports = db.session.execute(db.select(MonthlyReport).where(MonthlyReport.user_id == user.id)
                                 .order_by(MonthlyReport.month.desc(), MonthlyReport.id).limit(limit)).scalars()
    out = []
    for r in reports:
        due = due_date(r.month)
        out.append(ReportRow(member=member, user=user, commune=r.commune, report=r, due=due,
                             late=local_date(r.submitted_at) > due, missing=False))
    return out


def counts(rows: list[ReportRow]) -> dict[str, int]:
    out = {"on_time": 0, "late": 0, "missing": 0, "pending": 0}
    for r in rows:
        out[r.status] += 1
    out["received"] = out["on_time"] + out["late"]
    out["total"] = len(rows)
    return out


# ----------------------------------------------------------------------------- membership file







