"""A dossier's papers other than decisions: receipt slips and appraisal reports."""
from __future__ import annotations

from marshmallow import Schema, fields

from ..auth import acting_user
from ..services.core.common import load_dossier
from ..services.documents.papers import documents_of
from ..web.document_views import send_document
from .boundary import Blueprint
from .schemas import DocumentOut
from .serialize import document_dict

blp = Blueprint("documents", __name__, description="Receipt slips and appraisal reports of a dossier")


class DocumentList(Schema):
    # The CONTRACT's list shape; a dossier has a handful of papers, so one page.
    items = fields.List(fields.Nested(DocumentOut))
    page = fields.Integer()
    pages = fields.Integer()
    total = fields.Integer()
    next = fields.String(allow_none=True)


@blp.route("/dossiers/<int:dossier_id>/documents", methods=["GET"])
@blp.response(200, DocumentList)
@blp.doc(security=[{"bearer": []}])
def list_documents(dossier_id: int):
    """The dossier's receipts (one per submission round) and appraisal reports, oldest first."""
    dossier = load_dossier(dossier_id, acting_user())
    items = [document_dict(doc) for doc in documents_of(dossier)]
    return {"items": items, "page": 1, "pages": 1, "total": len(items), "next": None}


@blp.route("/dossiers/<int:dossier_id>/documents/<int:document_id>.pdf", methods=["GET"])
@blp.doc(security=[{"bearer": []}], responses={200: {"description": "the PDF, the same bytes on every download"}})
def document_pdf(dossier_id: int, document_id: int):
    """One paper as PDF: the file rendered when it was issued (or, should that have failed, now, then kept)."""
    return send_document(load_dossier(dossier_id, acting_user()), document_id)
