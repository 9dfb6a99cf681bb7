"""Server-rendered pages: thin views that load, call one service, commit,
and redirect or render. Importing the view modules registers their routes."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import admin_views, auth_views, batch_views, dossier_views, public_views, queue_views, register_views  # noqa: E402,F401
from . import document_views  # noqa: E402,F401
from . import outbox_views  # noqa: E402,F401
from . import committee_views  # noqa: E402,F401
from . import apology_views  # noqa: E402,F401
from . import dashboard_views  # noqa: E402,F401
from . import evidence_views  # noqa: E402,F401
