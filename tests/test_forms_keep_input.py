"""A refused form comes back: 422 (409 when someone changed the dossier first), what was
typed kept in every field (the other rows of a multi-row form too), the message next to
the field it concerns (aria-invalid, aria-describedby), a summary at the top
(role="alert", links to the fields), and nothing in the database changed."""
from __future__ import annotations

import html
import re
from datetime import timedelta

import frozen_clock
import pytest
import time_machine
from helpers import dossier_in
from test_committee import web  # noqa: F401  (the committee pages' app)
from test_web_input import fingerprint, sign_in

from workflow_app.extensions import db
from workflow_app.models import Dossier
from workflow_app.services import create_dossier

YEAR = frozen_clock.YEAR


def page_of(response, status: int) -> str:
    text = response.get_data(as_text=True)
    assert response.status_code == status, (response.status_code, text[:800])
    return text


def control(text: str, ident: str) -> str:
    """The HTML of the control with this id (input, select or textarea, with its content)."""
    m = re.search(rf'<(select|textarea)[^>]*\bid="{re.escape(ident)}"[^>]*>.*?</\1>', text, re.DOTALL) \
        or re.search(rf'<input[^>]*\bid="{re.escape(ident)}"[^>]*>', text)
    assert m, f"no control #{ident}"
    return m.group(0)


def selected(text: str, ident: str) -> str:
    for option in re.findall(r"<option[^>]*>", control(text, ident)):
        if re.search(r"\sselected\b", option):
            return re.search(r'value="([^"]*)"', option).group(1)
    return ""


def textarea(text: str, ident: str) -> str:
    """A textarea's content as a browser reads it (one leading line break is dropped)."""
    inner = re.sub(r"^<textarea[^>]*>|</textarea>$", "", control(text, ident))
    return html.unescape(re.sub(r"^\r?\n", "", inner))


def value(text: str, ident: str) -> str:
    m = re.search(r'\bvalue="([^"]*)"', control(text, ident))
    return html.unescape(m.group(1)) if m else ""


def assert_flagged(text: str, ident: str, words: str) -> None:
    """The message sits at the field: aria-invalid, aria-describedby to the message that says `words`,
    and the summary at the top links to the field."""
    tag = control(text, ident)
    assert 'aria-invalid="true"' in tag and f'aria-describedby="{ident}-error"' in tag, tag
    m = re.search(rf'id="{re.escape(ident)}-error">([^<]*)<', text)
    assert m and words in html.unescape(m.group(1)), (m and m.group(1), words)
    summary = re.search(r'role="alert"[^>]*>(.*?)</div>', text, re.DOTALL)
    assert summary and f'href="#{ident}"' in summary.group(1), summary and summary.group(1)


def assert_no_internal_words(text: str) -> None:
    """What a person can read: hidden inputs (a random CSRF token may spell ".py") and the
    attributes that only wire controls together are left out."""
    shown = re.sub(r'<input[^>]*type="hidden"[^>]*>', "", text)
    shown = re.sub(r'(id|name|for|href|aria-describedby)="[^"]*"', "", shown)
    for word in ("phiên bản", "RuleRefused", "GuardFailed", "Traceback", "field-", "verdict-", ".py"):
        assert word not in shown, word


@pytest.fixture
def people(app, make_user):
    class People:
        submitter = make_user("submitter", "na-tam")
        appraiser = make_user("appraiser", "tam-duong")
        approver = make_user("approver", "tam-duong")
    return People


def clear_verdicts(dossier: Dossier) -> None:
    for entry in dossier.current_criteria():
        entry.verdict = entry.verdict_note = None
    db.session.commit()


# --------------------------------------------------------------------------- appraisal

