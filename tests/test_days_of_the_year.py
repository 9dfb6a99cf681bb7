"""Every date rule, driven through the app on chosen days: each day of one whole
week, the last working day before Tết and the first after it, a make-up Saturday,
31 December and 1 January, a month whose 25th falls on a day off that runs into
the next month, and a month whose 25th falls on a weekend. Each day is run at
00:30 and at 23:30 Vietnam time, on either side of midnight UTC, so a rule that
counts days in the server's zone shows up here. The days are of the district era
(before the 2025 reform): the district appraises and its steering committee
reports monthly.

The clock is moved with time-machine; the API does the work (submissions, the
committee's monthly report, the apology slip) and the reminder run queues
messages. Expected values come from this file's own small calendar, read straight
from the holiday files, not from workflow_app.workdays."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
import time_machine
import yaml
from helpers import dossier_in, fire

from workflow_app.clock import VN_TZ
from workflow_app.extensions import db
from workflow_app.models.progress import OutboxMessage
from workflow_app.permissions import capacities
from workflow_app.services.committee.membership import load_committee
from workflow_app.services.core.campaigns import campaign_for
from workflow_app.services.core.common import engine
from workflow_app.services.notify.reminders import queue_reminders
from workflow_app.workdays import HOLIDAYS_DIR

ONE = timedelta(days=1)
WEEK = [date(2024, 12, 9) + timedelta(days=i) for i in range(7)]  # Monday to Sunday
DAYS = WEEK + [
    date(2025, 1, 24),   # Friday, the last working day before Tết Ất Tỵ (25/1-2/2)
    date(2025, 2, 3),    # Monday, the first working day after it
    date(2025, 4, 26),   # Saturday worked in exchange for Friday 2/5
    date(2024, 12, 31),  # Tuesday
    date(2025, 1, 1),    # Wednesday, Tết Dương lịch
    date(2025, 1, 25),   # Saturday 25th, first day off of Tết: January's reports are due on Monday 3/2
    date(2024, 5, 27),   # Monday, the monthly reports' due date of May 2024 (25th a Saturday)
    date(2024, 5, 28),   # Tuesday: a report filed today is late
]
TIMES = [time(0, 30), time(23, 30)]
LIMIT = 15  # working days of the village dossier's `submitted` step (states/village_ntm.yaml)
SOON = 2    # STEP_DUE_SOON_DAYS

COMMITTEE = """
members:
  - username: hai
    title: "Phó Trưởng phòng Kinh tế và Hạ tầng"
    criteria:
      village_ntm: ["1"]
    communes: [na-tam]
