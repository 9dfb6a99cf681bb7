"""Definitions load, and a broken one fails naming its file and key."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from workflow_app.workflow import Engine, StateHolder, load_all, load_definition
from workflow_app.workflow.diagram import mermaid
from workflow_app.workflow.errors import DefinitionError, EventNotAvailable

STATES = Path(__file__).resolve().parent.parent / "states"
CONTRACT_STATES = {"draft", "submitted", "returned", "appraised", "recognized", "rejected", "revoked"}
CONTRACT_EVENTS = {"submit", "return", "appraise", "reject", "recognize", "revoke"}
# Dossiers made of lines (CONTRACT: funding_plan, cement_request): accepted, not recognised.
LINE_STATES = {"draft", "submitted", "returned", "accepted"}
LINE_EVENTS = {"submit", "return", "accept"}


@pytest.mark.parametrize("path", sorted(STATES.glob("*.yaml")), ids=lambda p: p.name)
def test_every_definition_loads_with_contract_states_and_events(path):
    d = load_definition(path)
    if d.lines:
        assert LINE_STATES <= set(d.states) and LINE_EVENTS <= set(d.events)
        assert not d.criteria and d.lines.columns
        return
    assert CONTRACT_STATES <= set(d.states)
    assert CONTRACT_EVENTS <= set(d.events)
    assert d.criteria and all(c.name["vi"] and c.name["en"] for c in d.criteria)


def test_criteria_sets_have_the_domain_sizes():
    found = load_all(STATES)
    assert len(found[("village_ntm", 1)].criteria) == 14
    assert len(found[("town_civilized", 1)].criteria) == 9


def _broken(tmp_path: Path, kind_file: str, mutate) -> Path:
    """Copy states/ and break one key of one definition."""
    target = tmp_path / "states"
    shutil.copytree(STATES, target)
    path = target / kind_file
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return target


BROKEN = [
    ("unknown guard", lambda d: d["events"]["submit"].update(guards=["no_such_guard"]),
     "village_ntm.yaml: events.submit.guards: unknown guard 'no_such_guard'"),
    ("unknown role", lambda d: d["events"]["submit"].update(by=["mayor@commune"]),
     "village_ntm.yaml: events.submit.by: unknown role 'mayor'"),
    ("unknown level", lambda d: d["events"]["submit"].update(by=["submitter@hamlet"]),
     "village_ntm.yaml: events.submit.by: unknown level 'hamlet'"),
    ("unknown state", lambda d: d["events"]["submit"].update(to="filed"),
     "village_ntm.yaml: events.submit.to: unknown state 'filed'"),
    ("event without a role", lambda d: d["events"]["reject"].pop("by"),
     "village_ntm.yaml: events.reject.by: no role may act"),
    ("unreachable state", lambda d: d["states"].update(archived={"labels": {"vi": "Lưu", "en": "Archived"}}),
     "village_ntm.yaml: states.archived: unreachable"),
    ("missing labels", lambda d: d["states"]["draft"].update(labels={"vi": "Nháp"}),
     "village_ntm.yaml: states.draft.labels: needs both 'vi' and 'en'"),
    ("time limit unit", lambda d: d["states"]["submitted"].update(time_limit={"days": 15, "unit": "business"}),
     "village_ntm.yaml: states.submitted.time_limit.unit: must be one of working, calendar (got 'business')"),
    ("time limit days", lambda d: d["states"]["appraised"].update(time_limit={"days": 0, "unit": "working"}),
     "village_ntm.yaml: states.appraised.time_limit.days: must be a whole number of days, at least 1 (got 0)"),
    ("time limit days as text", lambda d: d["states"]["appraised"].update(time_limit={"days": "5", "unit": "working"}),
     "village_ntm.yaml: states.appraised.time_limit.days: must be a whole number of days, at least 1 (got '5')"),
    ("time limit typo", lambda d: d["states"]["submitted"].update(time_limit={"day": 15, "unit": "working"}),
     "village_ntm.yaml: states.submitted.time_limit.day: unknown key (known: days, unit)"),
    ("time limit not a mapping", lambda d: d["states"]["submitted"].update(time_limit=15),
     "village_ntm.yaml: states.submitted.time_limit: must be a mapping"),
    ("time limit on a closed state",
     lambda d: d["states"]["rejected"].update(time_limit={"days": 5, "unit": "working"}),
     "village_ntm.yaml: states.rejected.time_limit: a closed state has no time limit"),
]


@pytest.mark.parametrize("name,mutate,message", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_definition_names_file_and_key(tmp_path, name, mutate, message):
    states = _broken(tmp_path, "village_ntm.yaml", mutate)
    with pytest.raises(DefinitionError) as err:
        load_all(states)
    assert message in str(err.value)


ROADS_BROKEN = [
    ("overlapping roads", "village_ntm_2025.yaml", lambda d: d.update(in_force={"from": date(2025, 6, 1)}),
     "village_ntm_2025.yaml: in_force: overlaps village_ntm.yaml"),
    ("road ends before it starts", "village_ntm_2025.yaml",
     lambda d: d.update(in_force={"from": date(2025, 7, 1), "to": date(2025, 1, 1)}),
     "village_ntm_2025.yaml: in_force: ends (2025-01-01) before it starts (2025-07-01)"),
    ("years not a year", "commune_ntm_2026.yaml", lambda d: d.update(years={"from": "2026"}),
     "commune_ntm_2026.yaml: years.from: must be a year"),
    ("base file missing", "village_ntm_2025.yaml", lambda d: d.update(extends="no_such.yaml"),
     "village_ntm_2025.yaml: extends: file not found: no_such.yaml"),
    ("guard without its parameter", "commune_ntm.yaml",
     lambda d: d["events"]["submit"]["guards"].__setitem__(
         2, {"name": "field_at_least", "field": "households_agree_pct"}),
     "commune_ntm.yaml: events.submit.guards.field_at_least: needs min"),
    ("negative as text", "village_ntm.yaml", lambda d: d["events"]["reject"].update(negative="yes"),
     "village_ntm.yaml: events.reject.negative: must be true or false (got 'yes')"),
    ("negative misspelt", "village_ntm.yaml", lambda d: d["events"]["revoke"].update(negativ=True),
     "village_ntm.yaml: events.revoke.negativ: unknown key"),
    ("negative as text in an extending file", "village_ntm_2025.yaml",
     lambda d: d["events"]["return"].update(negative=1),
     "village_ntm_2025.yaml: events.return.negative: must be true or false (got 1)"),
]


@pytest.mark.parametrize("name,kind_file,mutate,message", ROADS_BROKEN, ids=[b[0] for b in ROADS_BROKEN])
def test_broken_roads_name_file_and_key(tmp_path, name, kind_file, mutate, message):
    states = _broken(tmp_path, kind_file, mutate)
    with pytest.raises(DefinitionError) as err:
        load_all(states)
    assert message in str(err.value)


def test_a_road_extends_its_base_and_null_removes_an_entry():
    found = load_all(STATES)
    district, commune_era, programme_2026 = (found[("commune_ntm", v)] for v in (1, 2, 3))
    assert "verify" in district.events and "verify" not in commune_era.events
    assert commune_era.states.keys() == district.states.keys()  # `verified` kept (legacy) for dossiers there
    assert "verified" not in programme_2026.states
    assert commune_era.fields.keys() == district.fields.keys() and commune_era.labels == district.labels
    assert len(district.criteria) == 19 and len(programme_2026.criteria) == 10


def test_the_road_is_chosen_by_dossier_year_and_action_day():
    engine = Engine(load_all(STATES))
    eve, reform = date(2025, 6, 30), date(2025, 7, 1)
    assert engine.definition_for("village_ntm", 2025, eve).version == 1
    assert engine.definition_for("village_ntm", 2025, reform).version == 2
    assert engine.definition_for("village_ntm", 2024, date(2026, 12, 9)).version == 2
    assert engine.definition_for("commune_ntm", 2024, eve).version == 1
    assert engine.definition_for("commune_ntm", 2025, reform).version == 2
    assert engine.definition_for("commune_ntm", 2026, reform).version == 3
    assert engine.definition_for("commune_ntm", 2026, eve).version == 3


def test_states_check_cli_exits_1_naming_file_and_key(tmp_path, app):
    states = _broken(tmp_path, "town_civilized.yaml", lambda d: d["events"]["appraise"].update(guards=["quorum_magic"]))
    app.config["STATES_DIR"] = str(states)
    result = CliRunner().invoke(app.cli, ["states", "check"])
    assert result.exit_code == 1
    assert "town_civilized.yaml: events.appraise.guards: unknown guard 'quorum_magic'" in result.output


def test_states_check_cli_names_a_bad_time_limit(tmp_path, app):
    states = _broken(tmp_path, "town_civilized.yaml",
                     lambda d: d["states"]["submitted"].update(time_limit={"days": 8, "unit": "weeks"}))
    app.config["STATES_DIR"] = str(states)
    result = CliRunner().invoke(app.cli, ["states", "check"])
    assert result.exit_code == 1
    assert "town_civilized.yaml: states.submitted.time_limit.unit: must be one of working, calendar" in result.output


def test_shipped_time_limits():
    found = load_all(STATES)
    limits = {key: {s: (x.time_limit.days, x.time_limit.unit) for s, x in d.states.items() if x.time_limit}
              for key, d in found.items()}
    village = {"submitted": (15, "working"), "appraised": (5, "working")}
    commune = {"submitted": (15, "working"), "verified": (20, "working"), "appraised": (5, "working")}
    assert limits == {("village_ntm", 1): village, ("village_ntm", 2): village,
                      ("town_civilized", 1): {"submitted": (8, "working"), "appraised": (5, "working")},
                      ("commune_ntm", 1): commune, ("commune_ntm", 2): commune,
                      ("commune_ntm", 3): {"submitted": (15, "working"), "appraised": (5, "working")},
                      **{(kind, v): {"submitted": (10, "working")}
                         for kind in ("funding_plan", "cement_request") for v in (1, 2)}}


def test_states_check_cli_passes_on_the_shipped_definitions(app):
    result = app.test_cli_runner().invoke(args=["states", "check"])
    assert result.exit_code == 0, result.output
    assert "village_ntm v1" in result.output and "town_civilized v1" in result.output
    assert "ok  campaigns" in result.output


def test_app_refuses_to_start_with_a_broken_definition(tmp_path):
    from workflow_app.app import create_app

    states = _broken(tmp_path, "village_ntm.yaml", lambda d: d["events"]["submit"].update(by=["submitter@moon"]))
    with pytest.raises(DefinitionError, match="village_ntm.yaml: events.submit.by"):
        create_app({"STATES_DIR": str(states), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})


def test_engine_works_without_flask_on_a_plain_object():
    engine = Engine.from_dir(STATES)
    d = engine.definition("village_ntm")
    machine = engine.machines[("village_ntm", 1)]
    holder = StateHolder("appraised")
    assert machine.events["recognize"].trigger(holder) and holder.state == "recognized"
    # No auto-transitions: `to_<state>` would skip every rule.
    assert not any(name.startswith("to_") for name in machine.events)
    with pytest.raises(EventNotAvailable):
        engine.fire(d, "draft", "recognize", facts=None)  # state check comes before guards


def test_diagram_is_mermaid_drawn_from_the_definition(app):
    d = load_definition(STATES / "village_ntm.yaml")
    text = mermaid(d)
    assert text.startswith("stateDiagram-v2")
    for event in d.events.values():
        for source in event.sources:
            assert f"{source} --> {event.dest} : {event.name}" in text
    out = app.test_cli_runner().invoke(args=["states", "diagram", "town_civilized"]).output
    assert "appraised --> recognized : recognize" in out


def test_states_check_cli_names_bad_campaign_data(tmp_path, app):
    states = tmp_path / "states"
    shutil.copytree(STATES, states)
    path = states / "campaigns" / "2024.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("deadline: 2024-09-30", "deadline: 2024-09-31", 1),
                    encoding="utf-8")
    app.config["STATES_DIR"] = str(states)
    result = CliRunner().invoke(app.cli, ["states", "check"])
    assert result.exit_code == 1
    assert "Invalid campaign data" in result.output and "2024.yaml" in result.output


def test_returns_refusals_and_revocations_are_negative_in_every_road():
    for d in load_all(STATES).values():
        negative = {e.name for e in d.events.values() if e.negative}
        assert negative == ({"return"} if d.lines else {"return", "reject", "revoke"}), d.path
        # Offered positive steps first, whatever the order in the file.
        for state in d.states:
            offered = [e.negative for e in d.offered_from(state)]
            assert offered == sorted(offered), (d.path, state)
            assert {e.name for e in d.offered_from(state)} == {e.name for e in d.events_from(state)}


def test_negative_defaults_to_false(tmp_path):
    states = _broken(tmp_path, "village_ntm.yaml", lambda d: d["events"]["reject"].pop("negative"))
    d = load_all(states)[("village_ntm", 1)]
    assert not d.events["reject"].negative and d.events["return"].negative
    offered = [e.name for e in d.offered_from("appraised")]
    assert set(offered[:2]) == {"reject", "recognize"} and offered[2] == "return"
