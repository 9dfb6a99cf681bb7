"""The receiving level's table across its applicants, for a definition with `lines`
(funds per source and commune, cement per commune and village...): one row per
applicant unit under the issuer, with its latest dossier of the year, that dossier's
state, first filing day and late flag, the definition's `summary.measure` added up
(and what was granted, when the road grants per line), broken down by
`summary.breakdown`, laid out as `summary.layout` says (`rows`: a sub-row per value,
`columns`: a column per value); then the totals across applicants.

Which road, which issuer, which applicants: the road of the year is the one in force
on the campaign's filing deadline (the first day of the year when no campaign is
known); its receiving level is the level of whoever acts on a filed dossier (the
event that grants, else the first positive event after filing); the applicants are
the units of the definition's applicant level under the issuer in the tree of that
day. So a 2024 table is the district's, over the communes it had in 2024, and a 2026
table is the province's, over the communes after the reform.

Who may read it: whoever reads the issuer's dossiers (permissions.in_scope on the
issuer, the lists' rule: its subtree holds every applicant shown). A fixed number
of statements whatever the number of applicants, dossiers and lines."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import and_, func
from sqlalchemy.orm import lazyload

from ...clock import local_today
from ...extensions import db
from ...formats import vn_date
from ...models import Dossier, DossierLine, Unit, UnitLink, User
from ...permissions import in_scope, live_on, scope_clause, under
from ...workflow.definitions import Definition, EventDef, LineColumn
from ...workflow.errors import NotFound, NotPermitted, RuleRefused
from ...workflow.vocabulary import RANK
from ..core.campaigns import campaign_for, campaigns, first_submissions, status_for
from ..core.common import engine
from ..core.eras import place_on
from ..core.lines import totals, unit_names
from ..core.reference import find_unit
from ..core.wording import place_name, who

NOT_STARTED = {"vi": "Chưa lập", "en": "Not started"}
NUMBER_DIGITS = 3  # a non-money measure (tonnes) is summed and shown to 3 decimals


# ----------------------------------------------------------------------------- the road of a year

def road_day(kind: str, year: int) -> date:
    """The day whose road and unit tree a year's table uses: the campaign's filing
    deadline (when the applicants file), else 1 January of the year."""
    campaign = campaign_for(kind, year)
    return campaign.deadline if campaign else date(year, 1, 1)


def receiving_event(d: Definition) -> EventDef | None:
    """The event by which the receiving level acts on a filed dossier: the one that
    grants per line, else the first positive event from where filing leads."""
    if d.grant_event is not None:
        return d.grant_event
    return next((e for name in d.filing_events for e in d.offered_from(d.events[name].dest) if not e.negative),
                None)


def summary_road(kind: str, year: int) -> tuple[Definition, date]:
    """The lines definition governing the year's filings and the day it is read on;
    404 for an unknown kind, 422 for a kind made of criteria."""
    day = road_day(kind, year) if kind in engine().kinds() else None
    d = engine().definition_for(kind, year, day) if day else None
    if d is None:
        raise NotFound("Không có loại hồ sơ này.", "No such dossier kind.")
    if d.lines is None or receiving_event(d) is None:
        label = engine().kind_label(kind, "vi"), engine().kind_label(kind, "en")
        raise RuleRefused(f"Loại hồ sơ '{label[0]}' gồm các tiêu chí, không có bảng tổng hợp các dòng.",
                          f"Dossier kind '{label[1]}' is made of criteria: it has no summary of lines.")
    return d, day


def receiving_level(d: Definition) -> str:
    return receiving_event(d).by[0].level


def summary_issuers(user: User, kind: str, year: int) -> list[Unit]:
    """The units at the year's receiving level, existing on the road's day, that the user
    reads (the choices of the page; the user's own first)."""
    d, day = summary_road(kind, year)
    units = db.session.execute(
        db.select(Unit).where(Unit.level == receiving_level(d), live_on(Unit, day), scope_clause(Unit.id, user))
        .order_by(Unit.name)).scalars().all()
    own = {ra.unit_id for ra in user.roles}
    return sorted(units, key=lambda u: u.id not in own)


def summary_years(kind: str, this_year: int) -> list[int]:
    """The years offered: those with a campaign for the kind, and this year, newest first."""
    return sorted({y for y, c in campaigns().items() if kind in c.kinds} | {this_year}, reverse=True)


def summary_kinds(user: User, year: int) -> list[str]:
    """Lines kinds whose year's table the user may have: a role at or above the
    receiving level (the dashboard's links; the table itself checks the issuer)."""
    mine = [RANK[ra.unit.level] for ra in user.roles] if user.active else []
    found = []
    for kind in engine().kinds_by_level():
        d = engine().definition_for(kind, year, road_day(kind, year))
        if d is not None and d.lines is not None and receiving_event(d) is not None \
                and any(rank <= RANK[receiving_level(d)] for rank in mine):
            found.append(kind)
    return found


# ----------------------------------------------------------------------------- the table

@dataclass
class Part:
    """The measure for one breakdown value (a village, a source of funds)."""

    key: str | None
    label: str
    amount: float
    granted: float | None = None


@dataclass
class Row:
    """One applicant: its latest dossier of the year (None: nothing filed) and its sums."""

    code: str
    name: str
    dossier_id: int | None = None
    dossier_code: str | None = None
    state: str | None = None
    state_label: str = ""
    filed_on: date | None = None
    late: bool | None = None       # None: no campaign deadline for the year
    days_late: int = 0
    total: float = 0
    granted: float | None = None
    parts: list[Part] = field(default_factory=list)

    def part(self, key: str | None) -> Part | None:
        return next((p for p in self.parts if p.key == key), None)


@dataclass
class LineSummary:
    kind: str
    label: str                   # the definition's name of the kind
    year: int
    day: date                    # the road's day: its tree gives the applicants
    issuer_code: str
    issuer_name: str
    issuer_place: str            # "Tam Đường": the place of the papers' date line
    issuer_level: str
    layout: str                  # "rows" | "columns"
    measure: LineColumn
    breakdown: LineColumn
    grants: bool                 # the road grants the measure per line
    deadline: date | None
    today: date
    rows: list[Row]
    columns: list[Part]          # every breakdown value met, in order, with its totals
    total: float = 0
    granted: float | None = None

    @property
    def money(self) -> bool:
        return self.measure.money


def summary(kind: str, issuer_code: str | None, year: int, actor: User, lang: str = "vi") -> LineSummary:
    """The year's table of `kind` for the issuer `issuer_code`: 404 when the kind or the
    issuer is unknown, 403 when the actor does not read the issuer's dossiers, 422 when
    the issuer is not at the year's receiving level or did not exist on its day."""
    d, day = summary_road(kind, year)
    issuer = find_unit(issuer_code) if issuer_code else None
    if issuer is None:
        raise NotFound("Không có đơn vị mã này.", "No unit with this code.")
    if not in_scope(actor, issuer):
        raise NotPermitted("Bạn không có quyền xem hồ sơ của các đơn vị thuộc đơn vị này.",
                           "You may not read the dossiers of this unit's applicants.")
    _check_issuer(d, day, issuer, year, actor)
    spec = d.lines
    measure, breakdown = spec.columns[spec.summary.measure], spec.columns[spec.summary.breakdown]
    event = receiving_event(d)
    grants = event.grants == measure.name
    campaign = campaign_for(kind, year)
    today = local_today()

    units = _applicants(issuer.path_on(day), d.applicant_level, day)
    dossiers = _latest_dossiers(kind, year, [u[0] for u in units])
    filed = first_submissions(dossiers.values())
    lines = _current_lines([x.id for x in dossiers.values()])
    labels = unit_names(ln.values.get(breakdown.name) for ls in lines.values() for ln in ls) \
        if breakdown.type == "unit" else {}
    states = engine().state_options(kind)

    rows, columns, order = [], {}, _order(breakdown)
    for unit_id, code, name in units:
        row = Row(code, name, state_label=NOT_STARTED[lang])
        dossier = dossiers.get(unit_id)
        filed_on = filed.get(dossier.id) if dossier else None
        status = status_for(campaign, filed_on, today)
        if status is not None:
            row.late, row.days_late = status.late, status.days_late
        if dossier is not None:
            row.dossier_id, row.dossier_code, row.state = dossier.id, dossier.code, dossier.state
            st = states.get(dossier.state)
            row.state_label = st.labels.get(lang, st.labels["vi"]) if st else dossier.state
            row.filed_on = filed_on
            for t in totals(d, lines.get(dossier.id, []), labels, lang):
                part = Part(t.key, t.label, _clean(t.amount, measure), _clean(t.granted, measure) if grants else None)
                row.parts.append(part)
                column = columns.setdefault(t.key, Part(t.key, t.label, 0, None))
                column.amount += part.amount
                column.granted = _add(column.granted, part.granted)
            row.parts.sort(key=order)
            row.total = _clean(sum(p.amount for p in row.parts), measure)
            row.granted = _clean(_sum_granted(row.parts), measure)
        rows.append(row)
    ordered = sorted(columns.values(), key=order)
    for column in ordered:
        column.amount, column.granted = _clean(column.amount, measure), _clean(column.granted, measure)
    return LineSummary(
        kind=kind, label=engine().kind_label(kind, lang), year=year, day=day, issuer_code=issuer.code,
        issuer_name=issuer.name, issuer_place=place_name(issuer), issuer_level=issuer.level,
        layout=spec.summary.layout, measure=measure,
        breakdown=breakdown, grants=grants, deadline=campaign.deadline if campaign else None, today=today,
        rows=rows, columns=ordered, total=_clean(sum(r.total for r in rows), measure),
        granted=_clean(_sum_granted(rows), measure))


def _check_issuer(d: Definition, day: date, issuer: Unit, year: int, actor: User) -> None:
    level, event = receiving_level(d), receiving_event(d)
    if issuer.level == level and issuer.live_on(day):
        return
    label = engine().kind_label(d.kind, "vi"), engine().kind_label(d.kind, "en")
    choices = db.session.execute(
        db.select(Unit.name).where(Unit.level == level, live_on(Unit, day), scope_clause(Unit.id, actor))
        .order_by(Unit.name).limit(3)).scalars().all()
    hint = (f" Hãy chọn: {', '.join(choices)}.", f" Choose: {', '.join(choices)}.") if choices else ("", "")
    raise RuleRefused(
        f"Hồ sơ '{label[0]}' năm {year} do {who(event.by, 'vi')} tiếp nhận (theo quy trình áp dụng ngày "
        f"{vn_date(day)}); {issuer.name} không phải đơn vị tiếp nhận của năm đó.{hint[0]}",
        f"'{label[1]}' dossiers of {year} are received by {who(event.by, 'en')} (the road in force on "
        f"{vn_date(day)}); {issuer.name} is not a receiving unit that year.{hint[1]}")


def _applicants(issuer_path: str, level: str, day: date) -> list[tuple[int, str, str]]:
    """(id, code, name) of the units of `level` under the issuer in the tree of `day`, by name
    (name_key)."""
    stmt = (db.select(Unit.id, Unit.code, Unit.name)
            .join(UnitLink, place_on(UnitLink, Unit.id, day))
            .where(Unit.level == level, live_on(Unit, day), under(UnitLink.path, issuer_path))
            .order_by(Unit.id))
    return sorted((tuple(r) for r in db.session.execute(stmt)), key=lambda r: name_key(r[2]))


def _latest_dossiers(kind: str, year: int, unit_ids: list[int]) -> dict[int, Dossier]:
    """{applicant id: its latest dossier of the year (the highest id)}, in one statement.
    The ids bound are the table's rows (one issuer's applicants), never the dossiers."""
    if not unit_ids:
        return {}
    latest = (db.select(func.max(Dossier.id))
              .where(Dossier.kind == kind, Dossier.year == year, Dossier.unit_id.in_(unit_ids))
              .group_by(Dossier.unit_id))
    found = db.session.execute(db.select(Dossier).where(Dossier.id.in_(latest))
                               .options(lazyload(Dossier.unit))).scalars()
    return {x.unit_id: x for x in found}


def _current_lines(dossier_ids: list[int]) -> dict[int, list[DossierLine]]:
    """The lines of each dossier's current round (for an accepted dossier, the round it
    was accepted in), in one statement."""
    if not dossier_ids:
        return {}
    stmt = (db.select(DossierLine)
            .join(Dossier, and_(Dossier.id == DossierLine.dossier_id, Dossier.round == DossierLine.round))
            .where(Dossier.id.in_(dossier_ids)).order_by(DossierLine.dossier_id, DossierLine.position))
    out: dict[int, list[DossierLine]] = {}
    for line in db.session.execute(stmt).scalars():
        out.setdefault(line.dossier_id, []).append(line)
    return out


def _order(column: LineColumn):
    """Breakdown values in the definition's order of choices, else by name; "not given" last."""
    choices = list(column.choices)

    def key(part: Part):
        if part.key is None:
            return (2, 0, "")
        if part.key in choices:
            return (0, choices.index(part.key), "")
        return (1, 0, name_key(part.label))
    return key


def name_key(name: str) -> tuple[str, str]:
    """Vietnamese alphabetical order whatever the database's collation: letters first
    without their marks ("Bản Bo" < "Bình Lư" < "Đông"), then the marks."""
    bare = "".join(ch for ch in unicodedata.normalize("NFD", name.casefold()) if not unicodedata.combining(ch))
    return bare.replace("đ", "d~"), name


def _clean(value: float | None, measure: LineColumn) -> float | int | None:
    """A sum as the measure's type: whole đồng, or tonnes to NUMBER_DIGITS decimals (no 19.800000000000001)."""
    if value is None:
        return None
    if measure.type == "integer":
        return int(round(value))
    value = round(value, NUMBER_DIGITS)
    return int(value) if value == int(value) else value


def _add(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else a + b


def _sum_granted(items) -> float | None:
    """The granted amounts added up; None when nothing has been granted yet."""
    total = None
    for item in items:
        total = _add(total, item.granted)
    return total


# ----------------------------------------------------------------------------- as JSON

def summary_dict(s: LineSummary) -> dict:
    """The API's answer: the table's columns, one item per applicant, the totals."""
    def part(p: Part) -> dict:
        return {"key": p.key, "label": p.label, "amount": p.amount, "granted": p.granted}

    return {
        "kind": s.kind, "label": s.label, "year": s.year, "on": s.day.isoformat(),
        "issuer": {"code": s.issuer_code, "name": s.issuer_name, "level": s.issuer_level},
        "layout": s.layout,
        "measure": {"name": s.measure.name, "label": s.measure.labels, "money": s.measure.money},
        "breakdown": {"name": s.breakdown.name, "label": s.breakdown.labels},
        "grants": s.grants,
        "deadline": s.deadline.isoformat() if s.deadline else None,
        "columns": [{"key": c.key, "label": c.label} for c in s.columns],
        "communes": [{
            "unit": {"code": r.code, "name": r.name},
            "dossier": ({"id": r.dossier_id, "code": r.dossier_code, "state": r.state,
                         "filed_on": r.filed_on.isoformat() if r.filed_on else None}
                        if r.dossier_id is not None else None),
            "state_label": r.state_label, "late": r.late, "days_late": r.days_late,
            "total": r.total, "granted": r.granted, "breakdown": [part(p) for p in r.parts],
        } for r in s.rows],
        "totals": {"total": s.total, "granted": s.granted, "breakdown": [part(c) for c in s.columns]},
    }



def filing_note(row: Row, lang: str = "vi") -> str:
    """"Muộn 3 ngày" / "Đúng hạn" / "Quá hạn 5 ngày, chưa nộp" against the campaign's
    deadline; "" without a campaign, or while an unfiled applicant still has time."""
    if row.late is None:
        return ""
    en = lang == "en"
    if row.filed_on is not None:
        if row.late:
            return f"{row.days_late} days late" if en else f"Muộn {row.days_late} ngày"
        return "On time" if en else "Đúng hạn"
    if row.late:
        return f"{row.days_late} days overdue, not filed" if en else f"Quá hạn {row.days_late} ngày, chưa nộp"
    return ""
