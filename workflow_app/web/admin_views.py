"""Administration: the user list, disabling and enabling accounts."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..i18n import request_lang
from ..models import User
from ..permissions import is_admin
from ..services.core.users import set_active
from ..services.reading.dossier_page import ROLE_NAMES
from ..workflow.errors import DomainError
from . import bp
from .form_errors import FormErrors, checked, refusable
from .forms import PostForm


@bp.get("/admin/users")
def admin_users():
    if not is_admin(g.user):
        abort(403)
    return _users_page(FormErrors())


def _users_page(errors: FormErrors):
    users = db.session.execute(db.select(User).order_by(User.username)).scalars().all()
    lang = 1 if request_lang() == "en" else 0
    roles = {name: words[lang] for name, words in ROLE_NAMES.items()}
    return render_template("admin/users.html", users=users, form=PostForm(), errors=errors,
                           role_names=roles), (errors.status if errors else 200)


@bp.post("/admin/users/<int:user_id>/active/<int:active>")
def admin_set_active(user_id: int, active: int):
    if not is_admin(g.user):
        abort(403)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    errors = FormErrors()
    form = PostForm()
    if checked(form, errors):
        try:
            set_active(g.user, user, bool(active))
        except DomainError as exc:
            if not refusable(exc):
                raise
            errors.add_exception(exc, f"user-{user.id}")
    if errors:
        db.session.rollback()
        return _users_page(errors)
    db.session.commit()
    flash(_("Đã mở khóa tài khoản %(name)s.", name=user.username) if active
          else _("Đã khóa tài khoản %(name)s.", name=user.username))
    return redirect(url_for("web.admin_users"))