def test_appraisal_with_a_failed_verdict_and_no_note_keeps_every_row(app, people):
    dossier = dossier_in(people.submitter, "na-tam-01", YEAR, "submitted")
    clear_verdicts(dossier)
    codes = [e.code for e in dossier.current_criteria()]
    assert len(codes) >= 8
    client = sign_in(app, people.appraiser)
    form = {"version": str(dossier.version)}
    for i, code in enumerate(codes):
        form[f"verdict-{code}"] = "pass"
        form[f"note-{code}"] = f"Đã kiểm tra thực địa {i}"
    bad = codes[6]  # row 7: a failed verdict without a note
    form[f"verdict-{bad}"], form[f"note-{bad}"] = "fail", ""
    before = fingerprint()
    text = page_of(client.post(f"/dossiers/{dossier.id}/appraisal", data=form), 422)
    assert fingerprint() == before  # rows 1-6 were not saved either
    for i, code in enumerate(codes):
        assert selected(text, f"verdict-{code}") == ("fail" if code == bad else "pass")
        assert textarea(text, f"note-{code}") == ("" if code == bad else f"Đã kiểm tra thực địa {i}")
    assert_flagged(text, f"note-{bad}", "cần ghi rõ lý do")
    assert f'name="version" value="{dossier.version}"' in text  # the version of the page that was read
    assert_no_internal_words(text)
    # Fixed and sent again: all saved.
    form[f"note-{bad}"] = "Thiếu biên bản nghiệm thu"
    r = client.post(f"/dossiers/{dossier.id}/appraisal", data=form)
    assert r.status_code == 302
    saved = {e.code: (e.verdict, e.verdict_note) for e in db.session.get(Dossier, dossier.id).current_criteria()}
    assert saved[bad] == ("fail", "Thiếu biên bản nghiệm thu") and saved[codes[0]] == ("pass", "Đã kiểm tra thực địa 0")


def test_appraisal_after_someone_else_changed_the_dossier_is_409_with_input_kept(app, people, make_user):
    dossier = dossier_in(people.submitter, "na-tam-01", YEAR, "submitted")
    clear_verdicts(dossier)
    codes = [e.code for e in dossier.current_criteria()]
    client = sign_in(app, people.appraiser)
    seen = dossier.version
    # A colleague saves a verdict first.
    other = sign_in(app, make_user("appraiser", "tam-duong"))
    r = other.post(f"/dossiers/{dossier.id}/appraisal", data={"version": str(seen), f"verdict-{codes[0]}": "pass"})
    assert r.status_code == 302
    form = {"version": str(seen), f"verdict-{codes[1]}": "fail", f"note-{codes[1]}": "Đường chưa cứng hóa"}
    before = fingerprint()
    text = page_of(client.post(f"/dossiers/{dossier.id}/appraisal", data=form), 409)
    assert fingerprint() == before
    assert "Người khác đã thay đổi hồ sơ này trong lúc bạn đang xem" in text
    assert selected(text, f"verdict-{codes[1]}") == "fail"
    assert textarea(text, f"note-{codes[1]}") == "Đường chưa cứng hóa"
    assert 'role="alert"' in text
    assert_no_internal_words(text)
    # The form now carries the version shown, so a second save is a deliberate one.
    current = db.session.get(Dossier, dossier.id).version
    assert f'name="version" value="{current}"' in text


# --------------------------------------------------------------------------- self-assessment

def test_self_assessment_refused_keeps_every_row(app, people, make_user):
    preparer = make_user("preparer", "na-tam-02")
    dossier = create_dossier(people.submitter, "village_ntm", "na-tam-02", YEAR)
    db.session.commit()
    codes = [e.code for e in dossier.current_criteria()]
    client = sign_in(app, preparer)
    form = {"version": str(dossier.version)}
    for i, code in enumerate(codes):
        form[f"sa-{code}"], form[f"note-{code}"] = "met", f"Ghi chú {i}"
    form[f"sa-{codes[4]}"] = "maybe"  # not a choice the page offers: malformed (400), yet shown on the form
    before = fingerprint()
    text = page_of(client.post(f"/dossiers/{dossier.id}/self-assessment", data=form), 400)
    assert fingerprint() == before
    for i, code in enumerate(codes):
        assert textarea(text, f"note-{code}") == f"Ghi chú {i}"
        if code != codes[4]:
            assert selected(text, f"sa-{code}") == "met"
    assert_flagged(text, f"sa-{codes[4]}", "Tự đánh giá")


# --------------------------------------------------------------------------- fields

