"""Campaigns (states/campaigns/<year>.yaml): the shipped data, filing status (days left
or late while unfiled; on time or late once submitted) and clear errors for bad files."""
from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml
from helpers import dossier_in, fire

from workflow_app.clock import local_now
from workflow_app.extensions import db
from workflow_app.models import Dossier
from workflow_app.services.core.campaigns import (
    Campaign,
    CampaignError,
    campaign_for,
    check_campaigns,
    filing_status,
    load_campaign_file,
    load_campaigns,
    reference_unit_codes,
    status_for,
)

STATES = Path(__file__).resolve().parent.parent / "states"
CAMPAIGNS = STATES / "campaigns"
KINDS = {"village_ntm", "town_civilized", "funding_plan", "cement_request"}
C2024 = Campaign("village_ntm", 2024, date(2024, 9, 30), {"vi": "x", "en": "x"}, ())


def test_shipped_campaigns_are_valid_and_follow_the_notice():
    found = load_campaigns(CAMPAIGNS, KINDS, reference_unit_codes())
    assert set(found) >= {2024, 2025, 2026}
    # The notice: village and town dossiers by 30/09, cement requests by 15/04, funding plans by 30/04.
    due = {"village_ntm": (9, 30), "town_civilized": (9, 30), "cement_request": (4, 15), "funding_plan": (4, 30)}
    for year in (2024, 2025, 2026):
        for kind in KINDS:
            assert found[year].kinds[kind].deadline == date(year, *due[kind])
    # Communes file both: the district's twelve before the reform, the province's new communes after it.
    assert len(found[2024].kinds["cement_request"].registered) == 12
    assert "ta-leng-2025" in found[2026].kinds["funding_plan"].registered
    assert found[2024].district_criteria == {"tam-duong": {"met": 3, "total": 9}}
    assert "tt-tam-duong" in found[2024].kinds["town_civilized"].registered
    # The demo's rejected village (na-tam-06: "not registered for 2024") is not in the list.
    assert "na-tam-06" not in found[2024].kinds["village_ntm"].registered
    assert check_campaigns(STATES, KINDS) == []


def test_campaign_files_are_not_read_as_definitions():
    from workflow_app.workflow import load_all

    kinds = {yaml.safe_load(p.read_text(encoding="utf-8"))["kind"] for p in STATES.glob("*.yaml")}
    assert KINDS <= kinds
    assert {k for k, _ in load_all(STATES)} == kinds


@pytest.mark.parametrize("filed_on,today,days_left,late", [
    (None, date(2024, 9, 18), 12, False),        # "còn 12 ngày"
    (None, date(2024, 9, 30), 0, False),         # the last day
    (None, date(2024, 10, 3), -3, True),         # 3 days past, not filed
    (date(2024, 9, 29), date(2024, 12, 1), 1, False),   # filed on time, whatever today is
    (date(2024, 10, 3), date(2024, 10, 3), -3, True),   # "nộp muộn 3 ngày"
])
def test_status_for_days_left_or_late(filed_on, today, days_left, late):
    s = status_for(C2024, filed_on, today)
    assert (s.deadline, s.days_left, s.late, s.filed_on) == (date(2024, 9, 30), days_left, late, filed_on)
    assert s.days_late == max(0, -days_left)
    assert status_for(None, filed_on, today) is None


def test_filing_status_of_real_dossiers(app, make_user, api_as):
    officer = make_user("submitter", "na-tam")
    draft = dossier_in(officer, "na-tam-01", 2024, "draft")
    s = filing_status(draft, date(2024, 9, 18))
    assert (s.days_left, s.filed_on, s.late) == (12, None, False)
    assert filing_status(draft, date(2024, 10, 3)).days_late == 3
    # Submitted (through the API, today): the first submission day is what counts.
    assert fire(api_as(officer), draft.id, "submit").status_code == 200
    today = local_now().date()
    s = filing_status(db.session.get(Dossier, draft.id), date(2030, 1, 1))
    assert s.filed_on == today and s.late == (today > date(2024, 9, 30))
    assert s.days_left == (date(2024, 9, 30) - today).days
    # A dossier of a year without a campaign has no status: not an error.
    other = dossier_in(officer, "na-tam-02", 2023, "draft")
    assert campaign_for("village_ntm", 2023) is None and filing_status(other) is None


def test_the_first_submission_counts_after_a_return(app, make_user, api_as):
    officer, appraiser = make_user("submitter", "na-tam"), make_user("appraiser", "tam-duong")
    d = dossier_in(officer, "na-tam-04", 2025, "draft")
    assert fire(api_as(officer), d.id, "submit").status_code == 200
    first = filing_status(d).filed_on
    assert fire(api_as(appraiser), d.id, "return", "Bổ sung").status_code == 200
    assert filing_status(d).filed_on == first  # still filed, on the first day
    assert fire(api_as(officer), d.id, "submit").status_code == 200
    assert filing_status(d).filed_on == first


