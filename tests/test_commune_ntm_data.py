"""Commune NTM data and guards: both criteria sets through the loader, indicator
validation, the submit guards at their boundaries, date fields, decision texts."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from workflow_app.pdf.decision import DecisionFacts, _placeholders, _variant
from workflow_app.services.core.dossiers import _coerce
from workflow_app.workflow.definitions import FieldDef, load_definition
from workflow_app.workflow.engine import Engine
from workflow_app.workflow.errors import DefinitionError, RuleRefused
from workflow_app.workflow.guards import GUARDS, DossierFacts, missing_params
from workflow_app.workflow.yamlfile import load_yaml

ROOT = Path(__file__).resolve().parent.parent
CRITERIA = ROOT / "states" / "criteria"
DECISIONS = ROOT / "states" / "decisions"

# A small definition with the commune submit rules, pointing at a criteria file by
# absolute path (the loader joins it to the definition's folder).
DEFINITION = """
kind: commune_test
version: 1
applicant_level: commune
labels: {{vi: Hồ sơ thử, en: Test dossier}}
criteria: {criteria}
initial: draft
states:
  draft: {{labels: {{vi: Dự thảo, en: Draft}}}}
  submitted: {{labels: {{vi: Đã nộp, en: Submitted}}}}
events:
  submit:
    from: draft
    to: submitted
    by: submitter@commune
    labels: {{vi: Nộp, en: Submit}}
    guards:
      - {{name: date_span_at_least, from: posted_from, to: posted_to, days: 15}}
      - {{name: field_at_least, field: households_agree_pct, min: 90}}
      - {{name: field_at_most, field: construction_debt_vnd, max: 0}}
actions:
  create: {{by: submitter@commune, labels: {{vi: Tạo, en: Create}}}}
  self_assess: {{by: submitter@commune, labels: {{vi: Tự đánh giá, en: Self-assess}}}}
  attach: {{by: submitter@commune, labels: {{vi: Đính kèm, en: Attach}}}}
  appraise_criterion: {{by: appraiser@province, labels: {{vi: Thẩm định, en: Appraise}}}}
fields:
  posted_from:
    type: date
    states: [draft]
    by: submitter@commune
    labels: {{vi: Niêm yết từ ngày, en: Posted from}}
  posted_to:
    type: date
    states: [draft]
    by: submitter@commune
    labels: {{vi: Niêm yết đến ngày, en: Posted until}}
  households_agree_pct:
    type: number
    min: 0
    max: 100
    states: [draft]
    by: submitter@commune
    labels: {{vi: Tỷ lệ hộ dân đồng ý (%), en: Households in favour (%)}}
  construction_debt_vnd:
    type: integer
    states: [draft]
    by: submitter@commune
    labels: {{vi: Nợ đọng xây dựng cơ bản (đồng), en: Unpaid construction debt (VND)}}
"""

GOOD = {"posted_from": "2026-03-01", "posted_to": "2026-03-15",
        "households_agree_pct": 90, "construction_debt_vnd": 0}


def _definition(tmp_path: Path, criteria: str):
    path = tmp_path / "commune_test.yaml"
    path.write_text(DEFINITION.format(criteria=CRITERIA / criteria), encoding="utf-8")
    return load_definition(path)


@pytest.fixture(scope="module")
def commune(tmp_path_factory):
    d = _definition(tmp_path_factory.mktemp("defs"), "commune_ntm_qd51_2025.yaml")
    return d, Engine({(d.kind, d.version): d})


def _refusals(commune, **changes) -> list:
    d, engine = commune
    fields = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    return engine.refusals(d, "draft", "submit", DossierFacts(state="draft", fields=fields))


# --- criteria sets -------------------------------------------------------------------

def test_qd318_set_has_the_19_commune_criteria(tmp_path):
    d = _definition(tmp_path, "commune_ntm_qd318_2022.yaml")
    assert [c.code for c in d.criteria] == [str(n) for n in range(1, 20)]
    assert d.criteria_set == "commune_ntm_qd318_2022"
    names = {c.code: c.name["vi"] for c in d.criteria}
    assert names["2"] == "Giao thông" and names["19"] == "Quốc phòng và An ninh"
    assert all(c.name["en"] and c.requirement["vi"] and c.owner["vi"] for c in d.criteria)


def test_qd51_set_has_10_criteria_with_indicators_and_unknown_targets(tmp_path):
    d = _definition(tmp_path, "commune_ntm_qd51_2025.yaml")
    assert [c.code for c in d.criteria] == [str(n) for n in range(1, 11)]
    assert d.criterion("7").name["vi"] == "Khoa học công nghệ và chuyển đổi số"
    for c in d.criteria:
        assert c.indicators, f"criterion {c.code} has no indicator"
        for ind in c.indicators:
            assert ind.code.startswith(f"{c.code}.") and ind.name["vi"] and ind.name["en"]
            # Targets are not known yet: all three groups present, none invented.
            assert ind.targets == {"group_1": None, "group_2": None, "group_3": None}
            assert ind.confidence == "L"
    assert sum(len(c.indicators) for c in d.criteria) <= 47


def _bad_criteria(tmp_path: Path, indicators: str) -> str:
    path = tmp_path / "bad_set.yaml"
    path.write_text(f"""