def test_fields_refused_keep_what_was_typed(app, make_user):
    preparer = make_user("preparer", "tt-tam-duong")
    dossier = create_dossier(preparer, "town_civilized", "tt-tam-duong", YEAR)
    db.session.commit()
    client = sign_in(app, preparer)
    before = fingerprint()
    r = client.post(f"/dossiers/{dossier.id}/fields",
                    data={"version": str(dossier.version), "field-resident_satisfaction_pct": "chín mươi"})
    text = page_of(r, 422)
    assert fingerprint() == before
    assert value(text, "field-resident_satisfaction_pct") == "chín mươi"
    assert_flagged(text, "field-resident_satisfaction_pct", "chữ số")
    assert_no_internal_words(text)
    # Out of the field's range: the service's refusal, placed at the field.
    r = client.post(f"/dossiers/{dossier.id}/fields",
                    data={"version": str(dossier.version), "field-resident_satisfaction_pct": "120"})
    text = page_of(r, 422)
    assert fingerprint() == before
    assert value(text, "field-resident_satisfaction_pct") == "120"
    assert_flagged(text, "field-resident_satisfaction_pct", "0")


# --------------------------------------------------------------------------- saving again after a conflict

def form_as_sent(text: str) -> dict[str, str]:
    """What a browser sends from the page's save form as it stands: each named input (the hidden
    version and was- values too), the option selected in each select, each textarea's content."""
    form = next(f for f in re.findall(r"<form[^>]*>.*?</form>", text, re.DOTALL) if 'name="version"' in f)
    sent = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name, val = re.search(r'\bname="([^"]*)"', tag), re.search(r'\bvalue="([^"]*)"', tag)
        if name:
            sent[html.unescape(name.group(1))] = html.unescape(val.group(1)) if val else ""
    for kind, ident in re.findall(r'<(select|textarea)[^>]*\bid="([^"]*)"', form):
        sent[ident] = selected(form, ident) if kind == "select" else textarea(form, ident)
    return sent


def stored_row(dossier_id: int, code: str) -> tuple:
    db.session.expire_all()
    return next((e.verdict, e.verdict_note) for e in db.session.get(Dossier, dossier_id).current_criteria()
                if e.code == code)


def test_appraisal_saved_again_after_a_conflict_keeps_the_colleagues_rows(app, people, make_user):
    dossier = dossier_in(people.submitter, "na-tam-01", YEAR, "submitted")  # every verdict "pass"
    one, two = [e.code for e in dossier.current_criteria()][:2]
    a = sign_in(app, people.appraiser)
    b = sign_in(app, make_user("appraiser", "tam-duong"))
    opened = form_as_sent(page_of(a.get(f"/dossiers/{dossier.id}/appraisal"), 200))
    assert opened["version"] == str(dossier.version)
    assert opened[f"was-verdict-{two}"] == opened[f"verdict-{two}"] == "pass"
    # B records criterion 2 as failed while A's page is open.
    b_page = form_as_sent(page_of(b.get(f"/dossiers/{dossier.id}/appraisal"), 200))
    b_page[f"verdict-{two}"], b_page[f"note-{two}"] = "fail", "Thiếu biên bản nghiệm thu (B)"
    assert b.post(f"/dossiers/{dossier.id}/appraisal", data=b_page).status_code == 302
    # A changes criterion 1 only; criterion 2 still shows the "pass" A's page was loaded with.
    sent = dict(opened)
    sent[f"verdict-{one}"], sent[f"note-{one}"] = "fail", "Đường trục chưa cứng hóa (A)"
    before = fingerprint()
    text = page_of(a.post(f"/dossiers/{dossier.id}/appraisal", data=sent), 409)
    assert fingerprint() == before
    again = form_as_sent(text)
    # The row A did not touch shows what B stored, with no conflict mark at it.
    assert again[f"verdict-{two}"] == "fail" and again[f"note-{two}"] == "Thiếu biên bản nghiệm thu (B)"
    fieldset_two = re.search(rf'<fieldset class="crit">\s*<legend><strong>{two}\..*?</fieldset>',
                             text, re.DOTALL).group(0)
    assert "Đang lưu trong hồ sơ" not in fieldset_two
    # The row A changed keeps what was typed, marked against what is stored.
    assert again[f"verdict-{one}"] == "fail" and again[f"note-{one}"] == "Đường trục chưa cứng hóa (A)"
    fieldset_one = re.search(rf'<fieldset class="crit">\s*<legend><strong>{one}\..*?</fieldset>',
                             text, re.DOTALL).group(0)
    assert "Đang lưu trong hồ sơ" in fieldset_one
    assert again[f"was-verdict-{one}"] == "pass"  # what is stored: saving again is a deliberate overwrite
    assert again["version"] == str(db.session.get(Dossier, dossier.id).version)
    # A saves that page: A's criterion 1 and B's criterion 2.
    assert a.post(f"/dossiers/{dossier.id}/appraisal", data=again).status_code == 302
    assert stored_row(dossier.id, one) == ("fail", "Đường trục chưa cứng hóa (A)")
    assert stored_row(dossier.id, two) == ("fail", "Thiếu biên bản nghiệm thu (B)")


