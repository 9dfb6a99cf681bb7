"""Step clocks: the pure core with known dates (returns, Tết), its properties
(Hypothesis), and the clock of real dossiers moved through the API, shown on the
work queue, the dossier list, the dossier page and in the JSON.

Pages and the JSON use today's date. To see a dossier late today, `backdate` moves its
whole recorded history back by some days and re-chains the hashes: the database then
holds exactly what it would if the dossier had been submitted that long ago (and
`flask audit verify` still passes)."""
from __future__ import annotations

from datetime import date, timedelta

from audit_helpers import rewrite_chain
from helpers import dossier_in, fire
from hypothesis import assume, given, settings, strategies as st

from workflow_app.clock import local_now
from workflow_app.extensions import db
from workflow_app.models import AuditRecord, Dossier
from workflow_app.services.core.clocks import clock_from_transitions, current_run, local_date, step_clock, step_clocks
from workflow_app.workdays import add_working_days, is_working_day, working_days_between
from workflow_app.workflow.definitions import TimeLimit

W15, W8, C10 = TimeLimit(15, "working"), TimeLimit(8, "working"), TimeLimit(10, "calendar")
PAUSED = frozenset({"returned"})  # the definitions' `pauses_clock: true` state


# ----------------------------------------------------------------------------- helpers

def backdate(dossier_id: int, days: int) -> None:
    """Move the dossier's recorded history `days` back and re-chain its hashes."""
    def earlier(rec: AuditRecord) -> None:
        rec.at = rec.at - timedelta(days=days)
    rewrite_chain(dossier_id, earlier)


def submitted_dossier(make_user, api_as, unit: str = "na-tam-01", year: int = 2024):
    """A village dossier submitted through the API by the commune officer."""
    officer = make_user("submitter", unit.rsplit("-", 1)[0])
    dossier = dossier_in(officer, unit, year, "draft")
    r = fire(api_as(officer), dossier.id, "submit")
    assert r.status_code == 200, r.json
    return db.session.get(Dossier, dossier.id)


def today() -> date:
    return local_now().date()


# ----------------------------------------------------------------------------- examples

def test_a_clock_starts_the_day_after_entry_and_counts_working_days():
    # Town: received Fri 30/8/2024; Quốc khánh break Sat 31/8 - Tue 3/9; 8 working days
    # (3 to form the council, 5 to vote): Wed 4/9 is day 1, Fri 13/9 day 8.
    t = [("draft", date(2024, 8, 1)), ("submitted", date(2024, 8, 30))]
    clock = clock_from_transitions(t, "submitted", W8, date(2024, 9, 4), paused=PAUSED)
    assert (clock.started_on, clock.due_on, clock.days_left, clock.overdue) == \
        (date(2024, 8, 30), date(2024, 9, 13), 7, False)
    assert clock_from_transitions(t, "submitted", W8, date(2024, 9, 13), paused=PAUSED).days_left == 0
    late = clock_from_transitions(t, "submitted", W8, date(2024, 9, 16), paused=PAUSED)
    assert late.overdue and late.days_left == -1 and late.days_late == 1
    # Sat 14/9, the day after the due date: late already, by at least one day.
    assert clock_from_transitions(t, "submitted", W8, date(2024, 9, 14), paused=PAUSED).days_left == -1


def test_tet_does_not_count():
    # Submitted Fri 24/1/2025; Tết 2025 is Sat 25/1 - Sun 2/2: day 1 is Mon 3/2, day 15 Fri 21/2.
    t = [("submitted", date(2025, 1, 24))]
    clock = clock_from_transitions(t, "submitted", W15, date(2025, 1, 31), paused=PAUSED)
    assert clock.due_on == date(2025, 2, 21)
    assert clock.days_left == 15  # nothing of the limit is used during Tết


