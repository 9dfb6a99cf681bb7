"""Rules as data: no dossier kind, event or state name in the code decides
behaviour. (a) and (b) read the names from states/*.yaml and search the code;
(c) runs a kind that exists only in a temporary folder, with events and states
of other names, through the API."""
from __future__ import annotations

import ast
import re
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import time_machine
import yaml
from helpers import dispose_engines, fire, pass_all, prepare_all

from workflow_app.app import create_app
from workflow_app.clock import VN_TZ
from workflow_app.extensions import db
from workflow_app.services.admin.setup import load_reference_data
from workflow_app.services.core.users import create_user, issue_token
from workflow_app.workflow import DefinitionError, load_all

ROOT = Path(__file__).resolve().parents[1]
STATES = ROOT / "states"
CODE = ROOT / "workflow_app"

# The demo seeds particular dossiers along particular roads: it is a story told
# with the services (seed data written as a script), not a rule any other dossier
# follows. Nothing else is exempt.
DEMO = {"services/admin/demo.py", "services/admin/demo_story.py"}


def _definition_docs() -> list[dict]:
    return [yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted(STATES.glob("*.yaml"))]


def _kinds() -> set[str]:
    return {doc["kind"] for doc in _definition_docs() if doc.get("kind")}


def _sources(*suffixes: str):
    for path in sorted(CODE.rglob("*")):
        if path.suffix in suffixes and path.relative_to(CODE).as_posix() not in DEMO:
            yield path, path.relative_to(ROOT).as_posix()
    for path in sorted((ROOT / "templates").rglob("*.html")):
        yield path, path.relative_to(ROOT).as_posix()


def test_no_kind_name_in_the_code_or_templates():
    kinds = _kinds()
    assert len(kinds) >= 3  # read from the files, so the test follows new kinds
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, sorted(kinds))) + r")\b")
    found = []
    for path, name in _sources(".py", ".html"):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "dossier kind names in the code (read them from the definitions):\n" + "\n".join(found)


# String literals that equal a state or event name but mean something else.
ALLOWED_LITERALS = {
    # A decision's own status (valid / partial / revoked), stored on the decision row:
    # not the dossier's state, whatever the definitions call theirs.
    ("services/documents/decisions.py", "revoked"),
    ("services/reporting/register.py", "revoked"),
    # The outbox message kind queued by the `notify_returned` effect, stored in
    # outbox rows: a message name, fired from whichever event declares the effect.
    ("services/notify/reminders.py", "returned"),
}


def test_no_event_or_state_name_as_a_literal_in_services_views_or_api():
    names = set()
    for doc in _definition_docs():
        names |= set(doc.get("states") or {}) | set(doc.get("events") or {})
    assert {"submit", "return", "returned"} <= names  # read from the files
    found = []
    for package in ("services", "web", "api"):
        for path in sorted((CODE / package).rglob("*.py")):
            rel = path.relative_to(CODE).as_posix()
            if rel in DEMO:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and node.value in names and (rel, node.value) not in ALLOWED_LITERALS:
                    found.append(f"workflow_app/{rel}:{node.lineno}: {node.value!r}")
    assert not found, "event or state names in the code (use the definition's keys):\n" + "\n".join(found)


# ----------------------------------------------------------------------------- a kind of its own

# Village dossiers under other names: every role a key of the file, nothing in Python.
TRIAL = """
kind: thu_nghiem
version: 1
labels: {vi: Hồ sơ thử nghiệm, en: Trial dossier}
applicant_level: village
criteria: criteria/village_ntm_laocai_2022.yaml
initial: soan
states:
  soan:          {labels: {vi: Đang soạn, en: Drafting}}
  da_nop:        {time_limit: {days: 15, unit: working}, labels: {vi: Đã nộp, en: Filed}}
  tra_ve:        {pauses_clock: true, colour: '#e8894a', labels: {vi: Trả về, en: Sent back}}
  da_tham_dinh:  {labels: {vi: Đã thẩm định, en: Appraised}}
  da_cong_nhan:  {colour: '#2e7d4f', labels: {vi: Đã công nhận, en: Recognised}}
events:
  nop:
    from: [soan, tra_ve]
    to: da_nop
    files: true
    by: [submitter@commune]
    guards: [criteria_met_with_evidence]
    effects: [issue_receipt]
    labels: {vi: Nộp, en: File}
  tra_lai:
    from: [da_nop]
    to: tra_ve
    starts_round: true
    by: [appraiser@district]
    comment: required
    effects: [notify_returned]
    labels: {vi: Trả lại, en: Send back}
  tham_dinh:
    from: da_nop
    to: da_tham_dinh
    by: [appraiser@district]
    guards: [criteria_all_passed]
    not_by_actor_of: [nop]
    effects: [issue_appraisal_report]
    labels: {vi: Thẩm định xong, en: Appraised}
  cong_nhan:
    from: da_tham_dinh
    to: da_cong_nhan
    by: [approver@district]
    not_by_actor_of: [nop]
    effects: [issue_decision, notify_decision]
    labels: {vi: Công nhận, en: Recognise}
actions:
  create: {by: [submitter@commune], labels: {vi: Tạo hồ sơ, en: Create}}
  self_assess: {states: [soan, tra_ve], by: [submitter@commune], labels: {vi: Tự đánh giá, en: Self-assess}}
  attach: {states: [soan, tra_ve], by: [submitter@commune], labels: {vi: Tải lên, en: Upload}}
  appraise_criterion:
    states: [da_nop]
    by: [appraiser@district]
    not_by_actor_of: [nop]
    labels: {vi: Thẩm định tiêu chí, en: Appraise a criterion}
"""


