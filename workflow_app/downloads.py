"""File downloads shared by the pages and the API: the same stored bytes,
the same names and the same refusals whichever door the user comes through."""
from __future__ import annotations

from flask import send_file

from .models import Dossier
from .services import find_attachment
from .services.decisions import decision_of
from .services.storage import path_of
from .workflow.errors import NotFound


def send_attachment(dossier: Dossier, attachment_id: int):
    a = find_attachment(dossier, attachment_id)
    return send_file(path_of(a.storage_key), mimetype=a.mime, as_attachment=True, download_name=a.filename)


def send_decision(dossier: Dossier):
    decision = decision_of(dossier)
    if decision is None:
        raise NotFound("Hồ sơ này chưa có quyết định công nhận.", "This dossier has no decision yet.")
    return send_file(path_of(decision.pdf_key), mimetype="application/pdf", as_attachment=True,
                     download_name=f"QD-{decision.number}-{decision.year}-{dossier.code}.pdf",
                     etag=decision.pdf_sha256)
