"""The work queue (home page) and the dossier list with filters and search."""
from __future__ import annotations

from collections import Counter

from flask import g, render_template, request

from ..services.common import engine, local_now
from ..services.queries import search_dossiers, work_queue
from ..services.reference import find_unit
from ..permissions import visible_unit_paths
from ..extensions import db
from ..models import Unit
from ..validation import query_int
from . import bp
from .helpers import action_label


@bp.get("/")
def index():
    items = work_queue(g.user)
    counts = Counter(action_label(a, item.dossier) for item in items for a in item.actions)
    return render_template("web/queue.html", items=items, counts=counts, engine=engine())


@bp.get("/dossiers")
def dossier_list():
    args = request.args
    unit = find_unit(args.get("village") or args.get("commune") or "") if (args.get("village") or args.get("commune")) else None
    year = query_int("year")
    page = query_int("page", 1, lo=1)
    result = search_dossiers(g.user, kind=args.get("kind") or None, state=args.get("state") or None,
                             unit=unit, year=year, q=args.get("q") or None, page=page)
    paths = visible_unit_paths(g.user)
    communes = [u for u in db.session.execute(
        db.select(Unit).where(Unit.level.in_(("commune", "town"))).order_by(Unit.name)).scalars()
        if any(u.path.startswith(p) or p.startswith(u.path) for p in paths)]
    villages = []
    if args.get("commune"):
        parent = find_unit(args["commune"])
        if parent is not None:
            villages = db.session.execute(db.select(Unit).where(Unit.parent_id == parent.id).order_by(Unit.code)).scalars().all()
    this_year = local_now().year
    return render_template("web/list.html", result=result, args=args, engine=engine(), communes=communes,
                           villages=villages, years=list(range(this_year + 1, 2019, -1)))