id: bad_set
criteria:
  - code: "1"
    name: {{vi: Quy hoạch, en: Planning}}
  - code: "2"
    name: {{vi: Hạ tầng, en: Infrastructure}}
    indicators: {indicators}
""", encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("indicators, key, problem", [
    ('[{code: "2.1", name: {vi: A, en: A}}, {code: "2.1", name: {vi: B, en: B}}]',
     "criteria[1].indicators[1].code", "duplicate code '2.1'"),
    ('[{code: "2.1", name: {vi: A}}]', "criteria[1].indicators[0].name", "needs both 'vi' and 'en'"),
    ('[{code: "3.1", name: {vi: A, en: A}}]', "criteria[1].indicators[0].code", "must start with '2.'"),
    ('[{name: {vi: A, en: A}}]', "criteria[1].indicators[0].code", "missing"),
    ('{code: "2.1"}', "criteria[1].indicators", "must be a list"),
    ('[{code: "2.1", name: {vi: A, en: A}, targets: [1, 2]}]', "criteria[1].indicators[0].targets",
     "must be a mapping"),
    ('[{code: "2.1", name: {vi: A, en: A}, confidence: X}]', "criteria[1].indicators[0].confidence",
     "must be H, M or L"),
])
def test_bad_indicators_are_refused_naming_file_and_key(tmp_path, indicators, key, problem):
    bad = _bad_criteria(tmp_path, indicators)
    with pytest.raises(DefinitionError) as caught:
        _definition(tmp_path, bad)
    assert str(caught.value).startswith(f"bad_set.yaml: {key}: ")
    assert problem in str(caught.value)


def test_same_indicator_code_under_two_criteria_is_a_prefix_error_not_a_duplicate(tmp_path):
    # Codes are unique within a criterion; "2.1" under criterion 1 fails on its prefix.
    path = tmp_path / "bad_set.yaml"
    path.write_text("""
criteria:
  - {code: "1", name: {vi: A, en: A}, indicators: [{code: "1.1", name: {vi: a, en: a}}]}
  - {code: "2", name: {vi: B, en: B}, indicators: [{code: "2.1", name: {vi: b, en: b}}]}
