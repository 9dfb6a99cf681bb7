"""The dossier page opens with what is missing, for everyone who reads it: each
criterion's state, what the next step needs and who takes it; a returned dossier
shows the return's reasons at the top, as written (line breaks kept), with each
failed criterion linked to its row, where the appraiser's note shows too; in the
new round the criteria to appraise again are marked."""
from __future__ import annotations

import re

import pytest
from helpers import PDF, dossier_in, fire

from workflow_app.extensions import db
from workflow_app.models import Dossier
from workflow_app.services import attach_evidence, create_dossier

YEAR = 2024
RETURN = ("Đề nghị bổ sung:\n- Danh sách lao động có việc làm (tiêu chí 7).\n"
          "- Ảnh chụp nhà văn hóa bản sau khi hoàn thiện.")
NOTE_7 = "Danh sách lao động chưa có xác nhận của UBND xã."


def sign_in(app, user):
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": "pw-123456"})
    assert r.status_code == 302
    return client


def page_of(client, dossier_id: int) -> str:
    r = client.get(f"/dossiers/{dossier_id}")
    assert r.status_code == 200
    return r.get_data(as_text=True)


def section(html: str, ident: str) -> str:
    """The HTML of the element with this id, up to its closing tag of the same name."""
    m = re.search(rf'<(\w+)[^>]*\bid="{ident}"', html)
    assert m, f"no #{ident} on the page"
    tag, start = m.group(1), m.start()
    end = html.index(f"</{tag}>", start)
    return html[start:end]


def text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


@pytest.fixture
def people(make_user):
    return {
        "village": make_user("preparer", "na-tam-01"),
        "commune": make_user("submitter", "na-tam"),
        "appraiser": make_user("appraiser", "tam-duong", name="Nguyễn Văn Bình"),
    }


@pytest.fixture
def returned(app, people, api_as):
    """A village dossier returned in round 1: criterion 7 failed with a note, the rest passed."""
    dossier = dossier_in(people["commune"], "na-tam-01", YEAR, "submitted")
    api = api_as(people["appraiser"])
    r = api.post(f"/api/v1/dossiers/{dossier.id}/criteria/7/appraisal", json={"verdict": "fail", "note": NOTE_7})
    assert r.status_code == 200, r.json
    assert fire(api, dossier.id, "return", RETURN).status_code == 200
    return db.session.get(Dossier, dossier.id)


def test_a_new_draft_lists_every_criterion_as_not_assessed_and_who_submits(app, people):
    dossier = create_dossier(people["commune"], "village_ntm", "na-tam-01", YEAR)
    db.session.commit()
    html = page_of(sign_in(app, people["village"]), dossier.id)
    checklist = section(html, "checklist")
    rows = re.findall(r'<li class="check-(\w+)"><a href="#c-([\w.]+)"', checklist)
    codes = [c.code for c in dossier.current_criteria()]
    assert [code for _, code in rows] == codes
    assert {state for state, _ in rows} == {"not_assessed"}
    assert f"Chưa tự đánh giá: {len(codes)}" in text(checklist)
    words = text(checklist)
    assert "Bước tiếp theo: Nộp hồ sơ lên huyện — cán bộ UBND xã" in words  # the step, then who takes it
    # The checklist comes before the actions.
    assert html.index('id="checklist"') < html.index('id="h-actions"')


def test_the_commune_sees_every_reason_the_submission_waits_for(app, people):
    dossier = create_dossier(people["commune"], "village_ntm", "na-tam-01", YEAR)
    attach_evidence(people["commune"], dossier, "mc.pdf", PDF, "1")
    db.session.commit()
    html = page_of(sign_in(app, people["commune"]), dossier.id)
    box = section(html, "event-submit")
    reasons = re.findall(r"<li>([^<]+)</li>", box)
    n = len(dossier.current_criteria())
    # Every criterion lacks its claim, every criterion but 1 its evidence: all listed.
    assert len(reasons) == n + n - 1, reasons
    assert "lý do khác" not in html
    last = dossier.current_criteria()[-1].code
    assert f"Chưa đủ minh chứng cho tiêu chí {last} " in " ".join(reasons)


def test_states_per_criterion(app, people):
    dossier = create_dossier(people["commune"], "village_ntm", "na-tam-01", YEAR)
    attach_evidence(people["commune"], dossier, "mc.pdf", PDF, "2")
    by_code = {e.code: e for e in dossier.current_criteria()}
    by_code["1"].self_assessment = "not_met"
    by_code["2"].self_assessment = "met"
    by_code["3"].self_assessment = "met"
    db.session.commit()
    checklist = section(page_of(sign_in(app, people["village"]), dossier.id), "checklist")
    states = {code: state for state, code in re.findall(r'<li class="check-(\w+)"><a href="#c-([\w.]+)"', checklist)}
    assert (states["1"], states["2"], states["3"], states["4"]) == ("not_met", "waiting", "no_evidence", "not_assessed")
    assert "Tải lên ít nhất một tệp minh chứng." in text(checklist)