def test_appraisal_posted_without_was_values_compares_with_what_is_stored(app, people):
    """A page opened before the form carried was- values: a row differing from what is stored is saved."""
    dossier = dossier_in(people.submitter, "na-tam-01", YEAR, "submitted")
    code = dossier.current_criteria()[0].code
    a = sign_in(app, people.appraiser)
    r = a.post(f"/dossiers/{dossier.id}/appraisal",
               data={"version": str(dossier.version), f"verdict-{code}": "fail", f"note-{code}": "Thiếu ảnh"})
    assert r.status_code == 302
    assert stored_row(dossier.id, code) == ("fail", "Thiếu ảnh")


def test_fields_saved_again_after_a_conflict_keep_the_colleagues_field(app, make_user):
    preparer = make_user("preparer", "tt-tam-duong")
    submitter = make_user("submitter", "tt-tam-duong")
    dossier = create_dossier(preparer, "town_civilized", "tt-tam-duong", YEAR)
    db.session.commit()
    b, a = sign_in(app, preparer), sign_in(app, submitter)
    url = f"/dossiers/{dossier.id}/fields"
    first = form_as_sent(page_of(b.get(url), 200))
    first["field-resident_satisfaction_pct"] = "80"
    assert b.post(url, data=first).status_code == 302
    opened = form_as_sent(page_of(a.get(url), 200))
    assert opened["was-field-resident_satisfaction_pct"] == opened["field-resident_satisfaction_pct"] == "80"
    # B corrects the satisfaction rate while A's page is open.
    b_page = form_as_sent(page_of(b.get(url), 200))
    b_page["field-resident_satisfaction_pct"] = "92,5"
    assert b.post(url, data=b_page).status_code == 302
    # A fills in the cover request only; the rate still shows the 80 A's page was loaded with.
    sent = dict(opened)
    sent["field-request_ref"] = "Tờ trình số 7/TTr-UBND"
    before = fingerprint()
    text = page_of(a.post(url, data=sent), 409)
    assert fingerprint() == before
    again = form_as_sent(text)
    assert again["field-resident_satisfaction_pct"] == "92,5"  # what B stored, not A's stale 80
    assert again["field-request_ref"] == "Tờ trình số 7/TTr-UBND"
    assert text.count("Đang lưu trong hồ sơ:") == 1  # at the field A changed only
    assert again["was-field-request_ref"] == ""
    assert a.post(url, data=again).status_code == 302
    db.session.expire_all()
    assert db.session.get(Dossier, dossier.id).fields == {"resident_satisfaction_pct": 92.5,
                                                          "request_ref": "Tờ trình số 7/TTr-UBND"}


# --------------------------------------------------------------------------- new dossier

def test_new_dossier_that_already_exists_is_409_with_choices_kept(app, people, make_user):
    create_dossier(people.submitter, "village_ntm", "na-tam-03", YEAR)
    db.session.commit()
    client = sign_in(app, people.submitter)
    before = fingerprint()
    r = client.post("/dossiers/new", data={"kind": "village_ntm", "unit": "na-tam-03", "year": str(YEAR)})
    text = page_of(r, 409)
    assert fingerprint() == before
    assert selected(text, "unit") == "na-tam-03" and selected(text, "year") == str(YEAR)
    assert "Đã có một hồ sơ đang mở" in text and 'role="alert"' in text
    # A year left out: named at its field.
    text = page_of(client.post("/dossiers/new", data={"kind": "village_ntm", "unit": "na-tam-04", "year": ""}), 422)
    assert fingerprint() == before
    assert selected(text, "unit") == "na-tam-04"
    assert_flagged(text, "year", "Năm")


