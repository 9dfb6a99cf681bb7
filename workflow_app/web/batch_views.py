"""One decision for several dossiers: the approver ticks the appraised
dossiers of one kind and recognises them together (all or nothing)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..i18n import request_lang
from ..services import fire_batch_decision
from ..services.common import engine, load_dossier
from ..services.decisions import decision_of
from ..services.queries import batch_candidates
from ..validation import parse_int
from ..workflow.errors import DomainError
from . import bp
from .forms import BatchForm


def _page(form: BatchForm, error: str | None = None, status: int = 200):
    groups = [(kind, engine().definition(kind).labels[request_lang()], dossiers)
              for kind, dossiers in batch_candidates(g.user).items()]
    chosen = set(request.form.getlist("dossier")) if request.method == "POST" else set()
    return render_template("web/batch.html", form=form, groups=groups, chosen=chosen, error=error), status


@bp.get("/decisions/batch")
def batch_decision():
    return _page(BatchForm())


@bp.post("/decisions/batch")
def batch_decision_post():
    form = BatchForm()
    if not form.validate_on_submit():
        return _page(form, _("Hãy đánh dấu ô xác nhận rồi bấm lại nút ban hành."), 400)
    items = []
    try:
        for value in request.form.getlist("dossier"):
            ident, _sep, version = value.partition(":")  # "<id>:<version>"
            items.append((load_dossier(parse_int("dossier", ident), g.user),
                          parse_int("dossier", version) if version else None))
        dossiers = fire_batch_decision(g.user, items, form.comment.data)
        decision = decision_of(dossiers[0])
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()  # all or nothing: no dossier moved, no number used
        return _page(form, exc.message(request_lang()), exc.status)
    flash(_("Đã ban hành Quyết định số %(symbol)s công nhận %(n)s hồ sơ.", symbol=decision.symbol, n=len(dossiers)))
    return redirect(url_for("web.batch_decision"))