"""


# ----------------------------------------------------------------------------- the test's own calendar

def _holiday_files():
    off, extra = set(), set()
    for path in HOLIDAYS_DIR.glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for key, into in (("days_off", off), ("extra_working_days", extra)):
            for entry in data.get(key) or []:
                d = entry["from"]
                while d <= entry["to"]:
                    into.add(d)
                    d += ONE
    return off, extra


DAYS_OFF, MAKE_UP = _holiday_files()


def working(d: date) -> bool:
    return d in MAKE_UP or (d.weekday() < 5 and d not in DAYS_OFF)


def add_working(d: date, n: int) -> date:
    while n:
        d += ONE
        n -= working(d)
    return d


def back_working(d: date, n: int) -> date:
    """The day s with exactly n working days in (s, d]."""
    while n:
        n -= working(d)
        d -= ONE
    return d


def report_due(d: date) -> date:
    due = d.replace(day=25)
    while not working(due):
        due += ONE
    return due


def test_the_days_are_what_this_file_says():
    assert [working(d) for d in WEEK] == [True] * 5 + [False] * 2
    assert working(date(2025, 1, 24)) and not working(date(2025, 1, 25)) and working(date(2025, 2, 3))
    assert working(date(2025, 4, 26)) and not working(date(2024, 12, 31) + ONE)
    assert report_due(date(2025, 1, 1)) == date(2025, 2, 3)
    assert report_due(date(2024, 5, 1)) == date(2024, 5, 27)


# ----------------------------------------------------------------------------- driving the app

def at(d: date, hh: time) -> datetime:
    return datetime.combine(d, hh, VN_TZ)


@pytest.mark.parametrize("hh", TIMES, ids=["00h30", "23h30"])
@pytest.mark.parametrize("day", DAYS, ids=[d.isoformat() for d in DAYS])
def test_date_rules_on_the_day(app, make_user, api_as, tmp_path, day, hh):
    officer = make_user("submitter", "na-tam", email="xa@na-tam.test")
    appraiser = make_user("appraiser", "tam-duong", email="thamdinh@tam-duong.test")
    year = day.year

    def submitted_on(d: date, unit: str) -> int:
        with time_machine.travel(at(d, hh), tick=False):
            dossier = dossier_in(officer, unit, year, "draft")
            r = fire(api_as(officer), dossier.id, "submit")  # tokens are made on the day: they expire
            assert r.status_code == 200, r.json
            return dossier.id

    fresh = submitted_on(day, "na-tam-01")
    soon = submitted_on(back_working(day, LIMIT - SOON), "na-tam-02")
    late = submitted_on(back_working(day, LIMIT + 1), "na-tam-03")

    with time_machine.travel(at(day, hh), tick=False):
        as_appraiser = api_as(appraiser)
        # Step clock and filing deadline, as the API shows them on the day.
        body = as_appraiser.get(f"/api/v1/dossiers/{fresh}").json
        due = add_working(day, LIMIT)
        assert (body["clock"]["started_on"], body["clock"]["due_on"]) == (day.isoformat(), due.isoformat())
        assert (body["clock"]["days_left"], body["clock"]["overdue"]) == (LIMIT, False)
        campaign = campaign_for("village_ntm", year)
        if campaign is None:
            assert body["filing"] is None
        else:
            left = (campaign.deadline - day).days
            assert body["filing"] == {"deadline": campaign.deadline.isoformat(), "days_left": left,
                                      "filed_on": day.isoformat(), "late": left < 0}
        clock = as_appraiser.get(f"/api/v1/dossiers/{soon}").json["clock"]
        assert (clock["days_left"], clock["due_soon"], clock["overdue"]) == (SOON, True, False)
        clock = as_appraiser.get(f"/api/v1/dossiers/{late}").json["clock"]
        assert (clock["days_left"], clock["overdue"]) == (-1, True)

        # Reminders: the due-soon and the late dossier, not the fresh one; once a day.
        assert queue_reminders() > 0
        db.session.commit()
        sent = {(m.dossier_id, m.kind, m.day) for m in db.session.execute(db.select(OutboxMessage)).scalars()}
        assert {(d, k) for d, k, _ in sent} == {(soon, "due_soon"), (late, "overdue")}
        assert {on for _, _, on in sent} == {day}
        assert queue_reminders() == 0

        # Apology slip for the late step: the new date is after today and a working day.
        refused = as_appraiser.post(f"/api/v1/dossiers/{late}/apology",
                                    json={"new_date": day.isoformat(), "reason": "Thiếu thành viên hội đồng"})
        assert refused.status_code == 422
        tomorrow = day + ONE
        r = as_appraiser.post(f"/api/v1/dossiers/{late}/apology",
                              json={"new_date": tomorrow.isoformat(), "reason": "Thiếu thành viên hội đồng"})
        if working(tomorrow):
            assert r.status_code == 201, r.json
        else:
            assert r.status_code == 422 and tomorrow.strftime("%d/%m/%Y") in r.json["error"]["message"]
            new = add_working(day, 1)
            r = as_appraiser.post(f"/api/v1/dossiers/{late}/apology",
                                  json={"new_date": new.isoformat(), "reason": "Thiếu thành viên hội đồng"})
            assert r.status_code == 201, r.json
        assert r.json["symbol"] == "01/PXL-UBND"  # numbered in the year of the day
        assert as_appraiser.get(f"/api/v1/dossiers/{late}").json["clock"]["overdue"] is False

    # The committee's monthly report, filed on the day for the day's month.
    member = make_user("viewer", "na-tam", username="hai")
    path = tmp_path / "committee.yaml"
    path.write_text(COMMITTEE, encoding="utf-8")
    load_committee(path)
    db.session.commit()
    month = f"{day:%Y-%m}"
    with time_machine.travel(at(day, hh), tick=False):
        r = api_as(member).put(f"/api/v1/committee/reports/na-tam/{month}",
                               json={"body": "Tình hình tháng", "criteria": {"village_ntm": {"1": "met"}}})
        assert r.status_code == 200, r.json
        office = api_as(appraiser).get(f"/api/v1/committee/reports?month={month}").json
    assert office["due"] == report_due(day).isoformat()
    row = next(x for x in office["items"] if x["commune"]["code"] == "na-tam")
    assert row["status"] == ("late" if day > report_due(day) else "on_time")
    assert row["report"]["submitted_at"].startswith(day.isoformat())


def test_a_role_ends_with_its_units_last_day_in_vietnam(app, make_user, api_as):
    # At 00:30 on the next day in Vietnam it is still the last day in UTC: the role
    # must already have ended (the server's own date would keep it alive 7 hours).
    officer = make_user("submitter", "na-tam")
    appraiser = make_user("appraiser", "tam-duong")
    dossier = dossier_in(officer, "na-tam-01", 2024, "submitted")
    last_day = date(2025, 6, 20)  # a district-era day: the district's road is in force on both sides
    appraiser.roles[0].unit.valid_to = last_day
    db.session.commit()
    who = engine().definition_for("village_ntm", 2024, last_day).events["return"].by
    assert who == engine().definition_for("village_ntm", 2024, last_day + ONE).events["return"].by
    with time_machine.travel(at(last_day, time(23, 30)), tick=False):
        assert capacities(appraiser, dossier.unit, who)
    with time_machine.travel(at(last_day + ONE, time(0, 30)), tick=False):
        assert not capacities(appraiser, dossier.unit, who)
        r = fire(api_as(appraiser), dossier.id, "return", "Bổ sung minh chứng")
        assert r.status_code == 403, r.json
