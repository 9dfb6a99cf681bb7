"""Administration: the user list, disabling and enabling accounts."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from ..extensions import db
from ..models import User
from ..permissions import is_admin
from ..services.users import set_active
from . import bp
from .forms import PostForm


@bp.get("/admin/users")
def admin_users():
    if not is_admin(g.user):
        abort(403)
    users = db.session.execute(db.select(User).order_by(User.username)).scalars().all()
    return render_template("admin/users.html", users=users, form=PostForm())


@bp.post("/admin/users/<int:user_id>/active/<int:active>")
def admin_set_active(user_id: int, active: int):
    if not is_admin(g.user):
        abort(403)
    if not PostForm().validate_on_submit():
        abort(400)
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    set_active(g.user, user, bool(active))
    db.session.commit()
    flash(_("Đã mở khóa tài khoản %(name)s.", name=user.username) if active
          else _("Đã khóa tài khoản %(name)s.", name=user.username))
    return redirect(url_for("web.admin_users"))
