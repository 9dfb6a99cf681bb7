"""One decision for several dossiers: the approver ticks the appraised
dossiers of one kind and recognises them together (all or nothing)."""
from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from ..extensions import db
from ..i18n import request_lang
from ..services import fire_batch_decision
from ..services.core.common import engine, load_dossier
from ..services.core.persist import unit_of_work
from ..services.documents.decisions import decision_of
from ..services.reading.lists import batch_candidates
from ..validation import parse_int
from ..workflow.errors import DomainError
from . import bp
from .form_errors import FormErrors, checked, refusable
from .forms import BatchForm


def _page(form: BatchForm, errors: FormErrors | None = None):
    """The page; after a refusal, the form that was sent keeps its ticks, comment and confirmation."""
    groups = [(kind, engine().kind_label(kind, request_lang()), dossiers)
              for kind, dossiers in batch_candidates(g.user).items()]
    chosen = set(request.form.getlist("dossier")) if request.method == "POST" else set()
    errors = errors or FormErrors()
    return render_template("web/batch.html", form=form, groups=groups, chosen=chosen, errors=errors,
                           sent=_sent_kind() if errors else None, typed=request.form.to_dict()), \
        errors.status if errors else 200


def _sent_kind() -> str:
    """Which kind's form was sent: its hidden field, else the kind of a ticked dossier."""
    chosen = set(request.form.getlist("dossier"))
    return request.form.get("kind") or next((kind for kind, dossiers in batch_candidates(g.user).items()
                                             if any(f"{d.id}:{d.version}" in chosen for d in dossiers)), "")


@bp.get("/decisions/batch")
def batch_decision():
    return _page(BatchForm())


@bp.post("/decisions/batch")
def batch_decision_post():
    form = BatchForm()
    kind = _sent_kind()
    errors = FormErrors()
    if not checked(form, errors, {"comment": f"comment-{kind}", "confirm": f"confirm-{kind}"} if kind else {}):
        return _page(form, errors)
    try:
        chosen = []
        for value in request.form.getlist("dossier"):
            ident, _sep, version = value.partition(":")  # "<id>:<version>"
            chosen.append((parse_int("dossier", ident), parse_int("dossier", version) if version else None))
        # A version sent asks "only if nothing changed": a lost race is then refused at once.
        checked_version = next((version for _, version in chosen if version is not None), None)

        def work() -> tuple[list, object]:
            items = [(load_dossier(ident, g.user), version) for ident, version in chosen]
            dossiers = fire_batch_decision(g.user, items, form.comment.data)
            return dossiers, decision_of(dossiers[0])
        dossiers, decision = unit_of_work(work, checked_version)
    except DomainError as exc:
        db.session.rollback()  # all or nothing: no dossier moved, no number used
        if not refusable(exc):
            errors.status = exc.status
        errors.add_exception(exc, f"dossiers-{kind}" if kind else None)
        return _page(form, errors)
    flash(Markup('{0} <a href="{1}">{2}</a> · <a href="{3}">{4}</a>').format(
        _("Đã ban hành Quyết định số %(symbol)s công nhận %(n)s hồ sơ.", symbol=decision.symbol, n=len(dossiers)),
        url_for("web.dossier_decision", dossier_id=dossiers[0].id), _("Tải quyết định (PDF)"),
        url_for("web.verify", token=decision.verify_token), _("Trang xác minh")))
    return redirect(url_for("web.batch_decision"))