def test_a_return_pauses_the_clock_and_resubmission_resumes_it():
    # 2024: submitted Mon 29/1, returned Thu 1/2, back Tue 20/2 (Tết 8-14/2 inside the pause).
    t = [("draft", date(2024, 1, 2)), ("submitted", date(2024, 1, 29)), ("returned", date(2024, 2, 1)),
         ("submitted", date(2024, 2, 20))]
    no_pause = clock_from_transitions(t[:2], "submitted", W15, date(2024, 1, 30), paused=PAUSED)
    assert no_pause.due_on == date(2024, 2, 26)
    clock = clock_from_transitions(t, "submitted", W15, date(2024, 3, 1), paused=PAUSED)
    # Paused working days: 1, 2, 5, 6, 7, 15, 16, 19 Feb = 8; 26/2 + 8 working days = 7/3.
    assert (clock.started_on, clock.paused_days, clock.due_on) == (date(2024, 1, 29), 8, date(2024, 3, 7))
    assert clock.days_left == 4 and not clock.overdue
    # While returned the submitted clock does not run at all.
    assert clock_from_transitions(t[:3], "submitted", W15, date(2024, 3, 1), paused=PAUSED) is None


def test_coming_back_from_a_later_state_starts_a_new_clock():
    t = [("submitted", date(2024, 3, 1)), ("appraised", date(2024, 3, 20)), ("returned", date(2024, 3, 22)),
         ("submitted", date(2024, 4, 1))]
    assert current_run(t, "submitted", paused=PAUSED) == (date(2024, 4, 1), [])
    # appraised -> returned -> submitted -> appraised: the appraised clock restarts too.
    t2 = t + [("appraised", date(2024, 4, 10))]
    assert current_run(t2, "appraised", paused=PAUSED) == (date(2024, 4, 10), [])


def test_calendar_days_and_the_next_working_day_rule():
    # 10 calendar days from Mon 26/8/2024 end on Thu 5/9; from Wed 21/8 they end on Sat 31/8,
    # inside the Quốc khánh break, so the limit runs to the next working day, Wed 4/9.
    assert clock_from_transitions([("submitted", date(2024, 8, 26))], "submitted", C10,
                                  date(2024, 9, 1), paused=PAUSED).due_on == date(2024, 9, 5)
    clock = clock_from_transitions([("submitted", date(2024, 8, 21))], "submitted", C10, date(2024, 9, 6),
                                   paused=PAUSED)
    assert clock.due_on == date(2024, 9, 4) and clock.days_left == -2 and clock.overdue


def test_an_apology_date_replaces_the_due_date_and_later_pauses_push_it():
    t = [("submitted", date(2024, 8, 30))]
    clock = clock_from_transitions(t, "submitted", W8, date(2024, 9, 20),
                                   apologies=[(date(2024, 9, 17), date(2024, 9, 25))], paused=PAUSED)
    assert (clock.due_on, clock.due_by_limit, clock.apology, clock.overdue) == \
        (date(2024, 9, 25), date(2024, 9, 13), date(2024, 9, 25), False)
    # An apology from an earlier run does not count.
    assert clock_from_transitions(t, "submitted", W8, date(2024, 9, 20),
                                  apologies=[(date(2024, 8, 1), date(2024, 8, 9))],
                                  paused=PAUSED).due_on == date(2024, 9, 13)
    # Returned for 3 working days after the apology: the new date moves 3 working days on.
    t2 = t + [("returned", date(2024, 9, 18)), ("submitted", date(2024, 9, 23))]
    clock = clock_from_transitions(t2, "submitted", W8, date(2024, 9, 24),
                                   apologies=[(date(2024, 9, 17), date(2024, 9, 25))], paused=PAUSED)
    assert clock.due_on == date(2024, 9, 30)


def test_due_soon_threshold_is_a_parameter():
    t = [("submitted", date(2024, 8, 30))]
    assert clock_from_transitions(t, "submitted", W8, date(2024, 9, 11), paused=PAUSED).due_soon  # 2 left
    assert not clock_from_transitions(t, "submitted", W8, date(2024, 9, 10), paused=PAUSED).due_soon  # 3 left
    assert clock_from_transitions(t, "submitted", W8, date(2024, 9, 10), due_soon_days=3, paused=PAUSED).due_soon


