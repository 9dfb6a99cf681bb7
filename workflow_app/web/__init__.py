"""Server-rendered pages: thin views that load, call one service, commit,
and redirect or render. Importing the view modules registers their routes."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import (  # noqa: E402, F401  (importing the view modules registers their routes)
    admin_views,
    apology_views,
    auth_views,
    batch_views,
    committee_views,
    dashboard_views,
    document_views,
    dossier_views,
    evidence_views,
    line_views,
    outbox_views,
    public_views,
    queue_views,
    register_views,
    summary_views,
)
