"""Sign-in, sign-out and password change."""
from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_user, logout_user

from ..extensions import db
from ..i18n import request_lang
from ..ratelimit import client_address
from ..services.core.users import authenticate, change_password, rotate_session
from ..signin_throttle import SignInThrottled
from ..validation import safe_next
from ..workflow.errors import DomainError
from . import bp
from .form_errors import FormErrors, checked, refusable
from .forms import LoginForm, PasswordForm, PostForm


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data, form.password.data, client_address())
        except SignInThrottled as exc:
            return _throttled("auth/login.html", form, exc)
        except DomainError as exc:
            error = exc.message(request_lang())
        else:
            login_user(user)
            return redirect(safe_next(request.args.get("next")))
    elif request.method == "POST":
        error = _("Hãy nhập tên đăng nhập và mật khẩu.")
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    if not PostForm().validate_on_submit():
        abort(400)
    rotate_session(g.user)  # the old cookie is now worthless, even if copied
    db.session.commit()
    logout_user()
    flash(_("Bạn đã đăng xuất."))
    return redirect(url_for("web.login"))


@bp.route("/password", methods=["GET", "POST"])
def password():
    form = PasswordForm()
    errors = FormErrors()
    if request.method == "POST" and checked(form, errors):
        try:
            changed = change_password(g.user, form.current.data, form.new.data, client_address())
            db.session.commit()
        except SignInThrottled as exc:
            db.session.rollback()
            return _throttled("auth/password.html", form, exc)
        except DomainError as exc:
            db.session.rollback()
            if not refusable(exc):
                raise
            errors.add_exception(exc, fields={"current": "current", "new": "new"})
        else:
            login_user(g.user)  # stay signed in here; other sessions are signed out
            flash(_("Đã đổi mật khẩu. Các phiên đăng nhập khác đã bị đăng xuất.") if changed
                  else _("Mật khẩu mới giống mật khẩu cũ: không có gì thay đổi."))
            return redirect(url_for("web.index"))
    # Passwords are never sent back into the page: the fields come back empty, the messages say which to retype.
    return render_template("auth/password.html", form=form, errors=errors), (errors.status if errors else 200)


def _throttled(template: str, form, exc: SignInThrottled):
    """The same page, its fields as typed (never the password), the refusal and when to retry."""
    errors = FormErrors()
    errors.add(exc.message(request_lang()))
    return (render_template(template, form=form, error=exc.message(request_lang()), errors=errors), exc.status,
            {"Retry-After": str(exc.retry_after)})