# --------------------------------------------------------------------------- events on the dossier page

def test_return_without_reason_keeps_the_page_and_says_where(app, people):
    dossier = dossier_in(people.submitter, "na-tam-01", YEAR, "submitted")
    client = sign_in(app, people.appraiser)
    before = fingerprint()
    r = client.post(f"/dossiers/{dossier.id}/events",
                    data={"event": "return", "version": str(dossier.version), "comment": "  ", "confirm": "y"})
    text = page_of(r, 422)
    assert fingerprint() == before
    assert_flagged(text, "comment-return", "lý do")
    assert 'checked' in control(text, "confirm-return")
    assert_no_internal_words(text)


def test_event_without_confirmation_keeps_the_comment(app, people):
    dossier = dossier_in(people.submitter, "na-tam-01", YEAR, "submitted")
    client = sign_in(app, people.appraiser)
    before = fingerprint()
    r = client.post(f"/dossiers/{dossier.id}/events",
                    data={"event": "return", "version": str(dossier.version),
                          "comment": "Thiếu biên bản họp dân\nThiếu ảnh"})
    text = page_of(r, 422)
    assert fingerprint() == before
    assert textarea(text, "comment-return") == "Thiếu biên bản họp dân\nThiếu ảnh"
    assert_flagged(text, "confirm-return", "xác nhận")


def test_event_on_a_changed_dossier_is_409_in_plain_words(app, people):
    dossier = dossier_in(people.submitter, "na-tam-01", YEAR, "appraised")
    client = sign_in(app, people.approver)
    r = client.post(f"/dossiers/{dossier.id}/events",
                    data={"event": "reject", "version": str(dossier.version - 1), "comment": "Không đủ điều kiện",
                          "confirm": "y"})
    text = page_of(r, 409)
    assert "Người khác đã thay đổi hồ sơ này trong lúc bạn đang xem" in text
    assert textarea(text, "comment-reject") == "Không đủ điều kiện"
    assert db.session.get(Dossier, dossier.id).state == "appraised"
    assert_no_internal_words(text)


def test_recognition_confirms_with_links_to_the_decision(app, people):
    dossier = dossier_in(people.submitter, "na-tam-01", YEAR, "appraised")
    client = sign_in(app, people.approver)
    r = client.post(f"/dossiers/{dossier.id}/events",
                    data={"event": "recognize", "version": str(dossier.version), "confirm": "y"}, follow_redirects=True)
    text = page_of(r, 200)
    flash = re.search(r'<p class="flash" role="status">(.*?)</p>', text, re.DOTALL).group(1)
    assert f'href="/dossiers/{dossier.id}/decision.pdf"' in flash and 'href="/verify/' in flash


# --------------------------------------------------------------------------- apology slip on the dossier page

def test_apology_refused_keeps_date_and_reason(app, make_user, api_as):
    from datetime import timedelta

    from test_clocks import _overdue_dossier

    from workflow_app.clock import local_now
    from workflow_app.workdays import add_working_days

    dossier = _overdue_dossier(make_user, api_as)
    client = sign_in(app, make_user("appraiser", "tam-duong"))
    new = add_working_days(local_now().date(), 2).isoformat()
    before = fingerprint()
    # No reason: named at its field, the date kept.
    text = page_of(client.post(f"/dossiers/{dossier.id}/apology", data={"new_date": new, "reason": "", "confirm": "y"}),
                   422)
    assert fingerprint() == before
    assert value(text, "apology-new-date") == new and 'checked' in control(text, "apology-confirm")
    assert_flagged(text, "apology-reason", "Lý do chậm trễ")
    # A date that is not after today: the service's refusal at the date, the reason kept.
    yesterday = (local_now().date() - timedelta(days=1)).isoformat()
    text = page_of(client.post(f"/dossiers/{dossier.id}/apology",
                               data={"new_date": yesterday, "reason": "Hội đồng vắng", "confirm": "y"}), 422)
    assert fingerprint() == before
    assert textarea(text, "apology-reason") == "Hội đồng vắng" and value(text, "apology-new-date") == yesterday
    assert_flagged(text, "apology-new-date", "sau hôm nay")
    assert_no_internal_words(text)


