"""The progress dashboard on a generated data set with known answers.

Every figure of services.reporting.dashboard is compared with the same figure computed
here independently: ORM objects walked in Python (latest dossier per village
picked by hand, criteria counted from `current_criteria()`), the registrations
read straight from states/campaigns/2024.yaml. A few figures are also written
out by hand, so a mistake shared by both computations still shows.
"""
from __future__ import annotations

import io
import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest
import yaml
from helpers import dossier_in, statements
from openpyxl import load_workbook

from workflow_app.clock import local_today
from workflow_app.extensions import db
from workflow_app.models import CriterionEntry, Dossier, Unit
from workflow_app.permissions import scope_of
from workflow_app.services import create_dossier
from workflow_app.services.reporting.dashboard import dashboard
from workflow_app.services.reporting.monthly_report import overdue_summary
from workflow_app.services.reporting.progress_export import DASHBOARD_SHEETS
from workflow_app.web.dashboard_views import OVERDUE_SHOWN

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parent.parent
YEAR = 2024
ALL = tuple(str(n) for n in range(1, 15))


def shape(dossier: Dossier, *, met=ALL, verdicts: dict | None = None, round_: int | None = None) -> None:
    """Set the current round's claims (`met` are met, the rest not_met) and verdicts
    (code -> pass/fail; the rest none). With round_, the old round keeps everything
    met and passed, and a new round carries the given values."""
    if round_ is not None:
        for entry in list(dossier.current_criteria()):
            dossier.criteria.append(CriterionEntry(round=round_, code=entry.code, position=entry.position))
        dossier.round = round_
    verdicts = verdicts or {}
    for entry in dossier.current_criteria():
        entry.self_assessment = "met" if entry.code in met else "not_met"
        entry.verdict = verdicts.get(entry.code)
    db.session.commit()


def closed(dossier: Dossier) -> None:
    dossier.open_key = None  # a closed dossier frees the village's slot for the year
    db.session.commit()


@pytest.fixture
def world(app, make_user):
    nt = make_user("submitter", "na-tam")
    gm = make_user("submitter", "giang-ma")
    sb = make_user("submitter", "son-binh")
    town = make_user("preparer", "tt-tam-duong")
    ids = {}
    ids["nt1"] = dossier_in(nt, "na-tam-01", YEAR, "recognized")                      # 14 met, 14 pass
    d = dossier_in(nt, "na-tam-02", YEAR, "draft")                                    # 10 met, none judged
    shape(d, met=ALL[:10])
    d = dossier_in(nt, "na-tam-03", YEAR, "submitted")                                # 14 met, 1-5 pass
    shape(d, verdicts={c: "pass" for c in ALL[:5]})
    d = dossier_in(nt, "na-tam-04", YEAR, "returned")  # round 2: 7 not met and unjudged, 8 failed
    shape(d, met=tuple(c for c in ALL if c != "7"),
          verdicts={c: "pass" for c in ALL if c not in ("7", "8")} | {"8": "fail"}, round_=2)
    ids["nt5"] = dossier_in(nt, "na-tam-05", YEAR, "appraised").id                   # 14 / 14
    old = dossier_in(nt, "na-tam-06", YEAR - 1, "recognized")                         # another year: not counted
    closed(old)
    rejected = dossier_in(gm, "giang-ma-01", YEAR, "rejected")                        # replaced: not counted
    closed(rejected)
    d = dossier_in(gm, "giang-ma-01", YEAR, "draft")                                  # latest: 3 met
    shape(d, met=ALL[:3])
    closed(dossier_in(gm, "giang-ma-02", YEAR, "revoked"))                            # 14 / 14
    d = dossier_in(gm, "giang-ma-03", YEAR, "submitted")                              # 14 met, 12 failed
    shape(d, verdicts={"12": "fail"})
    d = dossier_in(sb, "son-binh-01", YEAR, "draft")                                  # nothing met
    shape(d, met=())
    t = create_dossier(town, "town_civilized", "tt-tam-duong", YEAR)
    for entry in t.current_criteria():
        entry.self_assessment = "met" if int(entry.code) <= 5 else None
    db.session.commit()
    ids["town"] = t.id
    viewer = make_user("viewer", "tam-duong")
    return {"viewer": viewer, "nt": nt, "gm": gm, "ids": ids, "town": town}


