"""Server-rendered pages: thin views that load, call one service, commit,
and redirect or render. Importing the view modules registers their routes."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import admin_views, auth_views, batch_views, dossier_views, public_views, queue_views, register_views
from . import document_views
from . import outbox_views
from . import committee_views
from . import apology_views
from . import dashboard_views
from . import evidence_views
