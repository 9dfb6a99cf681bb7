"""A service's refusal is placed on the form by the stable `field` key it is raised
with, never by its wording: the view maps the key to the control on the page, and a
refusal without a key (or with one the page does not show) is in the summary only.
Every link in a summary goes to an element of the page."""
from __future__ import annotations

import html
import inspect
import itertools
import re
from datetime import timedelta

import pytest
import test_forms_keep_input as keep
from flask import request_finished
from test_clocks import _overdue_dossier, submitted_dossier
from test_committee import login, web  # noqa: F401  (the committee pages' app)
from test_forms_keep_input import assert_flagged, people  # noqa: F401  (a fixture of the tests re-run below)
from test_web_input import fingerprint, sign_in

from workflow_app.clock import local_now
from workflow_app.services.documents.apology import issue_apology
from workflow_app.workdays import add_working_days, is_working_day
from workflow_app.workflow.errors import RuleRefused

pytestmark = pytest.mark.db


def summary_of(page: str) -> str:
    """The error summary at the top of a refused form ("" when the page has none)."""
    m = re.search(r'<div class="flash error" role="alert"[^>]*>(.*?)</div>', page, re.DOTALL)
    return m.group(1) if m else ""


def assert_summary_links_have_targets(page: str) -> None:
    """Every href="#x" of the summary goes to a visible element id="x" of the same page."""
    for target in re.findall(r'href="#([^"]*)"', summary_of(page)):
        ident = re.escape(html.unescape(target))
        tag = re.search(rf'<[a-z]+\b[^>]*\bid="{ident}"[^>]*>', page)
        assert tag, f"the summary links to #{target}, which is not on the page"
        assert 'type="hidden"' not in tag.group(0), f"the summary links to a hidden input #{target}"


def test_the_link_check_refuses_a_link_to_nothing_or_to_a_hidden_input():
    summary = '<div class="flash error" role="alert" id="error"><ul><li><a href="#{0}">Sai</a></li></ul></div>'
    assert_summary_links_have_targets(summary.format("date") + '<input id="date" type="date">')
    for page in (summary.format("date"), summary.format("month") + '<input type="hidden" id="month" name="month">'):
        with pytest.raises(AssertionError):
            assert_summary_links_have_targets(page)


def summary_texts(page: str) -> list[tuple[str | None, str]]:
    """(link target or None, text) of each message in the summary."""
    out = []
    for item in re.findall(r"<li>(.*?)</li>", summary_of(page), re.DOTALL):
        m = re.fullmatch(r'<a href="#([^"]*)">(.*)</a>', item, re.DOTALL)
        out.append((m.group(1), html.unescape(m.group(2))) if m else (None, html.unescape(item)))
    return out


def refused(response, status: int) -> str:
    page = response.get_data(as_text=True)
    assert response.status_code == status, (response.status_code, page[:800])
    assert_summary_links_have_targets(page)
    return page


def next_saturday(after):
    day = after + timedelta(days=1)
    while day.weekday() != 5:
        day += timedelta(days=1)
    assert not is_working_day(day)
    return day


# ----------------------------------------------------------------------------- apology slip

def test_apology_on_a_dossier_not_late_is_said_in_the_summary_without_a_link(app, make_user, api_as):
    dossier = submitted_dossier(make_user, api_as)
    client = sign_in(app, make_user("appraiser", "tam-duong"))
    new = add_working_days(local_now().date(), 2).isoformat()
    before = fingerprint()
    page = refused(client.post(f"/dossiers/{dossier.id}/apology",
                               data={"new_date": new, "reason": "Hội đồng vắng", "confirm": "y"}), 422)
    assert fingerprint() == before
    # The message speaks of a date, yet concerns the dossier, not the date field (which is not on the page).
    [(target, text)] = summary_texts(page)
    assert target is None and text.startswith("Hồ sơ chưa quá hạn") and "là ngày" in text
    assert 'id="apology-new-date"' not in page and 'href="#apology-new-date"' not in page
    # A form refused by its own checks on a page that no longer shows the form: no link either.
    page = refused(client.post(f"/dossiers/{dossier.id}/apology", data={"new_date": "", "reason": ""}), 422)
    assert summary_texts(page) and all(target is None for target, _text in summary_texts(page))
    assert fingerprint() == before