# ----------------------------------------------------------------------------- independent answers

def expected(paths: list[str], year: int = YEAR) -> dict:
    """The dashboard's figures computed from ORM objects, without its SQL, in the
    tree of the year's last day (a later reform moved the villages)."""
    day = date(year, 12, 31)

    def under(unit: Unit) -> bool:
        return any((unit.path_on(day) or "").startswith(p) for p in paths)

    dossiers = [x for x in db.session.execute(db.select(Dossier)).scalars()
                if x.kind == "village_ntm" and x.year == year and under(x.unit)]
    latest: dict[int, Dossier] = {}
    for x in dossiers:
        if x.unit_id not in latest or x.id > latest[x.unit_id].id:
            latest[x.unit_id] = x
    communes = {}
    units = list(db.session.execute(db.select(Unit)).scalars())
    for c in units:
        if c.level == "commune" and under(c):
            communes[c.code] = {"villages": sum(1 for u in units if u.parent_on(day) is c and u.level == "village"),
                                "dossiers": sum(1 for x in dossiers if x.unit.parent_on(day) is c),
                                "by_state": defaultdict(int), "met": [], "passed": []}
    criteria = defaultdict(lambda: [0, 0])
    of = judged_total = 0
    for x in latest.values():
        row = communes[x.unit.parent_on(day).code]
        row["by_state"][x.state] += 1
        entries = x.current_criteria()
        met = sum(1 for e in entries if e.self_assessment == "met")
        judged = any(e.verdict is not None for e in entries)
        row["met"].append(met)
        of += 1
        if judged:
            row["passed"].append(sum(1 for e in entries if e.verdict == "pass"))
            judged_total += 1
        for e in entries:
            criteria[e.code][0] += e.self_assessment == "met"
            criteria[e.code][1] += judged and e.verdict == "pass"
    return {"communes": communes, "criteria": dict(criteria), "of": of, "judged": judged_total}


