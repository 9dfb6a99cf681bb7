"""The application factory: configuration, extensions, blueprints, CLI."""
from __future__ import annotations

import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import models  # noqa: F401  (the tables, for create_all and migrations)
from .api import register_api
from .auth import register_gate
from .cli import register_cli
from .config import ROOT, Config, engine_options, normalize_db_url
from .errors import register_error_handlers
from .extensions import csrf, db, login_manager, migrate
from .i18n import init_i18n
from .ratelimit import init_rate_limits
from .security_headers import init_security_headers
from .signin_throttle import init_signin_throttle
from .unread_body import init_unread_body
from .validation import init_validation
from .web import bp as web_bp
from .web.helpers import register_template_helpers
from .workflow import Engine


def create_app(overrides: dict | None = None) -> Flask:
    app = Flask(__name__, template_folder="../templates", instance_relative_config=False)
    config = Config()
    app.config.from_object(config)
    app.config.setdefault("EVIDENCE_MAX_BYTES", 10 * 1024 * 1024)
    if overrides:
        app.config.update(overrides)
        app.config["SQLALCHEMY_DATABASE_URI"] = normalize_db_url(app.config["SQLALCHEMY_DATABASE_URI"])
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = _engine_options(app.config)

    if app.config["PROXY_HOPS"]:

        # Behind N proxies each appends the address it saw to X-Forwarded-For: the
        # client is the N-th from the right (earlier entries are whatever the client
        # sent). X-Forwarded-Proto is set once, by the proxy that ends TLS, and passed
        # on by the others: one value.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=app.config["PROXY_HOPS"], x_proto=1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    init_i18n(app)

    init_validation(app)  # before any route is added: the bounded `int` converter, JSON limits
    # Definitions are validated at start-up: a broken file stops the app with its name and key.
    app.extensions["workflow_engine"] = Engine.from_dir(app.config["STATES_DIR"])


    app.register_blueprint(web_bp)
    register_template_helpers(app)
    register_api(app)
    register_gate(app)
    register_error_handlers(app)

    init_security_headers(app)  # CSP and friends on every response; cookie flags

    init_rate_limits(app)  # GET and POST /verify/<token> only

    init_signin_throttle(app)  # wrong passwords per account and per address
    init_unread_body(app)  # an early refusal keeps the kept-alive connection usable


    register_cli(app)
    return app


def _engine_options(config) -> dict:
    options = dict(engine_options(config["SQLALCHEMY_DATABASE_URI"], config["DB_POOL_SIZE"]))
    options.update(config.get("EXTRA_ENGINE_OPTIONS", {}))
    return options