def test_second_apology_is_409_in_the_summary_without_a_link(app, make_user, api_as):
    dossier = _overdue_dossier(make_user, api_as)
    appraiser = make_user("appraiser", "tam-duong")
    new = add_working_days(local_now().date(), 2)
    r = api_as(appraiser).post(f"/api/v1/dossiers/{dossier.id}/apology",
                               json={"new_date": new.isoformat(), "reason": "Hội đồng vắng"})
    assert r.status_code == 201, r.json
    client = sign_in(app, make_user("approver", "tam-duong"))
    page = refused(client.post(f"/dossiers/{dossier.id}/apology",
                               data={"new_date": add_working_days(new, 3).isoformat(), "reason": "Lý do",
                                     "confirm": "y"}), 409)
    [(target, text)] = summary_texts(page)
    assert target is None and "hẹn lại ngày" in text


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_refused_apology_dates_are_placed_at_the_date_field(app, make_user, api_as, lang):
    dossier = _overdue_dossier(make_user, api_as)
    client = sign_in(app, make_user("appraiser", "tam-duong"))
    if lang == "en":
        client.get("/lang/en")
    today = local_now().date()
    words = {"vi": ("không phải ngày làm việc", "không được quá một năm", "sau hôm nay"),
             "en": ("is not a working day", "within a year", "after today")}[lang]
    before = fingerprint()
    days = (next_saturday(today), add_working_days(today + timedelta(days=400), 1), today)
    for day, said in zip(days, words, strict=True):
        page = refused(client.post(f"/dossiers/{dossier.id}/apology",
                                   data={"new_date": day.isoformat(), "reason": "Hội đồng vắng", "confirm": "y"}), 422)
        assert_flagged(page, "apology-new-date", said)
        assert summary_texts(page)[0][0] == "apology-new-date"
        assert 'aria-invalid="true"' not in keep.control(page, "apology-reason")
    assert fingerprint() == before


def test_apology_refusals_carry_their_field_and_the_api_body_is_unchanged(app, make_user, api_as):
    dossier = _overdue_dossier(make_user, api_as)
    appraiser = make_user("appraiser", "tam-duong")
    new = add_working_days(local_now().date(), 2)
    with pytest.raises(RuleRefused) as refusal:
        issue_apology(appraiser, dossier, new, "   ")
    assert refusal.value.field == "reason"
    with pytest.raises(RuleRefused) as refusal:
        issue_apology(appraiser, dossier, next_saturday(local_now().date()), "Lý do")
    assert refusal.value.field == "new_date"
    r = api_as(appraiser).post(f"/api/v1/dossiers/{dossier.id}/apology",
                               json={"new_date": new.isoformat(), "reason": " "})
    assert r.status_code == 422 and set(r.json) == {"error"} and set(r.json["error"]) == {"code", "message"}
    late = submitted_dossier(make_user, api_as, "na-tam-02")
    with pytest.raises(RuleRefused) as refusal:
        issue_apology(appraiser, late, new, "Lý do")
    assert refusal.value.field is None  # the dossier is not late: no field to fix


# ----------------------------------------------------------------------------- steering committee