def _trial_states(tmp_path: Path) -> Path:
    folder = tmp_path / "states"
    shutil.copytree(STATES, folder)
    (folder / "thu_nghiem.yaml").write_text(TRIAL, encoding="utf-8")
    # Its decision texts: a folder of data named after the kind, like every kind's.
    shutil.copyfile(STATES / "decisions" / "village_ntm.yaml", folder / "decisions" / "thu_nghiem.yaml")
    return folder


def test_the_trial_kind_loads_with_its_keys(tmp_path):
    d = load_all(_trial_states(tmp_path))[("thu_nghiem", 1)]
    assert d.filing_events == ("nop",) and d.decision_events == ("cong_nhan",)
    assert d.paused_states == {"tra_ve"} and d.events["tra_lai"].starts_round
    assert [e.name for e in d.events.values() if e.reported] == ["nop", "tra_lai", "cong_nhan"]
    assert d.states["tra_ve"].colour == "#e8894a" and d.states["soan"].colour is None


@pytest.mark.parametrize("text, problem", [
    ("    files: yes-please\n", "events.nop.files: must be true or false"),
    ("    starts_round: 1\n", "events.nop.starts_round: must be true or false"),
])
def test_a_bad_event_key_is_refused_naming_file_and_key(tmp_path, text, problem):
    folder = _trial_states(tmp_path)
    path = folder / "thu_nghiem.yaml"
    path.write_text(TRIAL.replace("    files: true\n", text), encoding="utf-8")
    with pytest.raises(DefinitionError, match=re.escape(f"thu_nghiem.yaml: {problem}")):
        load_all(folder)


@pytest.mark.parametrize("old, new, problem", [
    ("colour: '#e8894a'", "colour: orange", "states.tra_ve.colour: must be a colour like"),
    ("{pauses_clock: true,", "{pauses_clock: 'yes',", "states.tra_ve.pauses_clock: must be true or false"),
    ("da_cong_nhan:  {colour", "da_cong_nhan:  {closed: true, pauses_clock: true, colour",
     "states.da_cong_nhan.pauses_clock: a closed state has no clock to pause"),
])
def test_a_bad_state_key_is_refused_naming_file_and_key(tmp_path, old, new, problem):
    folder = _trial_states(tmp_path)
    (folder / "thu_nghiem.yaml").write_text(TRIAL.replace(old, new), encoding="utf-8")
    with pytest.raises(DefinitionError, match=re.escape(f"thu_nghiem.yaml: {problem}")):
        load_all(folder)


def test_a_role_without_words_is_refused(tmp_path):
    folder = _trial_states(tmp_path)
    labels = folder / "labels" / "actors.yaml"
    labels.write_text(labels.read_text(encoding="utf-8").replace(
        "  district: {vi: lãnh đạo UBND huyện, en: the district leadership}\n", ""), encoding="utf-8")
    with pytest.raises(DefinitionError,
                       match=r"events\.cong_nhan\.by: 'approver@district' has no words in labels/actors\.yaml"):
        load_all(folder)


@pytest.fixture
def trial_app(tmp_path):
    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'trial.db'}",
        "STORAGE_DIR": str(tmp_path / "storage"), "SIGNING_DIR": str(tmp_path / "signing"),
        "SECRET_KEY": "test-secret-key", "PUBLIC_BASE_URL": "http://ntm.test", "WTF_CSRF_ENABLED": False,
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "STATES_DIR": str(_trial_states(tmp_path)),
    })
    with app.app_context():
        db.create_all()
        load_reference_data()
        db.session.commit()
        yield app
        db.session.remove()
        dispose_engines()


