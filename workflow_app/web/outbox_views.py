"""The reminder outbox as a page: in development (no SMTP_HOST) this is where
the e-mails are read; with SMTP it shows administrators what went out and what
failed. An administrator reads every message, anyone else their own."""
from __future__ import annotations

from flask import g, render_template, request

from ..permissions import is_admin
from ..services.notify.mailer import MAX_ATTEMPTS, smtp_configured
from ..services.notify.reminders import outbox_for
from ..validation import query_int
from . import bp


@bp.app_template_global()
def shows_outbox(user) -> bool:
    """The navigation links the outbox while it stands in for e-mail (no SMTP),
    and always for administrators (delivery errors)."""
    return not smtp_configured() or is_admin(user)


@bp.get("/outbox")
def outbox():
    page = query_int("page", 1, lo=1)
    unsent = request.args.get("unsent") == "1"
    result = outbox_for(g.user, unsent=unsent, page=page)
    return render_template("web/outbox.html", result=result, unsent=unsent, everyone=is_admin(g.user),
                           smtp=smtp_configured(), max_attempts=MAX_ATTEMPTS)