# ----------------------------------------------------------------------------- properties

days_2024_2026 = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 6, 30))


@settings(max_examples=150, deadline=None)
@given(start=days_2024_2026, limit=st.integers(1, 30), offset=st.integers(1, 30), k=st.integers(1, 20))
def test_a_pause_of_k_working_days_moves_due_on_by_exactly_k(start, limit, offset, k):
    lim = TimeLimit(limit, "working")
    due0 = clock_from_transitions([("submitted", start)], "submitted", lim, start, paused=PAUSED).due_on
    pause_from = add_working_days(start, min(offset, limit))  # a working day inside the run
    back = add_working_days(pause_from, k)  # [pause_from, back) holds exactly k working days
    assert working_days_between(pause_from - timedelta(days=1), back - timedelta(days=1)) == k
    t = [("submitted", start), ("returned", pause_from), ("submitted", back)]
    clock = clock_from_transitions(t, "submitted", lim, back, paused=PAUSED)
    assert working_days_between(due0, clock.due_on) == k
    assert clock.paused_days == k


@settings(max_examples=150, deadline=None)
@given(start=days_2024_2026, limit=st.integers(1, 30), offset=st.integers(0, 5), length=st.integers(1, 20))
def test_paused_days_are_exactly_what_the_pause_took_from_the_clock(start, limit, offset, length):
    # Pauses starting on the start day itself or on a weekend included: paused_days
    # is how far the due date moved, in working days.
    lim = TimeLimit(limit, "working")
    due0 = clock_from_transitions([("submitted", start)], "submitted", lim, start, paused=PAUSED).due_on
    pause_from = start + timedelta(days=offset)
    back = pause_from + timedelta(days=length)
    assume(pause_from <= due0)
    t = [("submitted", start), ("returned", pause_from), ("submitted", back)]
    clock = clock_from_transitions(t, "submitted", lim, back, paused=PAUSED)
    assert working_days_between(due0, clock.due_on) == clock.paused_days


@settings(max_examples=150, deadline=None)
@given(start=days_2024_2026, limit=st.integers(1, 30), day=st.integers(0, 60))
def test_days_left_drops_by_one_per_working_day_and_overdue_iff_past_due(start, limit, day):
    lim = TimeLimit(limit, "working")
    t = [("draft", start - timedelta(days=3)), ("submitted", start)]
    a = start + timedelta(days=day)
    assume(is_working_day(a))
    b = add_working_days(a, 1)
    ca, cb = (clock_from_transitions(t, "submitted", lim, x, paused=PAUSED) for x in (a, b))
    assert cb.days_left == ca.days_left - 1
    for c, x in ((ca, a), (cb, b)):
        assert c.overdue == (x > c.due_on)
        assert (c.days_left < 0) == c.overdue


@settings(max_examples=100, deadline=None)
@given(start=days_2024_2026, limit=st.integers(1, 60), day=st.integers(0, 90))
def test_calendar_clocks_count_calendar_days(start, limit, day):
    today_ = start + timedelta(days=day)
    c = clock_from_transitions([("submitted", start)], "submitted", TimeLimit(limit, "calendar"), today_, paused=PAUSED)
    assert c.days_left == (c.due_on - today_).days
    assert c.overdue == (today_ > c.due_on)


# ----------------------------------------------------------------------------- real dossiers