# --------------------------------------------------------------------------- batch recognition

def test_batch_refused_keeps_ticks_comment_and_issues_nothing(app, people):
    dossiers = [dossier_in(people.submitter, f"na-tam-0{i}", YEAR, "appraised") for i in (1, 2, 3)]
    client = sign_in(app, people.approver)
    picks = [f"{d.id}:{d.version}" for d in dossiers[:2]]
    before = fingerprint()
    r = client.post("/decisions/batch", data={"kind": "village_ntm", "dossier": picks, "comment": "Đợt tháng 6"})
    text = page_of(r, 422)
    assert fingerprint() == before
    for d in dossiers:
        assert ("checked" in control(text, f"pick-{d.id}")) == (d in dossiers[:2])
    assert textarea(text, "comment-village_ntm") == "Đợt tháng 6"
    assert_flagged(text, "confirm-village_ntm", "xác nhận")
    # One dossier changed meanwhile: 409, nothing issued, every choice kept.
    stale = picks[:1] + [f"{dossiers[1].id}:{dossiers[1].version - 1}"]
    r = client.post("/decisions/batch", data={"kind": "village_ntm", "dossier": stale, "comment": "Đợt tháng 6",
                                              "confirm": "y"})
    text = page_of(r, 409)
    assert fingerprint() == before
    assert "Người khác đã thay đổi hồ sơ này" in text and dossiers[1].code in text
    assert "checked" in control(text, "confirm-village_ntm") and textarea(text, "comment-village_ntm") == "Đợt tháng 6"
    assert_no_internal_words(text)
    # Issued: the confirmation links to the decision and its verification page.
    r = client.post("/decisions/batch", data={"kind": "village_ntm", "dossier": picks, "confirm": "y"},
                    follow_redirects=True)
    flash = re.search(r'<p class="flash" role="status">(.*?)</p>', page_of(r, 200), re.DOTALL).group(1)
    assert f'href="/dossiers/{dossiers[0].id}/decision.pdf"' in flash and 'href="/verify/' in flash


# --------------------------------------------------------------------------- steering committee

def test_committee_report_and_visit_refused_keep_what_was_typed(web):  # noqa: F811 (the imported fixture)
    from datetime import timedelta

    from test_committee import login

    from workflow_app.clock import local_now

    c = login(web, "hai")
    today = local_now().date()
    month = today.strftime("%Y-%m")
    with web.app_context():
        before = fingerprint()
    # An empty report: named at its field, every criterion's status and note kept.
    r = c.post("/committee/reports", data={"commune": "na-tam", "month": month, "body": "  ",
                                           "status-village_ntm-1": "met", "note-village_ntm-1": "Xong đường trục",
                                           "status-village_ntm-2": "in_progress", "note-village_ntm-2": "Còn 2 hộ"})
    text = page_of(r, 422)
    assert_flagged(text, "body", "chưa có nội dung")
    assert selected(text, "status-village_ntm-1") == "met" and selected(text, "status-village_ntm-2") == "in_progress"
    assert textarea(text, "note-village_ntm-1") == "Xong đường trục"
    assert textarea(text, "note-village_ntm-2") == "Còn 2 hộ"
    # A visit in the future: at the date, with the notes kept.
    later = (today + timedelta(days=3)).isoformat()
    r = c.post("/committee/visits", data={"commune": "na-tam", "visited_on": later, "notes": "Đi bản 05"})
    text = page_of(r, 422)
    assert_flagged(text, "visited_on", "tương lai")
    assert value(text, "visited_on") == later and textarea(text, "notes") == "Đi bản 05"
    # A date that is not a date: WTForms' refusal in our words, at the field.
    text = page_of(c.post("/committee/visits", data={"commune": "na-tam", "visited_on": "hôm qua", "notes": "x"}), 422)
    assert_flagged(text, "visited_on", "Ngày đi cơ sở")
    assert_no_internal_words(text)
    with web.app_context():
        assert fingerprint() == before


