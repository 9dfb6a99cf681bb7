"""The progress dashboard: where a campaign year stands, per commune and per
criterion, for the units a user may see. Plain dataclasses for the page, the
XLSX export and the monthly report.

What the figures count (said on the page too):
- the applicants of a kind are units of its applicant level (villages for a
  village kind); each applicant counts once, through its **latest dossier of the
  year** (the highest id: a village refused in May and filing again in August
  counts with the August dossier);
- "criteria met, self-assessed" is the number of criteria of that dossier's
  current round assessed `met`;
- "criteria met, as appraised" is the number of criteria of the current round
  with verdict `pass`, over the latest dossiers whose appraisal has begun (at
  least one verdict in the current round: a returned dossier keeps its passed
  verdicts, a draft has none). A criterion not yet appraised counts as not met.
- a kind made of lines (no criteria: plans, requests) shows its applicants' latest
  dossiers by state only; the criteria figures, averages and table are left out.

Everything comes from a handful of grouped SQL queries, whatever the number of
dossiers: never one query per dossier.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, case, func, literal, null, true

from ...clock import local_today
from ...extensions import db
from ...models import CriterionEntry, Dossier, Unit, UnitLink, User
from ...months import FIRST_YEAR, LAST_YEAR, valid_year
from ...permissions import Scope, meets_clause, scope_clause, scope_of
from ...validation import is_digits
from ...workflow.errors import BadRequest
from ..core.campaigns import campaigns
from ..core.common import engine
from ..core.eras import groups_on, place_on, units_on, year_day

log = logging.getLogger(__name__)
# Aliases built once (an alias made per call costs SQLAlchemy a fresh adaptation of
# every column it touches).
_PLACE, _PARENT, _TOWN_DOSSIER = (db.aliased(UnitLink, name="place"), db.aliased(Unit, name="parent"),
                                  db.aliased(Dossier, name="town_dossier"))



@dataclass
class CommuneProgress:
    code: str
    name: str
    villages: int                  # village units of the commune
    registered: int | None         # villages registered in the campaign (None: no campaign data)
    dossiers: int                  # every dossier of the kind and year (replaced ones included)
    with_dossier: int              # villages with a dossier = latest dossiers counted below
    by_state: dict[str, int] = field(default_factory=dict)
    avg_self: float | None = None  # over the `with_dossier` latest dossiers
    appraised: int = 0             # latest dossiers whose appraisal has begun
    avg_appraised: float | None = None  # over those `appraised` dossiers
    decided_states: tuple[str, ...] = ()  # where the kind's decision events lead (recognised)

    @property
    def recognized(self) -> int:
        return sum(self.by_state.get(s, 0) for s in self.decided_states)


@dataclass
class CriterionProgress:
    code: str
    name: str
    position: int
    self_met: int       # latest dossiers whose current round says `met`
    passed: int         # latest dossiers under appraisal whose current round says `pass`
    of: int             # latest dossiers (denominator of self_met)
    appraised_of: int   # latest dossiers under appraisal (denominator of passed)

    @property
    def self_share(self) -> float:
        return self.self_met / self.of if self.of else 0.0

    @property
    def pass_share(self) -> float:
        return self.passed / self.appraised_of if self.appraised_of else 0.0


@dataclass
class TownCriterion:
    code: str
    name: str
    self_assessment: str | None
    verdict: str | None


@dataclass
class TownProgress:
    code: str
    name: str
    dossier_id: int | None
    dossier_code: str | None
    kind: str | None
    state: str | None
    criteria: list[TownCriterion] = field(default_factory=list)

    @property
    def self_met(self) -> int:
        return sum(1 for c in self.criteria if c.self_assessment == "met")

    @property
    def passed(self) -> int:
        return sum(1 for c in self.criteria if c.verdict == "pass")


@dataclass
class DistrictCriteria:
    code: str
    name: str
    met: int
    total: int


@dataclass
class Dashboard:
    year: int
    kind: str
    kind_label: str
    states: list[str]                 # state names in definition order
    state_labels: dict[str, str]
    criteria_count: int               # criteria in the kind's current set
    communes: list[CommuneProgress]
    total: CommuneProgress            # the sum over the communes shown
    criteria: list[CriterionProgress]  # weakest first
    towns: list[TownProgress]
    district: list[DistrictCriteria]
    deadline: date | None = None      # the campaign's filing deadline, when known
    has_campaign: bool = False
    has_criteria: bool = True         # False for a kind made of lines: counts by state only

    @property
    def lagging_communes(self) -> list[CommuneProgress]:
        """Communes with dossiers, lowest self-assessed average first (the page's 'lag' list)."""
        rows = [c for c in self.communes if c.avg_self is not None]
        return sorted(rows, key=lambda c: (c.avg_self, c.avg_appraised or 0, c.name))[:3]


# ----------------------------------------------------------------------------- parameters

def dashboard_kinds() -> list[str]:
    """Every kind, the most local applicants first: the first is the page's default.
    Applicants are grouped under their parents of the year (villages under communes,
    communes under their district or province)."""
    return engine().kinds_by_level()


def check_kind(kind: str) -> str:
    kinds = dashboard_kinds()
    if kind not in kinds:
        raise BadRequest(
            f"Loại hồ sơ '{kind}' không có trên trang tiến độ. "
            f"Hãy chọn một trong: {engine().kind_labels(kinds, 'vi')}.",
            f"Dossier kind '{kind}' has no progress dashboard. Choose one of: {engine().kind_labels(kinds, 'en')}.")
    return kind


def parse_year(raw: str | None, default: int) -> int:
    """?year= as an integer FIRST_YEAR..LAST_YEAR (months.valid_year); an explanatory 400 otherwise."""
    if raw is None or raw == "":
        return default
    text = raw.strip()
    if not is_digits(text) or not valid_year(int(text)):
        raise BadRequest(
            f"Năm '{raw[:20]}' không hợp lệ. Hãy nhập năm bằng bốn chữ số, từ {FIRST_YEAR} đến {LAST_YEAR} "
            "(ví dụ: year=2024).",
            f"Year '{raw[:20]}' is not valid. Enter a four-digit year from {FIRST_YEAR} to {LAST_YEAR} "
            "(for example year=2024).")
    return int(text)


# ----------------------------------------------------------------------------- scope

def can_see_progress(user: User) -> bool:
    """District (or wider) officials and commune / town officers: a role at a unit
    above the village. Village heads see their dossiers, not the dashboard."""
    return user.active and any(ra.unit.level != "village" for ra in user.roles)


def latest_ids(kind: str, year: int, scope: Scope, level: str | None = None):
    """Select of the latest dossier id per applicant unit in scope (`_latest_rows`).
    `level`, the kind's applicant level, is implied by the kind."""
    return db.select(_latest_rows(kind, year, scope).subquery().c.id)


# ----------------------------------------------------------------------------- the dashboard

def dashboard(user: User, year: int, kind: str | None = None, lang: str = "vi",
              today: date | None = None) -> Dashboard:
    """The year's figures grouped by the tree of its reference day (eras.year_day);
    `kind` defaults to the first of `dashboard_kinds`. A fixed number of statements
    whatever the data: the rows (eras.groups_on), one pass over the year's dossiers
    and their criteria (`_figures`), the towns, the district figures and the
    campaign's registrations."""
    kind = check_kind(kind or dashboard_kinds()[0])
    d = engine().definition(kind)
    scope = scope_of(user, progress=True)
    day = year_day(year, today or local_today())
    campaign = campaign_facts(kind, year, day, scope)
    groups = groups_on(scope, day, d.applicant_level)
    figures, criteria_counts = _figures(kind, year, scope, day)

    registered = campaign.registered_by_commune if campaign and campaign.has_kind else None
    decided = tuple(dict.fromkeys(d.events[e].dest for e in d.decision_events))
    judged = bool(d.criteria)  # a kind made of lines has no criteria to average
    rows = []
    for g in groups:
        f = figures.get(g.id) or _Figures()
        rows.append(CommuneProgress(
            code=g.code, name=g.name, villages=g.members,
            registered=(registered.get(g.code, 0) if registered is not None else None),
            dossiers=f.dossiers, with_dossier=f.latest, by_state=dict(f.by_state),
            avg_self=_ratio(f.met, f.latest) if judged else None, appraised=f.begun,
            avg_appraised=_ratio(f.passed, f.begun), decided_states=decided))

    every = _Figures.sum(figures.values())  # every latest dossier in scope, under a row shown or not
    total = CommuneProgress(
        code="", name="", villages=sum(r.villages for r in rows),
        registered=(sum(r.registered or 0 for r in rows) if registered is not None else None),
        dossiers=sum(r.dossiers for r in rows), with_dossier=every.latest,
        by_state={s: sum(r.by_state.get(s, 0) for r in rows) for s in d.states if any(r.by_state.get(s) for r in rows)},
        avg_self=_ratio(every.met, every.latest) if judged else None, appraised=every.begun,
        avg_appraised=_ratio(every.passed, every.begun), decided_states=decided)

    return Dashboard(
        year=year, kind=kind, kind_label=engine().kind_label(kind, lang), states=list(d.states),
        state_labels={s: st.labels[lang] for s, st in d.states.items()},
        criteria_count=len(d.criteria), communes=rows, total=total,
        criteria=_criteria_rows(kind, criteria_counts, every.latest, every.begun, lang),
        towns=town_progress(scope, year, lang, day),
        district=district_criteria(scope, campaign, day), deadline=campaign.deadline if campaign else None,
        has_campaign=bool(campaign and campaign.has_kind), has_criteria=judged)


@dataclass
class _Figures:
    """One group's sums over the year's dossiers (`_figures`)."""

    dossiers: int = 0       # every dossier of the kind and year
    latest: int = 0         # the latest dossier of each applicant
    by_state: dict[str, int] = field(default_factory=dict)  # latest dossiers per state
    met: int = 0            # criteria met (self-assessed), summed over the latest dossiers
    begun: int = 0          # latest dossiers whose appraisal has begun
    passed: int = 0         # criteria passed, summed over those

    @classmethod
    def sum(cls, parts) -> _Figures:
        out = cls()
        for f in parts:
            out.dossiers += f.dossiers
            out.latest += f.latest
            out.met += f.met
            out.begun += f.begun
            out.passed += f.passed
            for s, n in f.by_state.items():
                out.by_state[s] = out.by_state.get(s, 0) + n
        return out


def _latest_rows(kind: str, year: int, scope: Scope):
    """Subquery: the latest dossier of the year of each applicant in scope (the
    highest id) with its id, unit, state and round, and `filed`, the applicant's
    number of dossiers of the year. Windows over each applicant's dossiers: every
    dossier of the year is read once. The kind fixes the applicants' level
    (services.core.dossiers checks it when a dossier is made)."""
    per_applicant = {"partition_by": Dossier.unit_id}
    year_rows = (db.select(Dossier.id, Dossier.unit_id, Dossier.state, Dossier.round,
                           func.max(Dossier.id).over(**per_applicant).label("last"),
                           func.count(Dossier.id).over(**per_applicant).label("filed"))
                 .where(Dossier.kind == kind, Dossier.year == year, scope_clause(Dossier.unit_id, scope))).subquery()
    return (db.select(year_rows.c.id, year_rows.c.unit_id, year_rows.c.state, year_rows.c.round, year_rows.c.filed)
            .where(year_rows.c.id == year_rows.c.last))


def _figures(kind: str, year: int, scope: Scope, day: date) -> tuple[dict[int | None, _Figures], dict]:
    """In one statement over the latest dossiers of the year in scope (`_latest_rows`)
    and their current round's criteria, each read once:
    - parent unit on `day` (None: no parent that day) -> its figures;
    - criterion code -> (latest dossiers whose current round says `met`, ... `pass`).
    A `pass` verdict means the dossier's appraisal has begun, so the passed count
    needs no second look at the dossier."""
    latest = _latest_rows(kind, year, scope).cte("latest")
    entries = (db.select(latest.c.id.label("dossier_id"), CriterionEntry.code,
                         case((CriterionEntry.self_assessment == "met", 1), else_=0).label("met"),
                         case((CriterionEntry.verdict == "pass", 1), else_=0).label("passed"),
                         case((CriterionEntry.verdict.is_not(None), 1), else_=0).label("judged"))
               .join(CriterionEntry, and_(CriterionEntry.dossier_id == latest.c.id,
                                          CriterionEntry.round == latest.c.round))).cte("entries")
    sums = (db.select(entries.c.dossier_id, func.sum(entries.c.met).label("met"),
                      func.sum(entries.c.passed).label("passed"), func.sum(entries.c.judged).label("judged"))
            .group_by(entries.c.dossier_id)).subquery()
    per = (db.select(latest.c.id, latest.c.unit_id, latest.c.state, latest.c.filed,
                     func.coalesce(sums.c.met, 0).label("met"), func.coalesce(sums.c.passed, 0).label("passed"),
                     func.coalesce(sums.c.judged, 0).label("judged"))
           .outerjoin(sums, sums.c.dossier_id == latest.c.id)).subquery()
    link = _PLACE
    begun = per.c.judged > 0
    by_parent = (db.select(literal("parent").label("part"), link.parent_id.label("parent_id"),
                           per.c.state.label("key"), func.count(per.c.id), func.sum(per.c.filed), func.sum(per.c.met),
                           func.sum(case((begun, 1), else_=0)), func.sum(case((begun, per.c.passed), else_=0)))
                 .select_from(per).outerjoin(link, place_on(link, per.c.unit_id, day))
                 .group_by(link.parent_id, per.c.state))
    by_code = (db.select(literal("code"), null(), entries.c.code, func.count(), literal(0), func.sum(entries.c.met),
                         literal(0), func.sum(entries.c.passed))
               .group_by(entries.c.code))
    figures: dict[int | None, _Figures] = {}
    criteria: dict[str, tuple[int, int]] = {}
    for part, parent_id, key, n, filed, met, n_begun, passed in db.session.execute(db.union_all(by_parent, by_code)):
        if part == "code":
            criteria[key] = (int(met or 0), int(passed or 0))
            continue
        f = figures.setdefault(parent_id, _Figures())
        f.dossiers += int(filed or 0)
        f.latest += n
        f.by_state[key] = f.by_state.get(key, 0) + n
        f.met += int(met or 0)
        f.begun += int(n_begun or 0)
        f.passed += int(passed or 0)
    return figures, criteria


def _ratio(total: int, n: int) -> float | None:
    return None if not n else round(total / n, 2)


def criteria_progress(kind: str, latest, lang: str = "vi",
                      totals: tuple[int, int] | None = None) -> list[CriterionProgress]:
    """Per criterion of the kind's set: villages meeting it (self-assessed / as
    appraised), weakest first (`_criteria_rows`). `latest` selects the latest dossier
    ids; `totals` = (latest dossiers, those under appraisal) when the caller has
    counted them, else the same statement counts them. A `pass` verdict in the
    current round means the dossier's appraisal has begun, so the passed count needs
    no second look at the dossier."""
    current = and_(CriterionEntry.dossier_id == Dossier.id, CriterionEntry.round == Dossier.round)
    entries = (db.select(CriterionEntry.dossier_id, CriterionEntry.code, CriterionEntry.self_assessment,
                         CriterionEntry.verdict)
               .join(Dossier, current).where(Dossier.id.in_(latest))).cte("current_entries")
    stmt = (db.select(entries.c.code, func.sum(case((entries.c.self_assessment == "met", 1), else_=0)),
                      func.sum(case((entries.c.verdict == "pass", 1), else_=0)))
            .group_by(entries.c.code))
    if totals is None:  # in the same statement, the entries read once: a row whose code is NULL
        judged = case((entries.c.verdict.is_not(None), entries.c.dossier_id), else_=None)
        stmt = db.union_all(stmt, db.select(null(), func.count(entries.c.dossier_id.distinct()),
                                            func.count(judged.distinct())))
    counts = {}
    for code, m, p in db.session.execute(stmt):
        if code is None:
            totals = (m, p)
        else:
            counts[code] = (int(m or 0), int(p or 0))
    return _criteria_rows(kind, counts, int(totals[0] or 0), int(totals[1] or 0), lang)


def _criteria_rows(kind: str, counts: dict[str, tuple[int, int]], of: int, appraised_of: int,
                   lang: str) -> list[CriterionProgress]:
    """The criteria table from code -> (met, passed): the kind's set in order, then any
    code of an older definition version; weakest first: fewest passed, then fewest
    met, then set order."""
    d = engine().definition(kind)
    rows = []
    for position, c in enumerate(d.criteria, start=1):
        met, passed = counts.get(c.code, (0, 0))
        rows.append(CriterionProgress(c.code, c.name.get(lang, c.name["vi"]), position, met, passed, of, appraised_of))
    known = {c.code for c in d.criteria}
    for code, (met, passed) in sorted(counts.items()):  # a criterion of an older definition version
        if code not in known:
            rows.append(CriterionProgress(code, code, len(rows) + 1, met, passed, of, appraised_of))
    rows.sort(key=lambda r: (r.pass_share if appraised_of else 0, r.self_share, r.position))
    return rows


def town_progress(scope: Scope, year: int, lang: str = "vi", day: date | None = None) -> list[TownProgress]:
    """Each town in scope that exists on `day` (the year's reference day) with its latest
    dossier of the year (of a town kind) and that dossier's current criteria: one
    statement for the towns and their dossiers, one for the criteria of those dossiers
    (their ids bound: one per town shown)."""
    eng = engine()
    kinds = [k for k in eng.kinds() if eng.definition(k).applicant_level == "town"]
    in_year = units_on(scope, day or year_day(year, local_today()), "town")
    latest = (db.select(func.max(Dossier.id).label("id"), Dossier.unit_id)
              .where(Dossier.kind.in_(kinds), Dossier.year == year, Dossier.unit_id.in_(in_year))
              .group_by(Dossier.unit_id)).subquery()
    x = _TOWN_DOSSIER
    towns = db.session.execute(
        db.select(Unit.code, Unit.name, x.id, x.code, x.kind, x.definition_version, x.state)
        .outerjoin(latest, latest.c.unit_id == Unit.id).outerjoin(x, x.id == latest.c.id)
        .where(Unit.id.in_(in_year)).order_by(Unit.name, Unit.id)).all()
    ids = [t[2] for t in towns if t[2] is not None]
    entries: dict[int, dict[str, tuple[str | None, str | None]]] = {}
    if ids:
        for dossier_id, code, claim, verdict in db.session.execute(
                db.select(CriterionEntry.dossier_id, CriterionEntry.code, CriterionEntry.self_assessment,
                          CriterionEntry.verdict)
                .join(Dossier, and_(CriterionEntry.dossier_id == Dossier.id, CriterionEntry.round == Dossier.round))
                .where(Dossier.id.in_(ids))):
            entries.setdefault(dossier_id, {})[code] = (claim, verdict)
    out = []
    for code, name, dossier_id, dossier_code, kind, version, state in towns:
        if dossier_id is None:
            out.append(TownProgress(code, name, None, None, None, None))
            continue
        d = eng.definition(kind, version) or eng.definition(kind)
        mine = entries.get(dossier_id, {})
        criteria = [TownCriterion(c.code, c.name.get(lang, c.name["vi"]), *mine.get(c.code, (None, None)))
                    for c in d.criteria]
        out.append(TownProgress(code, name, dossier_id, dossier_code, kind, state, criteria))
    return out


def district_criteria(scope: Scope, campaign: CampaignFacts | None,
                      day: date | None = None) -> list[DistrictCriteria]:
    """The district's own criteria count, entered as campaign data, for districts that
    exist on `day` and meet the scope (a commune officer sees their district's figure
    too: it is published; a successor commune's officials see it for the years their
    villages lay in the district)."""
    if campaign is None or not campaign.district_criteria:
        return []
    day = day or local_today()
    names = dict(db.session.execute(
        db.select(Unit.code, Unit.name).where(Unit.code.in_(list(campaign.district_criteria)),
                                              meets_clause(Unit.id, scope, day))).all())
    return [DistrictCriteria(code, names[code], met, total)
            for code, (met, total) in campaign.district_criteria.items() if code in names]


# ----------------------------------------------------------------------------- campaign data

@dataclass
class CampaignFacts:
    """What the dashboard needs from the campaign file of a kind and year."""

    deadline: date | None
    registered: list[str]                       # village codes
    registered_by_commune: dict[str, int]       # commune code -> registered villages
    district_criteria: dict[str, tuple[int, int]]  # district code -> (met, total)
    has_kind: bool = True                       # the file lists this kind (deadline, registrations)


def campaign_facts(kind: str, year: int, day: date | None = None, scope: Scope | None = None) -> CampaignFacts | None:
    """The campaign file of the year (services.core.campaigns), reduced to what the
    dashboard shows, registrations counted by the communes of `day` (the year's
    reference day), only the villages in `scope` when given (like the rows' village
    counts); None when the year has no campaign file."""

    found = campaigns().get(year)
    if found is None:
        return None
    campaign = found.kinds.get(kind)
    codes = list(campaign.registered) if campaign else []
    by_commune: dict[str, int] = {}
    if codes:
        parent, link = _PARENT, _PLACE
        on = day or year_day(year, local_today())
        for commune_code, n in db.session.execute(
                db.select(parent.code, func.count(Unit.id)).join(link, place_on(link, Unit.id, on))
                .join(parent, link.parent_id == parent.id)
                .where(Unit.code.in_(codes), scope_clause(Unit.id, scope) if scope is not None else true())
                .group_by(parent.code)):
            by_commune[commune_code] = n
    district = {code: (int(v["met"]), int(v["total"])) for code, v in (found.district_criteria or {}).items()}
    return CampaignFacts(campaign.deadline if campaign else None, codes, by_commune, district,
                         has_kind=campaign is not None)


def default_year(user: User, kind: str, this_year: int) -> int:
    """The latest campaign year with a dossier of `kind` in the user's scope (so the
    page opens on live figures), else this year."""
    # Probed per unit in scope on (unit_id, kind, year), read from the index alone.
    latest = db.session.execute(
        db.select(func.max(Dossier.year))
        .where(Dossier.kind == kind, Dossier.year <= this_year + 1,
               scope_clause(Dossier.unit_id, scope_of(user, progress=True), probe=True))).scalar()
    return int(latest) if latest else this_year
