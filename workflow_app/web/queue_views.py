"""The work queue (home page) and the dossier list with filters and search."""
from __future__ import annotations

from collections import Counter

from flask import g, render_template, request

from ..clock import local_today
from ..extensions import db
from ..models import Unit, UnitLink
from ..permissions import meets_clause, scope_clause, scope_of
from ..services.core.common import engine
from ..services.core.eras import live_on, year_day, years_with_data
from ..services.core.reference import find_unit
from ..services.reading.lists import search_dossiers, work_queue
from ..validation import query_int
from ..workflow.vocabulary import COMMUNE_LEVELS
from . import bp
from .helpers import action_label


@bp.get("/")
def index():
    items = work_queue(g.user)
    counts = Counter(action_label(a, item.dossier) for item in items for a in item.actions)
    today = local_today()
    # Ended, not "not yet begun": a unit a reform creates tomorrow has no end date to name.
    ended = [ra for ra in g.user.roles if ra.unit.valid_to is not None and ra.unit.valid_to < today]
    return render_template("web/queue.html", items=items, counts=counts, engine=engine(), ended=ended)


@bp.get("/dossiers")
def dossier_list():
    args = request.args
    code = args.get("village") or args.get("commune")
    unit = find_unit(code) if code else None
    year = query_int("year")
    page = query_int("page", 1, lo=1)
    result = search_dossiers(g.user, kind=args.get("kind") or None, state=args.get("state") or None,
                             unit=unit, year=year, q=args.get("q") or None, page=page)
    scope = scope_of(g.user)
    # With a year, the communes and villages of that year (eras.year_day); without, of every period.
    # Communes offered: those that meet the scope (in it, or above a unit in it: a village
    # head gets their commune); villages offered: the chosen commune's, in scope only.
    day = year_day(year, local_today()) if year and 2000 <= year <= 2100 else None
    levels = db.select(Unit).where(Unit.level.in_(COMMUNE_LEVELS), meets_clause(Unit.id, scope, day))
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
                                          .order_by(Unit.code)).scalars().all()
    years = years_with_data(scope, None, local_today().year)
    if year and 2000 <= year <= 2100 and year not in years:
        years = sorted({*years, year}, reverse=True)
    return render_template("web/list.html", result=result, args=args, engine=engine(), communes=communes,
                           villages=villages, years=years)