def avg(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None


def registered_from_file() -> dict[str, int]:
    doc = yaml.safe_load((ROOT / "states" / "campaigns" / "2024.yaml").read_text(encoding="utf-8"))
    counts: dict[str, int] = defaultdict(int)
    for code in doc["kinds"]["village_ntm"]["registered"]:
        counts[code.rsplit("-", 1)[0]] += 1  # village codes are <commune>-NN (CONTRACT)
    return counts


# ----------------------------------------------------------------------------- figures

def test_every_figure_equals_an_independent_count(world):
    dash = dashboard(world["viewer"], YEAR)
    want = expected(["/lai-chau/tam-duong/"])
    registered = registered_from_file()
    assert [c.code for c in dash.communes] == sorted(want["communes"], key=lambda code: next(
        c.name for c in dash.communes if c.code == code))
    assert len(dash.communes) == 12
    for c in dash.communes:
        w = want["communes"][c.code]
        assert c.villages == w["villages"], c.code
        assert c.dossiers == w["dossiers"], c.code
        assert c.by_state == {s: n for s, n in w["by_state"].items() if n}, c.code
        assert c.with_dossier == len(w["met"]), c.code
        assert c.avg_self == avg(w["met"]), c.code
        assert c.appraised == len(w["passed"]), c.code
        assert c.avg_appraised == avg(w["passed"]), c.code
        assert c.registered == registered.get(c.code, 0), c.code
    all_met = [m for w in want["communes"].values() for m in w["met"]]
    all_passed = [p for w in want["communes"].values() for p in w["passed"]]
    assert (dash.total.with_dossier, dash.total.avg_self) == (len(all_met), avg(all_met))
    assert (dash.total.appraised, dash.total.avg_appraised) == (len(all_passed), avg(all_passed))
    assert dash.total.registered == sum(registered.values())
    for c in dash.criteria:
        assert (c.self_met, c.passed) == tuple(want["criteria"][c.code]), c.code
        assert (c.of, c.appraised_of) == (want["of"], want["judged"])


def test_known_answers(world):
    """The same data set, figures worked out by hand (see the fixture's comments)."""
    dash = dashboard(world["viewer"], YEAR)
    by = {c.code: c for c in dash.communes}
    na_tam, giang_ma, son_binh = by["na-tam"], by["giang-ma"], by["son-binh"]
    assert (na_tam.villages, na_tam.dossiers, na_tam.with_dossier) == (9, 5, 5)
    assert na_tam.by_state == {"recognized": 1, "draft": 1, "submitted": 1, "returned": 1, "appraised": 1}
    assert na_tam.avg_self == 13.0  # (14 + 10 + 14 + 13 + 14) / 5
    assert (na_tam.appraised, na_tam.avg_appraised) == (4, 11.25)  # (14 + 5 + 12 + 14) / 4
    assert (giang_ma.dossiers, giang_ma.with_dossier) == (4, 3)  # the rejected one was replaced
    assert giang_ma.by_state == {"draft": 1, "revoked": 1, "submitted": 1}
    assert giang_ma.avg_self == 10.33 and (giang_ma.appraised, giang_ma.avg_appraised) == (2, 7.0)
    assert (son_binh.avg_self, son_binh.appraised, son_binh.avg_appraised) == (0.0, 0, None)
    assert by["ban-bo"].avg_self is None and by["ban-bo"].by_state == {}
    assert (na_tam.registered, giang_ma.registered, son_binh.registered) == (7, 5, 3)
    assert (dash.total.with_dossier, dash.total.avg_self, dash.total.appraised) == (9, 10.67, 6)
    # Weakest first: 7 (3 of 6 passed, 6 of 9 met), then 8 (3 of 6, 7 of 9).
    assert [c.code for c in dash.criteria[:2]] == ["7", "8"]
    assert (dash.criteria[0].passed, dash.criteria[0].appraised_of, dash.criteria[0].self_met, dash.criteria[0].of) \
        == (3, 6, 6, 9)
    assert [(x.code, x.met, x.total) for x in dash.district] == [("tam-duong", 3, 9)]
    from datetime import date
    assert dash.deadline == date(2024, 9, 30)
    [town] = dash.towns
    assert (town.code, town.dossier_id, town.self_met, town.passed, len(town.criteria)) == \
        ("tt-tam-duong", world["ids"]["town"], 5, 0, 9)


def test_a_commune_officer_sees_only_their_commune(world):
    dash = dashboard(world["nt"], YEAR)
    assert [c.code for c in dash.communes] == ["na-tam"]
    want = expected(["/lai-chau/tam-duong/na-tam/"])
    assert dash.total.with_dossier == len(want["communes"]["na-tam"]["met"]) == 5
    assert dash.total.avg_self == 13.0
    assert {c.code: (c.self_met, c.passed) for c in dash.criteria} == \
        {code: tuple(v) for code, v in want["criteria"].items()}
    assert dash.towns == []  # the town is not in Nà Tăm's subtree


def test_a_few_queries_whatever_the_number_of_dossiers(world, make_user):
    """Grouped SQL: adding dossiers does not add queries, nor do the rows or the towns
    bind more than one id each."""
    def count_queries() -> list:
        db.session.expire_all()
        with statements() as seen:
            dashboard(world["viewer"], YEAR)
        return seen

    before = count_queries()
    for n in range(4, 10):
        dossier_in(world["gm"], f"giang-ma-{n:02d}", YEAR, "submitted")
    after = count_queries()
    assert len(after) == len(before)
    # The user, roles and their units' links (expired above: 3), the rows (2), one pass over
    # the dossiers and criteria, the town with its dossier and its criteria (2), the
    # district's figure, the campaign's registrations.
    assert len(before) <= 11, [s.split("FROM")[0][:80] for s in before]


def test_every_figure_counts_every_dossier_of_a_village_refiled_many_times(world):
    """A village with several dossiers of the year counts them all in "dossiers" and
    only its latest in the other figures (the windows over each village's dossiers)."""
    gm = world["gm"]
    for _ in range(3):
        closed(dossier_in(gm, "giang-ma-04", YEAR, "rejected"))
    d = dossier_in(gm, "giang-ma-04", YEAR, "draft")
    shape(d, met=ALL[:2])
    dash = dashboard(world["viewer"], YEAR)
    giang_ma = next(c for c in dash.communes if c.code == "giang-ma")
    want = expected(["/lai-chau/tam-duong/"])["communes"]["giang-ma"]
    assert (giang_ma.dossiers, giang_ma.with_dossier) == (want["dossiers"], len(want["met"])) == (8, 4)
    assert giang_ma.by_state == {"draft": 2, "revoked": 1, "submitted": 1}
    assert giang_ma.avg_self == avg(want["met"]) == (3 + 14 + 14 + 2) / 4
    assert (giang_ma.appraised, giang_ma.avg_appraised) == (2, 7.0)  # the revoked one and Giang Ma 03


# ----------------------------------------------------------------------------- pages and export

def login(app, user):
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": "pw-123456"})
    assert r.status_code == 302
    return client


def test_the_page_draws_its_charts_inline_and_names_how_it_counts(app, world):
    client = login(app, world["viewer"])
    r = client.get(f"/dashboard?year={YEAR}&kind=village_ntm")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.count("<svg") == 2 and 'id="chart-states"' in html and 'id="chart-criteria"' in html
    assert html.count("<title id=") == 2 and html.count("<desc id=") == 2
    assert "<script" not in html
    # No external request: the only absolute URL is the SVG namespace (not fetched).
    assert set(re.findall(r'(?:src|href)="(https?://[^"]+)"', html)) == set()
    assert "hồ sơ mới nhất của bản trong năm" in html
    assert re.search(r'<tr id="xa-na-tam">.*?<td data-avg="self">13</td>', html, re.DOTALL)
    assert 'href="/dashboard.xlsx?year=2024&amp;kind=village_ntm"' in html
    assert len(r.data) < 200 * 1024


def test_the_page_lists_the_most_late_dossiers_and_counts_them_all(app, world):
    """Overdue dossiers: the page counts them all and lists the most late few, the rest
    one click away on the paged list."""
    for n in range(4, 10):
        dossier_in(world["gm"], f"giang-ma-{n:02d}", YEAR, "draft")  # drafts after the 2024 deadline
    for n in range(6, 10):
        dossier_in(world["nt"], f"na-tam-{n:02d}", YEAR, "draft")
    total = overdue_summary(scope_of(world["viewer"], progress=True), local_today()).total
    assert total > OVERDUE_SHOWN
    html = login(app, world["viewer"]).get(f"/dashboard?year={YEAR}").get_data(as_text=True)
    table = re.search(r'<table class="stack" id="overdue-table">.*?<tbody>(.*?)</tbody>', html, re.DOTALL).group(1)
    assert table.count("<tr>") == OVERDUE_SHOWN
    assert f"{total} hồ sơ quá hạn" in html
    assert re.search(r'id="overdue-more">[^<]*{} hồ sơ trễ nhất trong {} hồ sơ'.format(OVERDUE_SHOWN, total), html)
    assert 'href="/reports/monthly/overdue"' in html


def test_the_page_opens_on_this_year_and_offers_the_years_with_dossiers(app, world):
    html = login(app, world["viewer"]).get("/dashboard").get_data(as_text=True)
    this_year = local_today().year
    assert f"năm {this_year}" in html and 'id="xa-na-tam"' in html
    offered = re.search(r'<select id="year" name="year">(.*?)</select>', html, re.DOTALL).group(1)
    assert re.findall(r'<option value="(\d+)"', offered) == \
        [str(y) for y in sorted({this_year, YEAR, YEAR - 1}, reverse=True)]  # YEAR - 1: Nà Tăm 06


def test_texts_from_data_are_escaped_in_the_svg(app, world):
    unit = db.session.execute(db.select(Unit).where(Unit.code == "na-tam")).scalar_one()
    unit.name = 'Xã <script>alert("x")</script> & Nà Tăm'
    db.session.commit()
    html = login(app, world["viewer"]).get(f"/dashboard?year={YEAR}").get_data(as_text=True)
    assert "<script>" not in html
    assert "Xã &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Nà Tăm" in html \
        or "Xã &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Nà Tăm" in html


@pytest.mark.parametrize(("query", "says"), [
    ("year=abc", "Hãy nhập năm bằng bốn chữ số"),
    ("year=1999", "từ 2020 đến 2100"),
    ("year=2024.5", "Hãy nhập năm"),
    ("kind=no_such_kind", "Hồ sơ công nhận bản đạt chuẩn nông thôn mới"),
    ("kind=%3Cb%3E", "Hãy chọn một trong"),
])
def test_bad_parameters_are_a_400_page_saying_what_to_enter(app, world, query, says):
    client = login(app, world["viewer"])
    for path in ("/dashboard", "/dashboard.xlsx"):
        r = client.get(f"{path}?{query}")
        assert r.status_code == 400, (path, query)
        body = r.get_data(as_text=True)
        assert says in body
        assert "<b>" not in body


def test_village_heads_are_sent_to_their_dossiers(app, make_user, world):
    head = make_user("preparer", "na-tam-01")
    client = login(app, head)
    for path in ("/dashboard", "/dashboard.xlsx"):
        r = client.get(path)
        assert r.status_code == 403
    assert "Tiến độ" not in client.get("/").get_data(as_text=True).split("<main>")[0]
    assert 'href="/dashboard"' in login(app, world["viewer"]).get("/").get_data(as_text=True)


def test_the_workbook_holds_the_tables(app, world):
    r = login(app, world["viewer"]).get(f"/dashboard.xlsx?year={YEAR}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    assert "tien-do-ntm-village-ntm-2024.xlsx" in r.headers["Content-Disposition"]
    wb = load_workbook(io.BytesIO(r.data))
    assert tuple(wb.sheetnames) == DASHBOARD_SHEETS
    dash = dashboard(world["viewer"], YEAR)
    ws = wb["Theo xã"]
    headings = [c.value for c in ws[2]]
    rows = {r[0]: dict(zip(headings, r, strict=True)) for r in ws.iter_rows(min_row=3, values_only=True) if r[0]}
    na_tam = rows["Xã Nà Tăm"]
    assert (na_tam["Số bản"], na_tam["Bản đăng ký"], na_tam["Số hồ sơ"], na_tam["Bản có hồ sơ"]) == (9, 7, 5, 5)
    assert na_tam["Đã công nhận"] == 1 and na_tam["TB tiêu chí đạt (tự đánh giá)"] == 13.0
    assert na_tam["TB tiêu chí đạt (thẩm định)"] == 11.25
    total = rows["Tổng cộng"]
    assert total["Bản có hồ sơ"] == dash.total.with_dossier == 9
    assert total["Số hồ sơ"] == sum(c.dossiers for c in dash.communes)
    criteria = [r for r in wb["Theo tiêu chí"].iter_rows(min_row=3, values_only=True)]
    assert [(r[1], r[3], r[4], r[5], r[6]) for r in criteria] == \
        [(c.code, c.self_met, c.of, c.passed, c.appraised_of) for c in dash.criteria]
    assert criteria[0][:2] == (1, "7")
    town = list(wb["Thị trấn"].iter_rows(min_row=3, values_only=True))
    assert len(town) == 9 and sum(1 for r in town if r[4] == "Đạt") == 5
    assert list(wb["Huyện"].iter_rows(min_row=3, values_only=True)) == [("Huyện Tam Đường", 3, 9)]
