"""The work queue (home page) and the dossier list with filters and search."""
from __future__ import annotations

from collections import Counter

from flask import g, render_template, request

from ..clock import local_today
from ..extensions import db
from ..i18n import request_lang
from ..models import Unit, UnitLink
from ..permissions import meets_clause, scope_clause, scope_of
from ..services.core.campaigns import filing_statuses
from ..services.core.clocks import step_clocks
from ..services.core.common import engine
from ..services.core.eras import live_on, year_day, years_with_data
from ..services.core.reference import find_unit
from ..services.reading.lists import queue_page, search_dossiers
from ..validation import query_int
from ..workflow.vocabulary import COMMUNE_LEVELS
from . import bp


def _step_label(kind: str, version: int, name: str) -> str:
    d = engine().definition(kind, version)
    rule = d.events.get(name) or d.actions.get(name) if d else None
    return rule.labels[request_lang()] if rule else name


@bp.get("/")
def index():
    # One page of the queue (oldest waiting first, keyset `after`); the figures count the whole queue.
    queue = queue_page(g.user, request.args.get("after") or None)
    counts = Counter()
    for (kind, version, name), n in queue.counts.items():
        counts[_step_label(kind, version, name)] += n
    today = local_today()
    # Ended, not "not yet begun": a unit a reform creates tomorrow has no end date to name.
    ended = [ra for ra in g.user.roles if ra.unit.valid_to is not None and ra.unit.valid_to < today]
    return render_template("web/queue.html", items=queue.items, queue=queue, counts=counts, engine=engine(),
                           ended=ended, first=not request.args.get("after"))


@bp.get("/dossiers")
def dossier_list():
    args = request.args
    code = args.get("village") or args.get("commune")
    unit = find_unit(code) if code else None
    year = query_int("year")
    page = query_int("page", 1, lo=1)
    # "Next" and "previous" carry the id where the page before ended (keyset): a deep page
    # costs what the first does; `page` alone (a typed address) reads by offset.
    result = search_dossiers(g.user, kind=args.get("kind") or None, state=args.get("state") or None,
                             unit=unit, year=year, q=args.get("q") or None, page=page,
                             after=query_int("after", None, lo=1), before=query_int("before", None, lo=1))
    scope = scope_of(g.user)
    # With a year, the communes and villages of that year (eras.year_day); without, of every period.
    # Communes offered: those that meet the scope (in it, or above a unit in it: a village
    # head gets their commune); villages offered: the chosen commune's, in scope only.
    day = year_day(year, local_today()) if year and 2000 <= year <= 2100 else None
    # The dropdowns show names: the units' links are not loaded (a province offers hundreds).
    levels = (db.select(Unit).where(Unit.level.in_(COMMUNE_LEVELS), meets_clause(Unit.id, scope, day))
              .options(db.lazyload(Unit.links)))
    communes = db.session.execute((levels.where(live_on(Unit, day)) if day else levels)
                                  .order_by(Unit.name)).scalars().all()
    villages = []
    if args.get("commune"):
        parent = find_unit(args["commune"])
        if parent is not None:
            held = db.select(UnitLink.unit_id).where(UnitLink.parent_id == parent.id, UnitLink.relation == "parent")
            if day:
                held = held.where(live_on(UnitLink, day))
            villages = db.session.execute(db.select(Unit).where(Unit.id.in_(held), scope_clause(Unit.id, scope))
                                          .options(db.lazyload(Unit.links)).order_by(Unit.code)).scalars().all()
    years = years_with_data(scope, None, local_today().year)
    if year and 2000 <= year <= 2100 and year not in years:
        years = sorted({*years, year}, reverse=True)
    return render_template("web/list.html", result=result, args=args, engine=engine(), communes=communes,
                           villages=villages, years=years, clocks=step_clocks(result.items),
                           filings=filing_statuses(result.items))