def test_step_clock_of_a_dossier_submitted_through_the_api(app, make_user, api_as):
    dossier = submitted_dossier(make_user, api_as)
    now = today()
    clock = step_clock(dossier, now)
    due = add_working_days(now, 15)
    assert (clock.state, clock.started_on, clock.due_on, clock.unit, clock.limit) == \
        ("submitted", now, due, "working", 15)
    assert clock.days_left == 15 and not clock.overdue and not clock.due_soon
    soon = step_clock(dossier, due)
    assert soon.days_left == 0 and soon.due_soon and not soon.overdue
    late = step_clock(dossier, add_working_days(due, 3))
    assert late.overdue and late.days_left == -3 and not late.due_soon
    # The app's setting decides "due soon".
    app.config["STEP_DUE_SOON_DAYS"] = 5
    assert step_clock(dossier, add_working_days(now, 10)).due_soon
    # Draft has no time limit; neither has a closed state.
    draft = dossier_in(make_user("submitter", "na-tam"), "na-tam-02", 2024, "draft")
    assert step_clock(draft) is None
    assert step_clocks([dossier, draft], now)[draft.id] is None


def test_a_return_pauses_a_real_dossier(app, make_user, api_as):
    dossier = submitted_dossier(make_user, api_as)
    appraiser = make_user("appraiser", "tam-duong")
    assert fire(api_as(appraiser), dossier.id, "return", "Bổ sung minh chứng tiêu chí 7").status_code == 200
    assert step_clock(dossier) is None  # returned: no limit, the submitted clock is paused
    # The return happened "12 days ago"; resubmitted today.
    backdate(dossier.id, 12)
    officer = db.session.get(Dossier, dossier.id).created_by
    assert fire(api_as(officer), dossier.id, "submit").status_code == 200
    clock = step_clock(db.session.get(Dossier, dossier.id))
    start = today() - timedelta(days=12)
    assert clock.started_on == start
    # Returned on the day it arrived: that day never counted, so the pause takes the
    # working days after it up to the day before resubmission.
    assert clock.paused_days == working_days_between(start, today() - timedelta(days=1))
    assert clock.due_on == add_working_days(start, 15 + clock.paused_days)


def _overdue_dossier(make_user, api_as, days: int = 40, unit: str = "na-tam-01"):
    dossier = submitted_dossier(make_user, api_as, unit)
    backdate(dossier.id, days)
    return db.session.get(Dossier, dossier.id)


def _login(app, make_user, role: str, unit: str):
    user = make_user(role, unit)
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": "pw-123456"})
    assert r.status_code == 302
    return client, user


def test_overdue_flags_on_queue_list_page_and_json(app, make_user, api_as):
    dossier = _overdue_dossier(make_user, api_as)
    clock = step_clock(dossier)
    assert clock.overdue and clock.days_late >= 1
    flag = f"Quá hạn {clock.days_late} ngày làm việc"
    client, appraiser = _login(app, make_user, "appraiser", "tam-duong")
    queue = client.get("/").get_data(as_text=True)
    assert dossier.code in queue and flag in queue
    listing = client.get(f"/dossiers?q={dossier.code}").get_data(as_text=True)
    assert flag in listing
    page = client.get(f"/dossiers/{dossier.id}").get_data(as_text=True)
    assert flag in page and 'id="clock"' in page
    # Filing: a 2024 village dossier filed today is late against 30/09/2024.
    late_by = (dossier_first_day(dossier) - date(2024, 9, 30)).days
    assert f"Hạn nộp 30/09/2024: nộp muộn {late_by} ngày" in page and "nộp muộn" in listing
    body = api_as(appraiser).get(f"/api/v1/dossiers/{dossier.id}").json
    assert body["clock"] == {
        "state": "submitted", "started_on": clock.started_on.isoformat(), "due_on": clock.due_on.isoformat(),
        "unit": "working", "limit": 15, "days_left": clock.days_left, "overdue": True, "due_soon": False,
        "paused_days": 0, "apology": None, "calendar_gap": None}
    assert body["filing"] == {"deadline": "2024-09-30", "days_left": -late_by,
                              "filed_on": dossier_first_day(dossier).isoformat(), "late": True}


