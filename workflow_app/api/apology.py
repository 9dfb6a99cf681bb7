"""The apology slip of a late step (phiếu xin lỗi và hẹn lại ngày trả kết quả)."""
from __future__ import annotations

from marshmallow import fields, validate

from ..auth import acting_user
from ..services.core.common import load_dossier
from ..services.core.persist import unit_of_work
from ..services.documents.apology import apology_capacity, issue_apology
from .boundary import Blueprint, BoundarySchema, Text
from .schemas import DocumentOut
from .serialize import document_dict

blp = Blueprint("apology", __name__, description="Apology slips with a new date for late steps")


class ApologyIn(BoundarySchema):
    new_date = fields.Date(required=True, metadata={
        "description": "the new date (YYYY-MM-DD): after today, a working day for working-day limits"})
    reason = Text(required=True, validate=validate.Length(max=2000),
                  metadata={"description": "why the step is late (printed on the slip)"})


class ApologyOut(DocumentOut):
    state = fields.String(metadata={"description": "the late step (the dossier's state)"})
    old_due = fields.String(metadata={"description": "the due date it replaces (YYYY-MM-DD)"})
    new_due = fields.String(metadata={"description": "the new date (YYYY-MM-DD), now the step's due date"})
    reason = fields.String()


@blp.route("/dossiers/<int:dossier_id>/apology", methods=["POST"])
@blp.arguments(ApologyIn)
@blp.response(201, ApologyOut)
@blp.doc(security=[{"bearer": []}])
def post_apology(body: dict, dossier_id: int):
    """Issue the apology slip of the dossier's late step with a new date. Only when the
    step is overdue (else 422), by whoever may act on it (else 403), one per step and
    round (else 409). The slip is listed in the dossier's documents as `apology:<state>`
    and its PDF downloads like the other documents."""
    user = acting_user()

    def work() -> dict:
        dossier = load_dossier(dossier_id, user)
        apology_capacity(user, dossier)
        doc = issue_apology(user, dossier, body["new_date"], body["reason"])
        facts = doc.data["facts"]
        return {**document_dict(doc), "state": facts["state"], "old_due": facts["old_due"],
                "new_due": facts["new_due"], "reason": facts["reason"]}
    return unit_of_work(work)