class _Api:
    def __init__(self, client, user):
        self.client, self.headers = client, {"Authorization": f"Bearer {issue_token(user)}"}
        db.session.commit()

    def get(self, path, **kw):
        return self.client.get(path, headers=self.headers, **kw)

    def post(self, path, **kw):
        return self.client.post(path, headers=self.headers, **kw)

    def put(self, path, **kw):
        return self.client.put(path, headers=self.headers, **kw)


def _on(day: str):
    return time_machine.travel(datetime.fromisoformat(f"{day}T09:00:00").replace(tzinfo=VN_TZ), tick=False)


def test_a_new_kind_goes_its_whole_road_without_python(trial_app):
    client = trial_app.test_client()
    people = {role: create_user(f"{role}.trial", "pw-123456", role, unit)
              for role, unit in (("submitter", "na-tam"), ("appraiser", "tam-duong"), ("approver", "tam-duong"))}
    db.session.commit()
    officer, appraiser, approver = (_Api(client, people[r]) for r in ("submitter", "appraiser", "approver"))

    with _on("2025-06-02"):  # a Monday of the district era
        r = officer.post("/api/v1/dossiers", json={"kind": "thu_nghiem", "unit": "na-tam-01", "year": 2025})
        assert r.status_code == 201, r.json
        dossier = prepare_all(officer, r.json)
        assert fire(officer, dossier["id"], "nop").status_code == 200
    with _on("2025-06-04"):
        dossier = pass_all(appraiser, appraiser.get(f"/api/v1/dossiers/{dossier['id']}").json)
        failed = dossier["criteria"][0]["code"]
        r = appraiser.post(f"/api/v1/dossiers/{dossier['id']}/criteria/{failed}/appraisal",
                           json={"verdict": "fail", "note": "thiếu minh chứng"})
        assert r.status_code == 200, r.json
        r = fire(appraiser, dossier["id"], "tra_lai", "Bổ sung minh chứng.")
        assert r.status_code == 200, r.json
        # The round started: passed verdicts carried over, the failed one to appraise again.
        assert r.json["state"] == "tra_ve" and r.json["round"] == 2
        verdicts = {c["code"]: c["verdict"] for c in r.json["criteria"]}
        assert verdicts[failed] is None and {v for k, v in verdicts.items() if k != failed} == {"pass"}
    with _on("2025-06-10"):
        r = fire(officer, dossier["id"], "nop")
        assert r.status_code == 200, r.json
        # The clock paused while sent back: the same run, started on the first filing day.
        clock = r.json["clock"]
        assert clock["started_on"] == "2025-06-02" and clock["paused_days"] > 0, clock
        assert r.json["filing"] is None or r.json["filing"]["filed_on"] in (None, "2025-06-02")
    with _on("2025-06-11"):
        dossier = pass_all(appraiser, r.json)
        assert fire(appraiser, dossier["id"], "tham_dinh").status_code == 200
        # The batch decision finds the decision event in the definition.
        r = approver.post("/api/v1/decisions", json={"dossiers": [dossier["id"]], "comment": None})
        assert r.status_code == 201, r.json
        done = approver.get(f"/api/v1/dossiers/{dossier['id']}").json
    assert done["state"] == "da_cong_nhan"
    assert done["decision"] and done["decision"]["number"] == r.json["number"]
    assert [h["event"] for h in done["history"] if h["event"]][-5:] == \
        ["nop", "tra_lai", "nop", "tham_dinh", "cong_nhan"]


def test_a_commune_kind_has_a_dashboard_grouping_communes_under_their_province(app, make_user):
    """Any applicant level has a dashboard: commune dossiers of 2026 counted under
    the province the new communes sit in."""
    from frozen_clock import AFTER_REFORM

    from workflow_app.services import create_dossier
    from workflow_app.services.reporting.dashboard import dashboard, dashboard_kinds

    kind = next(k for k in sorted(_kinds()) if yaml.safe_load((STATES / f"{k}.yaml").read_text(encoding="utf-8"))
                ["applicant_level"] == "commune")
    assert kind in dashboard_kinds() and dashboard_kinds()[0] != kind  # villages' kind opens first
    with time_machine.travel(AFTER_REFORM, tick=False):
        create_dossier(make_user("submitter", "ta-leng-2025"), kind, "ta-leng-2025", 2026)
        db.session.commit()
        dash = dashboard(make_user("viewer", "lai-chau"), 2026, kind, today=AFTER_REFORM.date())
    rows = {c.code: c for c in dash.communes}
    assert list(rows) == ["lai-chau"]
    assert rows["lai-chau"].villages >= 4 and rows["lai-chau"].with_dossier == 1
    assert dash.total.by_state == {"draft": 1}
