"""A dossier's papers on the pages: the receipt slip, the appraisal report, the apology slip.

The PDF is rendered when the paper is issued (services/documents/after_commit.py), so a
download reads the stored file. A paper not rendered yet (still queued for the background
thread, or its render failed) is rendered here and kept (services.documents.papers.ensure_pdf):
then the download writes the file's key, and the view commits, like any other. The file is
sent as every stored file is (downloads.send_stored): its SHA-256 as ETag, 304 and ranges
from any store."""
from __future__ import annotations

from flask import g

from ..downloads import send_stored
from ..extensions import db
from ..models import Document, Dossier
from ..services.core.common import load_dossier
from ..services.documents.papers import documents_of, ensure_pdf, find_document
from . import bp

# File names people see in their downloads folder, per kind.
FILE_PREFIX = {"receipt": "Giay-tiep-nhan", "appraisal_report": "Bao-cao-tham-dinh", "apology": "Phieu-xin-loi"}


def send_document(dossier: Dossier, document_id: int):
    """The stored bytes of one paper of a visible dossier (the pages and the API)."""
    doc = find_document(dossier, document_id)
    if not doc.pdf_key:  # not rendered yet (queued, or its render failed): render now
        ensure_pdf(doc)
        db.session.commit()
    return send_stored(doc.pdf_key, mimetype="application/pdf", download_name=download_name(doc, dossier),
                       etag=doc.pdf_sha256 or True)


def download_name(doc: Document, dossier: Dossier) -> str:
    # "apology:submitted" -> "Phieu-xin-loi-submitted": no colon in a file name.
    kind, _, step = doc.kind.partition(":")
    prefix = FILE_PREFIX.get(kind, kind) + (f"-{step}" if step else "")
    if doc.number is not None:
        return f"{prefix}-{doc.number}-{doc.issued_at.year}-{dossier.code}.pdf"
    return f"{prefix}-{dossier.code}-lan-{doc.round}.pdf"


@bp.app_template_global()
def dossier_documents(dossier: Dossier) -> list[Document]:
    """The papers listed on the dossier page ("Giấy tờ")."""
    return documents_of(dossier)


@bp.get("/dossiers/<int:dossier_id>/documents/<int:document_id>.pdf")
def dossier_document(dossier_id: int, document_id: int):
    return send_document(load_dossier(dossier_id, g.user), document_id)
