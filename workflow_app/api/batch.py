"""Batch decisions: one act on several dossiers, one numbered decision."""
from __future__ import annotations

from flask_smorest import Blueprint

from ..auth import acting_user
from ..extensions import db
from ..services import fire_batch
from ..services.common import load_dossier
from ..services.decisions import decision_of
from ..services.register import register_row
from ..workflow.errors import BadRequest
from . import schemas as s

blp = Blueprint("batch", __name__, description="Batch decisions: several dossiers in one decision")


@blp.route("/decisions", methods=["POST"])
@blp.arguments(s.BatchIn)
@blp.response(201, s.RegisterEntry)
@blp.doc(security=[{"bearer": []}])
def post_decision(body: dict):
    """Recognise several appraised dossiers of one kind in one decision (its Điều 1
    lists them all). All or nothing: if one dossier may not be recognised, none is,
    and the error names that dossier."""
    user = acting_user()
    items = []
    for item in body["dossiers"]:
        ident, version = (item.get("id"), item.get("version")) if isinstance(item, dict) else (item, None)
        if not isinstance(ident, int) or isinstance(ident, bool) or not (version is None or isinstance(version, int)):
            raise BadRequest("Mỗi hồ sơ là một số (id) hoặc {\"id\": số, \"version\": số}.",
                             "Each dossier is a number (id) or {\"id\": number, \"version\": number}.")
        items.append((load_dossier(ident, user), version))
    dossiers = fire_batch(user, items, "recognize", body.get("comment"))
    decision = decision_of(dossiers[0])
    db.session.commit()
    return register_row(decision)  # the decision as the register lists it
