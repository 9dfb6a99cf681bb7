"""The home page lists only work: a dossier appears when the user has a positive
next step on it (an event not marked `negative`, or the criteria work of its
state); returns, refusals and revocations come after the main step and never make
an item on their own; "late" is said only of someone late now.

District era (the frozen clock's 2025-06-11): the commune officer of na-tam
submits, the district's appraiser and approver act."""
from __future__ import annotations

import re
import shutil
from datetime import timedelta
from html.parser import HTMLParser

from audit_helpers import rewrite_chain
from helpers import dossier_in, fire, pass_all

from workflow_app.extensions import db
from workflow_app.models import Dossier
from workflow_app.services.core.common import engine
from workflow_app.services.reading.lists import work_queue
from workflow_app.workflow import Engine


def _backdate(dossier_id: int, days: int) -> None:
    def earlier(rec):
        rec.at = rec.at - timedelta(days=days)
    rewrite_chain(dossier_id, earlier)


def _submitted(officer, api_as, unit: str, year: int = 2024) -> Dossier:
    dossier = dossier_in(officer, unit, year, "draft")
    assert fire(api_as(officer), dossier.id, "submit").status_code == 200
    return db.session.get(Dossier, dossier.id)


def _appraised(officer, appraiser, api_as, unit: str) -> Dossier:
    dossier = _submitted(officer, api_as, unit)
    api = api_as(appraiser)
    pass_all(api, api.get(f"/api/v1/dossiers/{dossier.id}").json)
    assert fire(api, dossier.id, "appraise").status_code == 200
    return db.session.get(Dossier, dossier.id)


def _login(app, user):
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": "pw-123456"}).status_code == 302
    return client


class _Rows(HTMLParser):
    """The queue table's rows: {dossier code: the row's text}, and the hrefs of the page."""

    def __init__(self):
        super().__init__()
        self.rows, self.hrefs, self._row, self._depth = {}, [], None, 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.hrefs.append(attrs["href"])
        if tag == "tr":
            self._row = []

    def handle_endtag(self, tag):
        if tag == "tr" and self._row is not None:
            text = " ".join(" ".join(self._row).split())
            code = re.search(r"[A-Z]{2}-\d{6}-\d{4}", text)
            if code:
                self.rows[code.group(0)] = text
            self._row = None

    def handle_data(self, data):
        if self._row is not None:
            self._row.append(data)


def _queue_rows(client) -> dict[str, str]:
    r = client.get("/")
    assert r.status_code == 200
    parser = _Rows()
    parser.feed(r.get_data(as_text=True))
    return parser.rows


def test_recognised_and_negative_only_dossiers_are_not_the_approvers_work(app, make_user, api_as):
    officer = make_user("submitter", "na-tam")
    appraiser, approver = make_user("appraiser", "tam-duong"), make_user("approver", "tam-duong")
    recognised = dossier_in(officer, "na-tam-01", 2024, "recognized")  # its only event: revoke
    submitted = _submitted(officer, api_as, "na-tam-02")               # approver: return or reject only
    appraised = _appraised(officer, appraiser, api_as, "na-tam-03")    # approver: recognize first

    items = {item.dossier.id: item for item in work_queue(approver)}
    assert set(items) == {appraised.id}
    item = items[appraised.id]
    assert item.actions == ["recognize"] and item.secondary == ["return", "reject"]

    rows = _queue_rows(_login(app, approver))
    assert set(rows) == {appraised.code}
    row = rows[appraised.code]
    assert (row.index("Công nhận và ban hành quyết định") < row.index("Trả lại để bổ sung")
            < row.index("Không công nhận"))
    page = _login(app, approver).get("/").get_data(as_text=True)
    assert "Có 1 hồ sơ đang chờ bạn xử lý" in page
    assert "Thu hồi quyết định công nhận" not in page and recognised.code not in page and submitted.code not in page

    # The appraiser's work is the submitted dossier (appraise, then the criteria), not the appraised one.
    items = {item.dossier.id: item for item in work_queue(appraiser)}
    assert set(items) == {submitted.id}
    assert items[submitted.id].actions == ["appraise", "appraise_criterion"]
    assert items[submitted.id].secondary == ["return"]