""", encoding="utf-8")
    d = _definition(tmp_path, str(path))
    assert [i.code for c in d.criteria for i in c.indicators] == ["1.1", "2.1"]


# --- guards ---------------------------------------------------------------------------

def test_good_values_pass_every_submit_guard(commune):
    assert _refusals(commune) == []


@pytest.mark.parametrize("posted_to, refused", [("2026-03-14", True), ("2026-03-15", False), ("2026-04-30", False)])
def test_posting_needs_15_days_counting_first_and_last(commune, posted_to, refused):
    reasons = _refusals(commune, posted_to=posted_to)
    assert bool(reasons) is refused
    if refused:
        (r,) = reasons
        assert "01/03/2026" in r.vi and "14/03/2026" in r.vi
        assert "14 ngày" in r.vi and "thiếu 1 ngày" in r.vi and "15 ngày" in r.vi
        assert "Niêm yết từ ngày" in r.vi and "2026-03-14" in r.en and "1 short" in r.en


def test_posting_that_ends_before_it_starts_is_refused(commune):
    (r,) = _refusals(commune, posted_from="2026-03-20", posted_to="2026-03-01")
    assert "01/03/2026" in r.vi and "20/03/2026" in r.vi and "trước" in r.vi


@pytest.mark.parametrize("missing", ["posted_from", "posted_to"])
def test_posting_without_a_date_is_refused(commune, missing):
    (r,) = _refusals(commune, **{missing: None})
    assert f"({missing})" in r.vi and "Chưa nhập" in r.vi and "YYYY-MM-DD" in r.en


@pytest.mark.parametrize("pct, refused", [(89.9, True), (90, False), (90.0, False), (100, False)])
def test_households_in_favour_at_least_90(commune, pct, refused):
    reasons = _refusals(commune, households_agree_pct=pct)
    assert bool(reasons) is refused
    if refused:
        assert "'Tỷ lệ hộ dân đồng ý (%)' (households_agree_pct) là 89,9, cần tối thiểu 90." == reasons[0].vi
        assert "is 89.9" in reasons[0].en


@pytest.mark.parametrize("debt, refused", [(0, False), (1, True), (1_500_000, True), (None, True)])
def test_construction_debt_must_be_zero_and_entered(commune, debt, refused):
    reasons = _refusals(commune, construction_debt_vnd=debt)
    assert bool(reasons) is refused
    if debt == 1_500_000:
        assert reasons[0].vi == ("'Nợ đọng xây dựng cơ bản (đồng)' (construction_debt_vnd) là 1.500.000, "
                                 "chỉ được tối đa 0.")
        assert "1,500,000" in reasons[0].en and "Unpaid construction debt" in reasons[0].en
    if debt is None:
        assert reasons[0].vi.startswith("Chưa nhập 'Nợ đọng xây dựng cơ bản (đồng)'")


def test_all_failures_are_listed_at_once(commune):
    reasons = _refusals(commune, posted_to="2026-03-02", households_agree_pct=50, construction_debt_vnd=3)
    assert len(reasons) == 3


def test_guards_without_labels_name_the_field():
    facts = DossierFacts(state="draft", fields={"x": 5})
    (r,) = GUARDS["field_at_most"](facts, {"field": "x", "max": 2})
    assert r.vi == "'x' là 5, chỉ được tối đa 2."


def test_guard_parameters_are_declared():
    assert missing_params("date_span_at_least", {"from": "a", "to": "b"}) == ["days"]
    assert missing_params("field_at_most", {"field": "x", "max": 0}) == []  # 0 is a value
    assert missing_params("field_at_least", {}) == ["field", "min"]


# --- date fields ------------------------------------------------------------------------

DATE_FIELD = FieldDef(name="posted_from", type="date", by=(), states=("draft",),
                      labels={"vi": "Niêm yết từ ngày", "en": "Posted from"})


@pytest.mark.parametrize("value, stored", [("2026-03-01", "2026-03-01"), (" 2024-02-29 ", "2024-02-29"), (None, None)])
def test_a_date_field_keeps_the_iso_date(value, stored):
    assert _coerce(DATE_FIELD, value) == stored


@pytest.mark.parametrize("value", ["2026-02-30", "01/03/2026", "20260301", "2026-3-1", "2026-W09-1", "",
                                   20260301, True])
def test_a_bad_date_is_refused_with_422_in_vietnamese(value):
    with pytest.raises(RuleRefused) as caught:
        _coerce(DATE_FIELD, value)
    assert caught.value.status == 422
    assert caught.value.text.vi.startswith("'Niêm yết từ ngày' phải là một ngày có thật, dạng YYYY-MM-DD")
    assert "YYYY-MM-DD" in caught.value.text.en


# --- decision texts ----------------------------------------------------------------------

def _facts(units, document="recognition"):
    extra = {} if document == "recognition" else dict(
        original_symbol="07/QĐ-UBND", original_date=date(2024, 11, 5),
        original_subject="Về việc công nhận ...", reason="Không còn đạt tiêu chí 2")
    return DecisionFacts(
        kind="commune_ntm", issuer_code="lai-chau", issuer_name="Tỉnh Lai Châu", issuer_place="Lai Châu",
        number=1, symbol="01/QĐ-UBND", issued_on=date(2026, 9, 1), year=2026, units=units,
        proposer="Ủy ban nhân dân xã Tả Lèng", request_ref=None, appraisal_ref=None, signer_name="Nguyễn Văn A",
        signer_capacity="chairman", verify_url="https://example.invalid/v/x", dossier_codes=["X"],
        document=document, **extra)


def _fill_all(spec, values, single):
    """Every text of a section, with its placeholders filled (KeyError if one is unknown)."""
    spec = _variant(spec, single) if isinstance(spec, dict) and ("single" in spec or "multiple" in spec) else spec
    if isinstance(spec, str):
        return [spec.format_map(values)]
    if isinstance(spec, list):
        return [t for item in spec for t in _fill_all(item, values, single)]
    if isinstance(spec, dict):
        return [t for key, item in spec.items() if key != "units_table" for t in _fill_all(item, values, single)]
    return []


SECTIONS = [  # (file, how to pick the sections laid over `default`)
    ("commune_ntm", lambda doc: [v for v in doc["variants"] if "issued_from" in v["when"]]),
    ("commune_ntm", lambda doc: doc["variants"]),
    ("commune_ntm", lambda doc: []),
    ("commune_ntm_revocation", lambda doc: []),
    ("commune_ntm_revocation", lambda doc: doc["variants"]),
    ("village_ntm", lambda doc: [doc["levels"]["commune"]]),
    ("village_ntm_revocation", lambda doc: [doc["levels"]["commune"]]),
]


@pytest.mark.parametrize("name, pick", SECTIONS)
@pytest.mark.parametrize("units", [[("Xã Tả Lèng", "tỉnh Lai Châu")],
                                   [("Xã Tả Lèng", "tỉnh Lai Châu"), ("Xã Bình Lư", "tỉnh Lai Châu")]])
def test_decision_texts_fill_for_one_unit_and_several(name, pick, units):
    doc = load_yaml(DECISIONS / f"{name}.yaml")
    texts = dict(doc["default"])
    for section in pick(doc):
        texts.update({k: v for k, v in section.items() if k != "when"})
    document = "revocation" if name.endswith("_revocation") else "recognition"
    facts = _facts(units, document)
    single = len(units) == 1
    sections = ("issuer_lines", "authority", "subject", "legal_bases", "consider", "articles", "recipients")
    filled = _fill_all({k: texts[k] for k in sections}, _placeholders(facts, single), single)
    assert filled and all("{" not in t for t in filled)
    # Every legal basis cites a full date ("ngày .. tháng .. năm ....") or the original decision.
    for line in texts["legal_bases"]:
        assert ("ngày" in line and "tháng" in line or "{original_date}" in line
                or "năm 2022 của Ủy ban nhân dân tỉnh Lào Cai" in line), line


def test_commune_decision_names_the_province_and_the_programme_of_the_year():
    doc = load_yaml(DECISIONS / "commune_ntm.yaml")
    values = _placeholders(_facts([("Xã Tả Lèng", "huyện Tam Đường")]), True)
    d = doc["default"]
    assert [t.format_map(values) for t in d["issuer_lines"]] == ["ỦY BAN NHÂN DÂN", "TỈNH LAI CHÂU"]
    assert d["authority"].format_map(values) == "CHỦ TỊCH ỦY BAN NHÂN DÂN TỈNH LAI CHÂU"
    assert _variant(d["subject"], True).format_map(values) == \
        "Về việc công nhận Xã Tả Lèng, huyện Tam Đường đạt chuẩn nông thôn mới năm 2026"
    assert any("318/QĐ-TTg ngày 08 tháng 3 năm 2022" in b for b in d["legal_bases"])
    assert any("18/2022/QĐ-TTg ngày 02 tháng 8 năm 2022" in b for b in d["legal_bases"])
    later = {str(v["when"]): v for v in doc["variants"]}
    assert any("51/2025/QĐ-TTg ngày 29 tháng 12 năm 2025" in b for b in later["{'years': [2026, 2030]}"]["legal_bases"])
    reform = later["{'issued_from': datetime.date(2025, 7, 1)}"]["legal_bases"]
    assert any("72/2025/QH15" in b for b in reform) and any("131/2025/NĐ-CP" in b for b in reform)
    assert not any("ngày 19 tháng 6 năm 2015" in b for b in reform)


# --- through the API (the commune_ntm road of the district era) ----------------------------

def _commune_dossier(make_user, api_as):
    api = api_as(make_user("submitter", "ta-leng"))
    r = api.post("/api/v1/dossiers", json={"kind": "commune_ntm", "unit": "ta-leng", "year": 2024})
    assert r.status_code == 201, r.json
    return api, r.json["id"]


@pytest.mark.parametrize("value", ["2024-02-30", "05/08/2024", "yesterday", 20240805])
def test_api_refuses_a_bad_date_with_422_and_keeps_nothing(app, make_user, api_as, value):
    api, did = _commune_dossier(make_user, api_as)
    r = api.put(f"/api/v1/dossiers/{did}/fields", json={"posted_to": "2024-08-20", "posted_from": value})
    assert r.status_code == 422, r.json
    assert "Ngày bắt đầu niêm yết công khai báo cáo" in r.json["error"]["message"]
    assert "YYYY-MM-DD" in r.json["error"]["message"]
    assert api.get(f"/api/v1/dossiers/{did}").json["fields"].get("posted_to") is None


def test_api_stores_dates_and_submit_counts_the_posting_days(app, make_user, api_as):
    api, did = _commune_dossier(make_user, api_as)
    r = api.put(f"/api/v1/dossiers/{did}/fields", json={
        "posted_from": "2024-08-01", "posted_to": "2024-08-14", "households_agree_pct": 92.5,
        "construction_debt_vnd": 0})
    assert r.status_code == 200, r.json
    assert r.json["fields"]["posted_from"] == "2024-08-01"
    r = api.post(f"/api/v1/dossiers/{did}/events", json={"event": "submit"})
    assert r.status_code == 422
    message = r.json["error"]["message"]
    assert "01/08/2024" in message and "14/08/2024" in message and "còn thiếu 1 ngày" in message
