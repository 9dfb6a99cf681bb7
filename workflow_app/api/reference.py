"""The caller, units, and the numbering register."""
from __future__ import annotations

from flask import send_file, url_for
from sqlalchemy import or_

from ..auth import acting_user
from ..clock import local_today
from ..extensions import db
from ..models import Unit, UnitLink
from ..services.core.reference import find_unit
from ..services.reporting.register import (
    REGISTER_API_PAGE,
    register_issuer,
    register_rows,
    register_xlsx,
    xlsx_filename,
)
from ..services.reporting.sheets import XLSX_MIME
from ..workflow.errors import NotFound
from . import schemas as s
from .boundary import Blueprint
from .serialize import unit_ref

blp = Blueprint("reference", __name__, description="The caller, units and the decision register")


@blp.route("/me", methods=["GET"])
@blp.response(200, s.MeOut)
@blp.doc(security=[{"bearer": []}])
def me():
    """The caller, with roles and units (and whether each role may still act)."""
    user, today = acting_user(), local_today()
    return {"id": user.id, "username": user.username, "name": user.name,
            "roles": [{"role": ra.role, "unit": unit_ref(ra.unit), "criteria": ra.criteria,
                       "acts": ra.unit.live_on(today),
                       "ended_on": ra.unit.valid_to if not ra.unit.live_on(today) else None}
                      for ra in user.roles]}


def _unit_or_404(code: str) -> Unit:
    # A path segment may carry anything (NUL breaks PostgreSQL); no code looks like that.
    unit = find_unit(code) if len(code) <= 64 and code.isprintable() else None
    if unit is None:
        raise NotFound("Không có đơn vị mã này.", "No unit with this code.")
    return unit


@blp.route("/units", methods=["GET"])
@blp.arguments(s.UnitQuery, location="query")
@blp.response(200, s.UnitList)
@blp.doc(security=[{"bearer": []}])
def units(query: dict):
    """Units that exist on a day (?on=YYYY-MM-DD, default today), each with its parent
    that day; with ?parent=CODE only that unit's children that day."""
    day = query.get("on") or local_today()
    # One place per unit per day (unit_links): the tree of that day, not the latest.
    stmt = (db.select(Unit, UnitLink).join(UnitLink, UnitLink.unit_id == Unit.id)
            .where(UnitLink.relation == "parent",
                   or_(UnitLink.valid_from.is_(None), UnitLink.valid_from <= day),
                   or_(UnitLink.valid_to.is_(None), UnitLink.valid_to >= day))
            .order_by(UnitLink.path))
    if query.get("parent"):
        stmt = stmt.where(UnitLink.parent_id == _unit_or_404(query["parent"]).id)
    rows = db.session.execute(stmt).all()
    return {"items": [{"code": u.code, "name": u.name, "level": u.level,
                       "parent": link.parent.code if link.parent else None} for u, link in rows]}


@blp.route("/units/<code>", methods=["GET"])
@blp.arguments(s.UnitDayQuery, location="query")
@blp.response(200, s.UnitDetail)
@blp.doc(security=[{"bearer": []}])
def unit(query: dict, code: str):
    """One unit and its period; `parent` is its parent on the day (?on=YYYY-MM-DD, default
    today), null for a province or a day outside the unit's life."""
    found = _unit_or_404(code)
    parent = found.parent_on(query.get("on") or local_today())
    return {"code": found.code, "name": found.name, "level": found.level,
            "parent": parent.code if parent else None,
            "valid_from": found.valid_from.isoformat() if found.valid_from else None,
            "valid_to": found.valid_to.isoformat() if found.valid_to else None}


@blp.route("/decisions", methods=["GET"])
@blp.arguments(s.RegisterQuery, location="query")
@blp.response(200, s.RegisterOut)
@blp.doc(security=[{"bearer": []}])
def register(query: dict):
    """The numbering register of an issuer for a year: every number issued, in order.
    With `limit` (and `after`), one page of it read on the number: `next` is the
    following page's URL, null after the last number."""
    issuer = register_issuer(acting_user(), query["issuer"])
    after, limit = query.get("after", 0), query.get("limit")
    if limit is None and "after" in query:
        limit = REGISTER_API_PAGE
    items = register_rows(issuer, query["year"], after=after, limit=limit)
    nxt = None
    if limit is not None and len(items) == limit:
        nxt = url_for("reference.register", issuer=issuer.code, year=query["year"], after=items[-1]["number"],
                      limit=limit, _external=True)
    return {"items": items, "next": nxt}


@blp.route("/decisions.xlsx", methods=["GET"])
@blp.arguments(s.RegisterQuery, location="query")
@blp.doc(security=[{"bearer": []}], responses={200: {
    "description": "the register as an XLSX workbook (sheet 'Sổ đăng ký', one row per number)",
    "content": {XLSX_MIME: {"schema": {"type": "string", "format": "binary"}}}}})
def register_xlsx_file(query: dict):
    """The same register as an XLSX workbook."""
    issuer = register_issuer(acting_user(), query["issuer"])
    return send_file(register_xlsx(issuer, query["year"]), mimetype=XLSX_MIME, as_attachment=True,
                     download_name=xlsx_filename(issuer, query["year"]))
