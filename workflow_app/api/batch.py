"""Batch decisions: one act on several dossiers, one numbered decision."""
from __future__ import annotations

from ..auth import acting_user
from ..services import fire_batch_decision
from ..services.core.common import load_dossier
from ..services.core.persist import unit_of_work
from ..services.documents.decisions import decision_of
from ..services.reporting.register import register_row
from . import schemas as s
from .boundary import Blueprint

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
    # One version sent asks "only if nothing changed": a lost race is then a 409 at once.
    checked = next((version for _, version in body["dossiers"] if version is not None), None)

    def work() -> dict:
        items = [(load_dossier(ident, user), version) for ident, version in body["dossiers"]]
        dossiers = fire_batch_decision(user, items, body.get("comment"))
        return register_row(decision_of(dossiers[0]))  # the decision as the register lists it
    return unit_of_work(work, checked)
