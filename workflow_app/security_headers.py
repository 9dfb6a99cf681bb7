"""Response headers and cookie flags that tell the browser what the pages may do.

The pages carry no script and no inline style (styles are classes in
static/app.css; the SVG charts use presentation attributes, which the policy
does not cover), so the policy allows only our own origin and nothing inline.
"""
from __future__ import annotations

from flask import Flask, g, request

from .auth import PUBLIC_ENDPOINTS

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Same-origin links carry the full address; another site learns nothing, not even
# which decision's verification page (its token is in the path) sent the visitor.
REFERRER_POLICY = "same-origin"
HSTS = "max-age=31536000"  # a year; production only (development runs on plain HTTP)

ALWAYS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": REFERRER_POLICY,
}


def is_production(app: Flask) -> bool:
    return app.config.get("APP_ENV") == "production"


def init_security_headers(app: Flask) -> None:
    production = is_production(app)
    # HttpOnly always (Flask's default, made explicit); Lax keeps the cookie off
    # cross-site POSTs and embedded requests while links from other sites still
    # arrive signed in. Secure only in production: development serves plain HTTP.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = production
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    app.config["REMEMBER_COOKIE_SECURE"] = production
    headers = dict(ALWAYS)
    if production:
        headers["Strict-Transport-Security"] = HSTS

    @app.after_request
    def security_headers(response):
        response.headers.update(headers)
        if request.endpoint != "static" and (request.path.startswith("/api/") or _signed_in()):
            # What a signed-in user or an API caller sees is theirs alone: no copy
            # in the browser's cache or a proxy's, where the next user could read it.
            response.headers["Cache-Control"] = "no-store"
        return response


def _signed_in() -> bool:
    # Past the login gate (every endpoint not listed public) only a signed-in user
    # gets a page. A public page (verify, error pages) shows the user's name when
    # Flask-Login loaded one, which the gate forgets at each request's start.
    # Never load the user here: a page that did not ask showed nothing of theirs.
    endpoint = request.endpoint
    if endpoint is not None and endpoint not in PUBLIC_ENDPOINTS:
        return True
    user = g.get("_login_user")
    return user is not None and user.is_authenticated
