"""Who is calling: Bearer tokens for the API, a session for the pages.
Deny by default: only the endpoints listed public are open."""
from __future__ import annotations

from flask import Flask, abort, g, request
from flask.sessions import NullSession, SecureCookieSessionInterface
from flask_login import current_user

from .extensions import db, login_manager
from .models import User
from .services.core.users import user_for_token
from .validation import is_digits

# Everything else needs a signed-in user (pages) or a Bearer token (API).
PUBLIC_ENDPOINTS = {"static", "web.login", "web.verify", "web.verify_upload", "web.healthz", "web.set_lang",
                    "api-docs.openapi_json"}


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    uid, _, token = user_id.partition(":")
    if not is_digits(uid):
        return None
    user = db.session.get(User, int(uid))
    # A rotated session token (logout, password change) invalidates old cookies.
    if user is None or not user.active or user.session_token != token:
        return None
    return user


def bearer_token() -> str | None:
    """The token of an 'Authorization: Bearer <token>' header, if any."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def bearer_user() -> User | None:
    token = bearer_token()
    return None if token is None else user_for_token(token)


def acting_user() -> User:
    return g.user


class PagesOnlySessionInterface(SecureCookieSessionInterface):
    """The signed session cookie for the pages only. The API is Bearer-only, so a
    cookie neither authenticates an API call nor is set by one: opening the session
    (a serializer and an HMAC check every request) is skipped there."""

    def open_session(self, app: Flask, request):
        if request.path.startswith("/api/"):
            return NullSession()  # reads as empty; a write raises
        return super().open_session(app, request)


def register_gate(app: Flask) -> None:
    app.session_interface = PagesOnlySessionInterface()

    @app.before_request
    def gate():
        # Flask-Login caches the user in flask.g; a request must never inherit
        # one from an outer app context (tests, scripts): read the cookie anew.
        g.pop("_login_user", None)
        endpoint = request.endpoint
        if endpoint is None or endpoint in PUBLIC_ENDPOINTS:
            return None
        if request.path.startswith("/api/"):
            user = bearer_user()
            if user is None:
                abort(401)
            g.user = user
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        g.user = current_user._get_current_object()
        return None