def test_committee_visit_with_a_bad_date_is_placed_at_its_date_field(web):  # noqa: F811 (the imported fixture)
    c = login(web, "hai")
    today = local_now().date()
    for day, said in (((today + timedelta(days=2)).isoformat(), "tương lai"), ("2019-12-31", "01/01/2020"),
                      ("31/02/2025", "Ngày đi cơ sở")):
        page = refused(c.post("/committee/visits", data={"commune": "na-tam", "visited_on": day, "notes": "Bản 05"}),
                       422)
        assert_flagged(page, "visited_on", said)
        assert keep.textarea(page, "notes") == "Bản 05"
    page = refused(c.post("/committee/visits", data={"commune": "na-tam", "visited_on": today.isoformat(),
                                                     "notes": "x" * 5001}), 422)
    assert_flagged(page, "notes", "vượt quá")
    c.get("/lang/en")
    page = refused(c.post("/committee/visits", data={"commune": "na-tam", "visited_on": "2019-12-31"}), 422)
    assert_flagged(page, "visited_on", "may not be before")


def test_committee_report_refusals_go_to_the_criterion_or_the_summary(web):  # noqa: F811
    c = login(web, "hai")
    today = local_now().date()
    month = today.strftime("%Y-%m")
    base = {"commune": "na-tam", "month": month, "body": "Tình hình tháng"}
    # A criterion without a status: at that criterion's status.
    page = refused(c.post("/committee/reports", data={**base, "status-village_ntm-1": "met"}), 422)
    assert_flagged(page, "status-village_ntm-2", "Chưa ghi tình trạng")
    # A status the page never offers: at that control too.
    page = refused(c.post("/committee/reports", data={**base, "status-village_ntm-1": "done",
                                                      "status-village_ntm-2": "met"}), 422)
    assert_flagged(page, "status-village_ntm-1", "phải là met")
    # A note too long: at the note.
    page = refused(c.post("/committee/reports", data={**base, "status-village_ntm-1": "met",
                                                      "status-village_ntm-2": "met", "note-village_ntm-2": "x" * 3000}),
                   422)
    assert_flagged(page, "note-village_ntm-2", "vượt quá")
    # A month that has not begun and a missing commune are hidden values: the summary says them, unlinked.
    later = (today.replace(day=1) + timedelta(days=40)).strftime("%Y-%m")
    page = refused(c.post("/committee/reports", data={**base, "month": later}), 422)
    [(target, text)] = summary_texts(page)
    assert target is None and "Chưa đến tháng" in text
    page = refused(c.post("/committee/reports", data={**base, "commune": ""}), 422)
    assert summary_texts(page) and all(target is None for target, _text in summary_texts(page))


# --------------------------------------------------------------------------- the refused pages of test_forms_keep_input

def _keep_cases():
    """Each test of test_forms_keep_input with each of its parameter sets."""
    for name, fn in vars(keep).items():
        if not (name.startswith("test_") and inspect.isfunction(fn)):
            continue
        grids = []
        for mark in getattr(fn, "pytestmark", []):
            if mark.name == "parametrize":
                argnames = mark.args[0]
                names = [n.strip() for n in argnames.split(",")] if isinstance(argnames, str) else list(argnames)
                grids.append([dict(zip(names, v if len(names) > 1 else (v,), strict=True)) for v in mark.args[1]])
        for i, combo in enumerate(itertools.product(*grids)):
            params = {k: v for d in combo for k, v in d.items()}
            yield pytest.param(name, params, id=f"{name}-{i}" if grids else name)


@pytest.mark.parametrize("name,params", list(_keep_cases()))
def test_every_summary_link_of_the_keep_input_pages_has_a_target(request, name, params):
    """The refused pages those tests produce (each response with 400/409/422 in HTML),
    checked here for links in the summary that go nowhere."""
    fn = getattr(keep, name)
    pages = []

    def seen(sender, response, **extra):
        if response.status_code in (400, 409, 422) and response.mimetype == "text/html":
            pages.append(response.get_data(as_text=True))

    request_finished.connect(seen)
    try:
        args = {arg: params[arg] if arg in params else request.getfixturevalue(arg)
                for arg in inspect.signature(fn).parameters}
        fn(**args)
    finally:
        request_finished.disconnect(seen)
    for page in pages:
        assert_summary_links_have_targets(page)
