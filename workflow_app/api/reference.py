"""The caller, units, and the numbering register."""
from __future__ import annotations

from flask_smorest import Blueprint

from ..auth import acting_user
from ..extensions import db
from ..models import Decision, Unit
from ..permissions import visible_unit_paths
from ..services.reference import find_unit
from ..workflow.errors import NotFound, NotPermitted
from . import schemas as s
from .serialize import register_entry, unit_ref

blp = Blueprint("reference", __name__, description="The caller, units and the decision register")


@blp.route("/me", methods=["GET"])
@blp.response(200, s.MeOut)
@blp.doc(security=[{"bearer": []}])
def me():
    """The caller, with roles and units."""
    user = acting_user()
    return {"id": user.id, "username": user.username, "name": user.name,
            "roles": [{"role": ra.role, "unit": unit_ref(ra.unit), "criteria": ra.criteria} for ra in user.roles]}


@blp.route("/units", methods=["GET"])
@blp.arguments(s.UnitQuery, location="query")
@blp.response(200, s.UnitList)
@blp.doc(security=[{"bearer": []}])
def units(query: dict):
    """Units; with ?parent=CODE the children of that unit."""
    stmt = db.select(Unit).order_by(Unit.path)
    if query.get("parent"):
        parent = find_unit(query["parent"])
        if parent is None:
            raise NotFound("Không có đơn vị mã này.", "No unit with this code.")
        stmt = stmt.where(Unit.parent_id == parent.id)
    rows = db.session.execute(stmt).scalars()
    return {"items": [{"code": u.code, "name": u.name, "level": u.level,
                       "parent": u.parent.code if u.parent else None} for u in rows]}


@blp.route("/decisions", methods=["GET"])
@blp.arguments(s.RegisterQuery, location="query")
@blp.response(200, s.RegisterOut)
@blp.doc(security=[{"bearer": []}])
def register(query: dict):
    """The numbering register of an issuer for a year: every number issued, in order."""
    issuer = find_unit(query["issuer"])
    if issuer is None:
        raise NotFound("Không có cơ quan ban hành mã này.", "No issuer with this code.")
    if not any(issuer.path.startswith(p) or p.startswith(issuer.path) for p in visible_unit_paths(acting_user())):
        raise NotPermitted("Bạn không có quyền xem sổ đăng ký của cơ quan này.", "You may not read this issuer's register.")
    rows = db.session.execute(db.select(Decision).where(Decision.issuer_id == issuer.id, Decision.year == query["year"])
                              .order_by(Decision.number)).scalars()
    return {"items": [register_entry(d) for d in rows]}