@pytest.mark.parametrize("who", ["village", "commune"])
def test_a_returned_dossier_opens_with_the_return_letter(app, people, returned, who):
    html = page_of(sign_in(app, people[who]), returned.id)
    letter = section(html, "return-letter")
    # At the top: before the facts, the checklist and the actions.
    assert html.index('id="return-letter"') < html.index('class="facts"') < html.index('id="h-actions"')
    assert "Hồ sơ được trả lại để bổ sung" in letter
    assert "Nguyễn Văn Bình" in letter
    # The reasons as written, line breaks kept (the CSS shows them: white-space: pre-line).
    body = re.search(r'<div class="letter-body">(.*?)</div>', letter, re.DOTALL).group(1)
    assert body == RETURN  # not merged into one line
    assert body.count("\n") == 2
    # Each failed criterion is linked to its row, with the appraiser's note.
    assert re.search(r'<a href="#c-7">[^<]*7\.', letter)
    assert NOTE_7 in letter
    assert 'href="#c-1"' not in letter  # passed criteria are not in the letter
    # The row of criterion 7 says what failed in round 1.
    row = section(html, "c-7")
    assert "Vòng 1:" in text(row) and "Không đạt" in text(row) and NOTE_7 in row
    assert "chưa thẩm định lại" in text(row)
    # The checklist shows it as failed with the note, and what to do.
    checklist = section(html, "checklist")
    assert re.search(r'<li class="check-failed"><a href="#c-7">', checklist)
    assert f"Bổ sung theo ý kiến thẩm định: {NOTE_7}" in text(checklist)


def test_the_stylesheet_keeps_the_letters_line_breaks(app):
    r = app.test_client().get("/static/app.css")
    css = r.get_data(as_text=True)
    r.close()
    assert re.search(r"\.letter-body[^{]*\{[^}]*white-space:\s*pre-line", css)


def test_after_resubmission_the_criteria_to_appraise_again_are_marked(app, people, returned, api_as):
    assert fire(api_as(people["commune"]), returned.id, "submit").status_code == 200
    html = page_of(sign_in(app, people["appraiser"]), returned.id)
    marked = re.findall(r'id="c-([\w.]+)">\s*<h3>[^<]*<span class="badge again">', html)
    assert marked == ["7"]
    # The appraiser still reads what was asked in the last return.
    letter = section(html, "return-letter")
    assert "Lần trả lại gần nhất (vòng 1)" in letter and NOTE_7 in letter
    checklist = section(html, "checklist")
    assert re.search(r'<li class="check-waiting"><a href="#c-7">[^<]*</a>\s*<span class="check-state">[^<]*</span> '
                     r'<span class="badge again">', checklist)


def test_no_letter_before_any_return(app, people):
    dossier = dossier_in(people["commune"], "na-tam-01", YEAR, "submitted")
    html = page_of(sign_in(app, people["village"]), dossier.id)
    assert 'id="return-letter"' not in html
    assert 'class="badge again"' not in html


def test_the_checklist_in_english(app, people, returned):
    client = sign_in(app, people["village"])
    client.get("/lang/en")
    html = page_of(client, returned.id)
    checklist = section(html, "checklist")
    assert "Failed" in checklist and "Complete it as the appraiser asks" in checklist


def test_the_checklist_names_the_conditions_beyond_the_criteria(app, make_user):
    officer = make_user("submitter", "tt-tam-duong")
    reader = make_user("viewer", "tam-duong")
    dossier = create_dossier(officer, "town_civilized", "tt-tam-duong", YEAR)
    db.session.commit()
    checklist = section(page_of(sign_in(app, reader), dossier.id), "checklist")
    conditions = re.findall(r"<li>([^<]+)</li>", checklist)
    # Only the survey: the criteria have their own rows.
    assert len(conditions) == 1 and "90" in conditions[0], conditions
    dossier.fields = {"resident_satisfaction_pct": 95}
    db.session.commit()
    checklist = section(page_of(sign_in(app, reader), dossier.id), "checklist")
    assert "Ngoài các tiêu chí" not in checklist


def test_no_checklist_once_nothing_moves_the_dossier_on(app, people):
    dossier = dossier_in(people["commune"], "na-tam-01", YEAR, "rejected")
    html = page_of(sign_in(app, people["village"]), dossier.id)
    assert 'id="checklist"' not in html and 'id="c-1"' in html


def test_the_next_step_names_the_step_that_moves_the_dossier_on_not_a_return(app, people):
    dossier = dossier_in(people["commune"], "na-tam-02", YEAR, "submitted")
    html = page_of(sign_in(app, people["appraiser"]), dossier.id)
    step = re.search(r"Bước tiếp theo</dt><dd>(.*?)</dd>", html, re.DOTALL)
    assert step and text(step.group(1)) == "cán bộ thẩm định của huyện: Hoàn thành thẩm định"
