"""The caller, units, and the numbering register."""
from __future__ import annotations

import io

from flask import send_file

from ..auth import acting_user
from ..extensions import db
from ..models import Unit
from ..services.reference import find_unit
from ..services.register import XLSX_MIME, register_issuer, register_rows, register_xlsx, xlsx_filename
from ..workflow.errors import NotFound
from . import schemas as s
from .boundary import Blueprint
from .serialize import unit_ref

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
    issuer = register_issuer(acting_user(), query["issuer"])
    return {"items": register_rows(issuer, query["year"])}


@blp.route("/decisions.xlsx", methods=["GET"])
@blp.arguments(s.RegisterQuery, location="query")
@blp.doc(security=[{"bearer": []}], responses={200: {
    "description": "the register as an XLSX workbook (sheet 'Sổ đăng ký', one row per number)",
    "content": {XLSX_MIME: {"schema": {"type": "string", "format": "binary"}}}}})
def register_xlsx_file(query: dict):
    """The same register as an XLSX workbook."""
    issuer = register_issuer(acting_user(), query["issuer"])
    data = register_xlsx(issuer, query["year"], register_rows(issuer, query["year"]))
    return send_file(io.BytesIO(data), mimetype=XLSX_MIME, as_attachment=True,
                     download_name=xlsx_filename(issuer, query["year"]))