def _copy(tmp_path: Path, year: int, mutate) -> Path:
    folder = tmp_path / "campaigns"
    shutil.copytree(CAMPAIGNS, folder)
    path = folder / f"{year}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    mutate(doc)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return folder


BROKEN = [
    ("year differs", lambda d: d.update(year=2023), "campaigns/2024.yaml: year: must be 2024"),
    ("bad deadline", lambda d: d["kinds"]["village_ntm"].update(deadline="30/09/2024"),
     "campaigns/2024.yaml: kinds.village_ntm.deadline: must be a date YYYY-MM-DD, got '30/09/2024'"),
    ("deadline in another year", lambda d: d["kinds"]["village_ntm"].update(deadline=date(2025, 9, 30)),
     "campaigns/2024.yaml: kinds.village_ntm.deadline: 2025-09-30 is outside 2024"),
    ("missing deadline", lambda d: d["kinds"]["town_civilized"].pop("deadline"),
     "campaigns/2024.yaml: kinds.town_civilized.deadline: missing"),
    ("unknown kind", lambda d: d["kinds"].update(commune_ntm=d["kinds"]["village_ntm"]),
     "campaigns/2024.yaml: kinds.commune_ntm: unknown dossier kind"),
    ("label without English", lambda d: d["kinds"]["village_ntm"].update(label={"vi": "Bản"}),
     "campaigns/2024.yaml: kinds.village_ntm.label: needs both 'vi' and 'en'"),
    ("unknown unit", lambda d: d["kinds"]["village_ntm"]["registered"].append("na-tam-99"),
     "campaigns/2024.yaml: kinds.village_ntm.registered[18]: unknown unit 'na-tam-99'"),
    ("unit twice", lambda d: d["kinds"]["village_ntm"]["registered"].append("na-tam-01"),
     "campaigns/2024.yaml: kinds.village_ntm.registered[18]: 'na-tam-01' is listed twice"),
    ("typo key", lambda d: d["kinds"]["village_ntm"].update(deadlin=date(2024, 9, 1)),
     "campaigns/2024.yaml: kinds.village_ntm.deadlin: unknown key"),
    ("met above total", lambda d: d.update(district_criteria={"tam-duong": {"met": 10, "total": 9}}),
     "campaigns/2024.yaml: district_criteria.tam-duong: needs whole numbers 0 <= met <= total"),
    ("district criteria shape", lambda d: d.update(district_criteria={"tam-duong": 3}),
     "campaigns/2024.yaml: district_criteria.tam-duong: must be {met: N, total: M}"),
]


@pytest.mark.parametrize("name,mutate,message", BROKEN, ids=[b[0] for b in BROKEN])
def test_bad_campaign_files_name_file_and_key(tmp_path, name, mutate, message):
    folder = _copy(tmp_path, 2024, mutate)
    with pytest.raises(CampaignError) as err:
        load_campaigns(folder, KINDS, reference_unit_codes())
    assert message in str(err.value)


def test_a_badly_named_or_unparsable_file_is_named(tmp_path):
    bad = tmp_path / "nam-2024.yaml"
    bad.write_text("year: 2024\n", encoding="utf-8")
    with pytest.raises(CampaignError, match="nam-2024.yaml: a campaign file is named <year>.yaml"):
        load_campaign_file(bad)
    broken = tmp_path / "2030.yaml"
    broken.write_text("year: 2030\nkinds: [\n", encoding="utf-8")
    with pytest.raises(CampaignError, match="campaigns/2030.yaml: \\(top\\): not valid YAML"):
        load_campaign_file(broken)


def test_a_broken_campaign_file_never_breaks_a_page(tmp_path, app, make_user, caplog):
    from workflow_app.services.core import campaigns as module

    states = tmp_path / "states"
    shutil.copytree(STATES, states)
    (states / "campaigns" / "2024.yaml").write_text("year: 2024\nkinds: {village_ntm: {}}\n", encoding="utf-8")
    app.config["STATES_DIR"] = str(states)
    module.clear_cache()
    try:
        d = dossier_in(make_user("submitter", "na-tam"), "na-tam-01", 2024, "draft")
        assert filing_status(d) is None
        assert "campaigns not loaded: campaigns/2024.yaml: kinds.village_ntm.deadline: missing" in caplog.text
        assert check_campaigns(states, KINDS) == ["campaigns/2024.yaml: kinds.village_ntm.deadline: missing"]
    finally:
        module.clear_cache()