def test_the_dossier_page_and_the_api_offer_the_positive_step_first(app, make_user, api_as):
    officer = make_user("submitter", "na-tam")
    appraiser, approver = make_user("appraiser", "tam-duong"), make_user("approver", "tam-duong")
    dossier = _appraised(officer, appraiser, api_as, "na-tam-04")
    assert api_as(approver).get(f"/api/v1/dossiers/{dossier.id}").json["allowed_events"] == \
        ["recognize", "return", "reject"]
    page = _login(app, approver).get(f"/dossiers/{dossier.id}").get_data(as_text=True)
    buttons = re.findall(r'<button type="submit" name="do" value="(\w+)"( class="secondary")?>', page)
    assert buttons == [("recognize", ""), ("return", ' class="secondary"'), ("reject", ' class="secondary"')]


def test_a_road_where_the_only_step_is_negative_makes_no_item(app, make_user, api_as, tmp_path):
    """Marking an event negative in the data is all it takes: here the approver's
    `recognize` is declared negative in a copy of states/, and the appraised
    dossier leaves the approver's queue."""
    officer = make_user("submitter", "na-tam")
    appraiser, approver = make_user("appraiser", "tam-duong"), make_user("approver", "tam-duong")
    dossier = _appraised(officer, appraiser, api_as, "na-tam-05")
    assert [i.dossier.id for i in work_queue(approver)] == [dossier.id]

    states = tmp_path / "states"
    shutil.copytree(app.config["STATES_DIR"], states)
    path = states / "village_ntm.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("  recognize:\n    from: appraised\n",
                                 "  recognize:\n    from: appraised\n    negative: true\n", 1),
                    encoding="utf-8")
    app.extensions["workflow_engine"] = Engine.from_dir(states)
    assert engine().definition("village_ntm", 1).events["recognize"].negative
    assert work_queue(approver) == []


def test_late_labels_only_where_someone_is_late_now(app, make_user, api_as):
    officer = make_user("submitter", "na-tam")
    appraiser, approver = make_user("appraiser", "tam-duong"), make_user("approver", "tam-duong")
    # Filed in 2025 for the 2024 campaign (deadline 30/09/2024): filed late, which is history.
    waiting = _submitted(officer, api_as, "na-tam-01")
    _backdate(waiting.id, 40)  # the appraiser is 40 days into a 15-working-day step
    appraised = _appraised(officer, appraiser, api_as, "na-tam-02")
    draft = dossier_in(officer, "na-tam-03", 2024, "draft")  # not filed, deadline passed: late now

    # The appraiser is late on `waiting`: the label is theirs.
    rows = _queue_rows(_login(app, appraiser))
    assert set(rows) == {waiting.code}
    assert "Quá hạn" in rows[waiting.code] and "nộp muộn" not in rows[waiting.code]

    # The approver's only item is on time; the late step is someone else's, and
    # "filed late" is not something the approver can act on.
    rows = _queue_rows(_login(app, approver))
    assert set(rows) == {appraised.code}
    assert "Quá hạn" not in rows[appraised.code] and "nộp muộn" not in rows[appraised.code]
    assert "Còn 5 ngày làm việc" in rows[appraised.code]
    page = _login(app, approver).get("/").get_data(as_text=True)
    assert "Quá hạn" not in page and "nộp muộn" not in page and "quá hạn nộp" not in page

    # Now the approver's own step runs late: the label appears in their queue.
    _backdate(appraised.id, 30)
    rows = _queue_rows(_login(app, approver))
    assert "Quá hạn" in rows[appraised.code] and "nộp muộn" not in rows[appraised.code]

    # The officer: the unfiled draft is late now; the filed ones are not theirs to do.
    rows = _queue_rows(_login(app, officer))
    assert set(rows) == {draft.code}
    assert "Hạn nộp 30/09/2024: quá hạn nộp" in rows[draft.code]


def test_a_role_at_a_unit_not_yet_begun_is_not_called_ended(app, make_user):
    # 2025-06-11: the new commune of the 2025 reform begins on 2025-07-01.
    user = make_user("approver", "ta-leng-2025")
    html = _login(app, user).get("/").get_data(as_text=True)
    assert 'id="ended-ta-leng-2025"' not in html and "đã chấm dứt" not in html