def test_flags_in_english(app, make_user, api_as):
    # Its own test: flask-babel keeps the language's catalogue for the pushed app context,
    # so English is asked for before any Vietnamese page is drawn.
    dossier = _overdue_dossier(make_user, api_as)
    clock = step_clock(dossier)
    client, _ = _login(app, make_user, "appraiser", "tam-duong")
    client.get("/lang/en")
    for url in ("/", f"/dossiers?q={dossier.code}", f"/dossiers/{dossier.id}"):
        text = client.get(url).get_data(as_text=True)
        assert f"{clock.days_late} working days overdue" in text, url
        # Filed late is history: the queue shows only who is late now.
        assert ("Filing deadline 30/09/2024: filed" in text) == (url != "/"), url


def dossier_first_day(dossier) -> date:
    at = db.session.execute(db.select(AuditRecord.at).where(
        AuditRecord.dossier_id == dossier.id, AuditRecord.action == "submit")).scalars().first()
    return local_date(at)


def test_due_soon_flag_on_the_pages(app, make_user, api_as):
    dossier = submitted_dossier(make_user, api_as)
    now = today()
    for back in range(1, 40):  # the first start date that leaves 1 or 2 working days
        c = clock_from_transitions([("submitted", now - timedelta(days=back))], "submitted", W15, now, paused=PAUSED)
        if c.due_soon:
            break
    backdate(dossier.id, back)
    clock = step_clock(db.session.get(Dossier, dossier.id))
    assert clock.due_soon and clock.days_left in (1, 2)
    client, _ = _login(app, make_user, "appraiser", "tam-duong")
    for url in ("/", f"/dossiers?q={dossier.code}", f"/dossiers/{dossier.id}"):
        text = client.get(url).get_data(as_text=True)
        assert f"Sắp đến hạn — còn {clock.days_left} ngày làm việc" in text, url


def test_a_fresh_dossier_shows_days_left_and_a_draft_its_filing_days(app, make_user, api_as):
    dossier = submitted_dossier(make_user, api_as, year=2023)
    client, _ = _login(app, make_user, "viewer", "tam-duong")
    page = client.get(f"/dossiers/{dossier.id}").get_data(as_text=True)
    assert "Còn 15 ngày làm việc" in page
    assert "Hạn nộp" not in page  # no campaign file for 2023: no filing status, no error
    draft = dossier_in(make_user("submitter", "na-tam"), "na-tam-03", 2025, "draft")
    left = (date(2025, 9, 30) - today()).days
    text = client.get(f"/dossiers/{draft.id}").get_data(as_text=True)
    if left >= 0:
        assert f"Hạn nộp 30/09/2025: còn {left} ngày" in text
    else:
        assert f"Hạn nộp 30/09/2025: quá hạn nộp {-left} ngày" in text


def test_a_year_without_a_holiday_file_does_not_break_a_page(app, make_user, api_as, caplog):
    dossier = submitted_dossier(make_user, api_as)
    backdate(dossier.id, (today() - date(2019, 6, 3)).days)  # submitted in 2019: no holiday file
    clock = step_clock(db.session.get(Dossier, dossier.id))
    assert clock.calendar_gap == 2019 and clock.due_on is None and not clock.overdue
    assert "no deadline" in caplog.text
    client, appraiser = _login(app, make_user, "appraiser", "tam-duong")
    for url in ("/", f"/dossiers?q={dossier.code}", f"/dossiers/{dossier.id}"):
        r = client.get(url)
        assert r.status_code == 200 and "không tính được hạn (thiếu lịch nghỉ năm 2019)" in r.get_data(as_text=True)
    body = api_as(appraiser).get(f"/api/v1/dossiers/{dossier.id}").json
    assert body["clock"]["calendar_gap"] == 2019 and body["clock"]["due_on"] is None
    # And a date far ahead: the gap is named, nothing raises.
    assert step_clock(db.session.get(Dossier, dossier.id), date(2029, 1, 5)).calendar_gap == 2019


def test_backdating_keeps_the_audit_chain_valid(app, make_user, api_as):
    _overdue_dossier(make_user, api_as)
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
