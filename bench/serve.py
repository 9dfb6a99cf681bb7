"""A server subprocess for the download benchmark.

    python bench/serve.py app  FOLDER        the real app (world.overrides(FOLDER))
    python bench/serve.py bare FILE          a bare Flask app: GET /file returns FILE's bytes (from memory)
    python bench/serve.py sendfile FILE      a bare Flask app: GET /file is send_file(FILE) (diagnostic)
    python bench/serve.py floor FOLDER       reference: a bare Flask app doing only the download's one
                                             statement, in SQLAlchemy Core, on the same database

All run on the same server: Werkzeug's threaded WSGI server (a thread per
connection; it answers every request with "Connection: close", so each request
is a new connection and a new thread) on 127.0.0.1, on a free port below 32768.
Request logging is off in both (one stderr line per request would be measured
too). Prints "PORT <n>" once listening, then serves until killed.
"""
from __future__ import annotations

import random
import sys
from pathlib import Path

from _common import ROOT  # noqa: F401  (puts the project on sys.path)
from werkzeug.serving import WSGIRequestHandler, make_server


class QuietHandler(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass


def bare_app(path: Path, from_disk: bool = False):
    from flask import Flask, Response, send_file

    data = path.read_bytes()
    app = Flask("bare")

    @app.get("/file")
    def file():
        if from_disk:  # what the app's route does last, without auth or queries
            return send_file(path, mimetype="application/pdf", as_attachment=True,
                             download_name="decision.pdf", etag="bench")
        return Response(data, mimetype="application/pdf")

    return app


def floor_app(folder: Path):
    """What a download costs with nothing but its own database work: the app's own
    statement (downloads._DECISION_DOWNLOAD_FOR_TOKEN: the Bearer token's user and
    role units, the dossier and its decision, one round trip) in SQLAlchemy Core
    on a pooled connection with the settings the app reads with, the permission checked
    on the unit paths, the stored file read and returned. No ORM, no extensions,
    no conditional or range handling. Not a goal: a reference that tells how much
    of the gap to the bare endpoint is the database work itself."""
    import hashlib

    import sqlalchemy as sa
    import world
    from flask import Flask, Response, abort, request

    from workflow_app.config import normalize_db_url, read_engine_options
    from workflow_app.downloads import (
        _DECISION_DOWNLOAD_FOR_TOKEN,  # the app's own statement
    )

    config = world.overrides(folder)
    url = normalize_db_url(config["SQLALCHEMY_DATABASE_URI"])
    # The engine settings the app reads with (workflow_app/reads.py).
    engine = sa.create_engine(url, **read_engine_options(url))
    storage = Path(config["STORAGE_DIR"])
    app = Flask("floor")

    @app.get("/api/v1/dossiers/<int:dossier_id>/decision.pdf")
    def decision_pdf(dossier_id: int):
        token = request.headers.get("Authorization", "").partition(" ")[2].strip()
        with engine.connect() as conn:
            rows = conn.execute(_DECISION_DOWNLOAD_FOR_TOKEN, {
                "token_hash": hashlib.sha256(token.encode()).hexdigest(), "dossier_id": dossier_id,
                "document": "recognition"}).all()
        if not rows or not rows[0].active:
            abort(401)
        row = rows[0]
        if row.pdf_key is None or not any(row.path.startswith(r.role_path) for r in rows if r.role_path):
            abort(404)
        return Response((storage / row.pdf_key).read_bytes(), mimetype="application/pdf")

    return app


def real_app(folder: Path):
    import world

    from workflow_app import create_app

    app = create_app(world.overrides(folder))
    world.quiet_logs()
    return app


def listen(app):
    # Ports below 32768: Linux hands out ephemeral (client) ports from 32768 up.
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        try:
            return make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
        except OSError:
            continue
    raise SystemExit("no free port in 20000-32000")


def main(argv: list[str]) -> None:
    mode, target = argv[1], Path(argv[2])
    if mode == "app":
        app = real_app(target)
    elif mode == "floor":
        app = floor_app(target)
    else:
        app = bare_app(target, from_disk=(mode == "sendfile"))
    server = listen(app)
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