# --------------------------------------------------------------------------- password, user administration

def test_password_refusals_name_their_field(app, make_user):
    user = make_user("viewer", "tam-duong", username="lan")
    client = sign_in(app, user)
    before = fingerprint()
    text = page_of(client.post("/password", data={"current": "sai-mat-khau", "new": "mat-khau-moi-1"}), 422)
    assert_flagged(text, "current", "Mật khẩu hiện tại không đúng")
    text = page_of(client.post("/password", data={"current": "pw-123456", "new": "ngan"}), 422)
    assert_flagged(text, "new", "8")
    assert "ngan" not in text and "pw-123456" not in text  # passwords are never sent back
    text = page_of(client.post("/password", data={"current": "", "new": ""}), 422)
    assert_flagged(text, "current", "Mật khẩu hiện tại")
    assert_flagged(text, "new", "Mật khẩu mới")
    assert_no_internal_words(text)
    assert fingerprint() == before


def test_admin_cannot_lock_themselves_and_sees_why_on_the_list(app, make_user):
    admin = make_user("admin", "lai-chau", username="root")
    make_user("approver", "tam-duong", username="boss")
    client = sign_in(app, admin)
    before = fingerprint()
    text = page_of(client.post(f"/admin/users/{admin.id}/active/0"), 422)
    assert fingerprint() == before
    assert "Bạn không thể tự khóa tài khoản của mình" in text and 'href="#user-' in text
    assert "Lãnh đạo phê duyệt" in text and "approver @" not in text  # roles in words


def test_new_dossier_with_a_unit_of_another_kind_says_so_in_words(app, make_user):
    make_user("submitter", "na-tam", username="both")
    client = sign_in(app, make_user("preparer", "tt-tam-duong", username="both"))  # offered both kinds
    before = fingerprint()
    text = page_of(client.post("/dossiers/new", data={"kind": "town_civilized", "unit": "na-tam-03",
                                                      "year": str(YEAR)}), 422)
    assert fingerprint() == before
    assert selected(text, "kind") == "town_civilized" and selected(text, "unit") == "na-tam-03"
    assert_flagged(text, "unit", "không thuộc loại hồ sơ")
    assert "'village'" not in text and "'town'" not in text


def test_upload_without_a_file_is_said_at_its_form(app, people, make_user):
    preparer = make_user("preparer", "na-tam-02")
    dossier = create_dossier(people.submitter, "village_ntm", "na-tam-02", YEAR)
    db.session.commit()
    client = sign_in(app, preparer)
    before = fingerprint()
    r = client.post(f"/dossiers/{dossier.id}/attachments", data={"criterion": "2", "version": str(dossier.version)},
                    content_type="multipart/form-data")
    text = page_of(r, 422)
    assert fingerprint() == before
    assert "Hãy điền “Tệp minh chứng”" in html.unescape(text) and "This field is required" not in text


def csrf_token_in(page: str) -> str:
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', page).group(0)
    return re.search(r'value="([^"]+)"', tag).group(1)


def test_a_form_left_open_for_hours_still_saves(app, people):
    """The CSRF token lasts as long as the session: an appraisal started in the morning
    is saved in the afternoon (with a one-hour token it came back as an expired form)."""
    app.config["WTF_CSRF_ENABLED"] = True
    dossier = dossier_in(people.submitter, "na-tam-02", YEAR, "submitted")
    db.session.commit()
    client = app.test_client()
    token = csrf_token_in(client.get("/login").get_data(as_text=True))
    r = client.post("/login", data={"username": people.appraiser.username, "password": "pw-123456",
                                    "csrf_token": token})
    assert r.status_code == 302
    token = csrf_token_in(client.get(f"/dossiers/{dossier.id}/appraisal").get_data(as_text=True))
    with time_machine.travel(frozen_clock.NOW + timedelta(hours=5), tick=False):
        r = client.post(f"/dossiers/{dossier.id}/appraisal",
                        data={"csrf_token": token, "version": dossier.version, "verdict-1": "pass"})
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    db.session.expire_all()
    assert next(c for c in db.session.get(Dossier, dossier.id).current_criteria() if c.code == "1").verdict == "pass"
