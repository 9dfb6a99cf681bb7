"""Rate limits for the public decision check (GET and POST /verify/<token>) and
nothing else: every other route is either signed-in or cheap.

One Limiter per app, made in `init_rate_limits`: tests and scripts build many
apps in one process, and a module-level Limiter would share (in memory mode)
one budget between them. With REDIS_URL set, the counters live in Redis so
that every worker of the deployment (and every app built with the same URL)
spends one budget per client address; without it they live in this process.
If Redis stops answering, the check falls back to in-process counters rather
than refusing or failing verification.
"""
from __future__ import annotations

import ipaddress
import logging
import math
import time
from functools import partial

from flask import Flask, current_app, make_response, request
from flask_limiter import Limiter, RateLimitExceeded

from .errors import error_response
from .i18n import request_lang

log = logging.getLogger(__name__)

# endpoint -> the config key holding its limit ("30/minute", "100/hour;10/minute", ...)
LIMITED_ENDPOINTS = {"web.verify": "VERIFY_RATE_LIMIT", "web.verify_upload": "VERIFY_UPLOAD_RATE_LIMIT"}
DEFAULTS = {"VERIFY_RATE_LIMIT": "30/minute", "VERIFY_UPLOAD_RATE_LIMIT": "10/minute"}
EXTENSION = "verify_limiter"


def client_address() -> str:
    """The client's address: behind reverse proxies, PROXY_HOPS makes remote_addr
    the client's rather than the proxy's (create_app). Logged and recorded as is;
    budgets are kept per address_key of it."""
    return request.remote_addr or "unknown"


def address_key(address: str) -> str:
    """Whose budget an address spends: an IPv4 address its own; an IPv6 address its
    /64 network, since a subscriber or LAN is given a whole /64 and picks any
    interface id in it at will (one budget per address would be 2**64 budgets);
    an IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address. Anything
    that is not an IP address is its own key."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    if ip.version == 6:
        return str(ipaddress.IPv6Network((int(ip), 64), strict=False))
    return str(ip)


def client_key() -> str:
    """The budget of this request's client (address_key of client_address)."""
    return address_key(client_address())


def init_rate_limits(app: Flask) -> Limiter:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    redis_url = app.config.get("REDIS_URL")
    limiter = Limiter(
        key_func=client_key,
        storage_uri=redis_url or "memory://",
        # Namespaced in Redis: one database may serve several apps.
        key_prefix=app.config.get("RATELIMIT_KEY_PREFIX", "ntm-verify"),
        strategy=app.config.get("RATELIMIT_STRATEGY", "fixed-window"),
        headers_enabled=False,  # Retry-After on 429 only (below), not on every answer
        in_memory_fallback_enabled=True,
        swallow_errors=True,
    )
    limiter.init_app(app)
    app.extensions[EXTENSION] = limiter
    _check_limited_endpoints_only(app, limiter)
    for endpoint, key in LIMITED_ENDPOINTS.items():
        view = app.view_functions[endpoint]
        # Wrapping this app's own view-function entry keeps the limit per app.
        app.view_functions[endpoint] = limiter.limit(lambda key=key: current_app.config[key])(view)

    @app.errorhandler(RateLimitExceeded)
    def too_many_checks(exc: RateLimitExceeded):
        retry = retry_after_seconds(limiter)
        log.warning("verification rate limit %s reached by %s on %s %s", exc.limit.limit, client_address(),
                    request.method, request.path)
        if request_lang() == "en":
            message = (f"Too many verification requests from your address. Wait {retry} seconds and try "
                       "again.")
        else:
            message = (f"Bạn đã gửi quá nhiều yêu cầu xác minh trong thời gian ngắn. Hãy đợi {retry} giây "
                       "rồi thử lại.")
        response = make_response(error_response(429, "too_many_requests", message))
        response.headers["Retry-After"] = str(retry)
        return response

    log.info("verification rate limits %s / %s, counters in %s", app.config["VERIFY_RATE_LIMIT"],
             app.config["VERIFY_UPLOAD_RATE_LIMIT"], "Redis" if redis_url else "memory")
    return limiter


def _check_limited_endpoints_only(app: Flask, limiter: Limiter) -> None:
    """The limiter's hooks run on every request (before: view lookup, limit and
    exemption resolution; after: header injection; teardown: context reset), though
    only LIMITED_ENDPOINTS have limits: let the others (every download, every API
    call) pass them by. About 0.03 ms a request."""
    check = limiter._check_request_limit
    hooks = app.before_request_funcs.get(None, [])
    if check not in hooks:  # another flask-limiter: filter instead (a little more work)
        limiter.request_filter(lambda: request.endpoint not in LIMITED_ENDPOINTS)
        return

    def check_limited_endpoints():
        if request.endpoint in LIMITED_ENDPOINTS:
            return check()
        return None

    hooks[hooks.index(check)] = check_limited_endpoints
    after = app.after_request_funcs.get(None, [])
    for i, hook in enumerate(after):
        if isinstance(hook, partial) and hook.args == (limiter,):  # Limiter.__inject_headers

            def inject_on_limited_endpoints(response, hook=hook):
                return hook(response) if request.endpoint in LIMITED_ENDPOINTS else response

            after[i] = inject_on_limited_endpoints
    teardown = app.teardown_request_funcs.get(None, [])
    for i, hook in enumerate(teardown):
        if getattr(hook, "__self__", None) is limiter:  # Limiter.__release_context

            def release_on_limited_endpoints(exc=None, hook=hook):
                if request.endpoint in LIMITED_ENDPOINTS:
                    hook(exc)

            teardown[i] = release_on_limited_endpoints


def retry_after_seconds(limiter: Limiter) -> int:
    """Seconds until the breached window resets (at least 1)."""
    current = limiter.current_limit
    if current is None:
        return 60
    try:
        return max(1, math.ceil(current.reset_at - time.time()))
    except Exception:  # storage gone while answering: a safe guess
        return 60
