"""A server subprocess for the download benchmark.

    python bench/serve.py app  FOLDER        the real app (world.overrides(FOLDER))
    python bench/serve.py bare FILE          a bare Flask app: GET /file returns FILE's bytes (from memory)
    python bench/serve.py sendfile FILE      a bare Flask app: GET /file is send_file(FILE) (diagnostic)
    python bench/serve.py floor FOLDER       reference: a bare Flask app doing only the download's
                                             database work, in one SQLAlchemy Core statement
    python bench/serve.py rows FOLDER        a bare Flask-SQLAlchemy app reading (GET /rows/<id>) or
                                             reading and updating (PUT /rows/<id>) one row of
                                             `bench_rows` in the app's database (the writes benchmark)

The writes benchmark serves `app` and `rows` with gunicorn instead: `wsgi_app()` builds
either from BENCH_MODE and BENCH_FOLDER.

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
    """What a download costs with nothing but its database work done in one round
    trip: one statement (the Bearer token's user and role units, the dossier, its
    unit and its latest decision) in SQLAlchemy Core on a pooled connection, the
    permission checked on the unit paths, the stored file read and returned. No
    ORM, no extensions, no conditional or range handling. Not a goal: a reference
    that tells how much of the gap to the bare endpoint is the database work itself."""
    import hashlib

    import sqlalchemy as sa
    import world
    from flask import Flask, Response, abort, request

    from workflow_app.config import engine_options, normalize_db_url
    from workflow_app.models import (
        ApiToken,
        Decision,
        Dossier,
        RoleAssignment,
        Unit,
        User,
        decision_dossiers,
    )

    tokens, users, roles = ApiToken.__table__, User.__table__, RoleAssignment.__table__
    dossiers, units, decisions = Dossier.__table__, Unit.__table__, Decision.__table__
    role_units = units.alias("role_unit")
    latest = (sa.select(sa.func.max(decisions.c.id))
              .select_from(decisions.join(decision_dossiers, decision_dossiers.c.decision_id == decisions.c.id))
              .where(decision_dossiers.c.dossier_id == dossiers.c.id, decisions.c.type == "recognition")
              .scalar_subquery())
    statement = (
        sa.select(users.c.active, role_units.c.path.label("role_path"), units.c.path, decisions.c.pdf_key)
        .select_from(tokens.join(users, users.c.id == tokens.c.user_id)
                     .outerjoin(roles, roles.c.user_id == users.c.id)
                     .outerjoin(role_units, role_units.c.id == roles.c.unit_id)
                     .outerjoin(dossiers, dossiers.c.id == sa.bindparam("dossier_id"))
                     .outerjoin(units, units.c.id == dossiers.c.unit_id)
                     .outerjoin(decisions, decisions.c.id == latest))
        .where(tokens.c.token_hash == sa.bindparam("token_hash")))

    config = world.overrides(folder)
    url = normalize_db_url(config["SQLALCHEMY_DATABASE_URI"])
    engine = sa.create_engine(url, **engine_options(url))  # the app's engine settings
    storage = Path(config["STORAGE_DIR"])
    app = Flask("floor")

    @app.get("/api/v1/dossiers/<int:dossier_id>/decision.pdf")
    def decision_pdf(dossier_id: int):
        token = request.headers.get("Authorization", "").partition(" ")[2].strip()
        with engine.connect() as conn:
            rows = conn.execute(statement, {"token_hash": hashlib.sha256(token.encode()).hexdigest(),
                                            "dossier_id": dossier_id}).all()
        if not rows or not rows[0].active:
            abort(401)
        row = rows[0]
        if row.pdf_key is None or not any(row.path.startswith(r.role_path) for r in rows if r.role_path):
            abort(404)
        return Response((storage / row.pdf_key).read_bytes(), mimetype="application/pdf")

    return app


def rows_app(folder: Path):
    """A bare Flask-SQLAlchemy app on the app's database and engine settings: GET reads one
    row, PUT reads it and updates it (a new value and version) and commits; each answers
    the row as JSON. The writes benchmark's baseline."""
    import world
    from flask import Flask, abort, jsonify, request
    from flask_sqlalchemy import SQLAlchemy

    from workflow_app.config import engine_options, normalize_db_url

    url = normalize_db_url(world.overrides(folder)["SQLALCHEMY_DATABASE_URI"])
    app = Flask("rows")
    app.config.update(SQLALCHEMY_DATABASE_URI=url, SQLALCHEMY_ENGINE_OPTIONS=engine_options(url))
    bare = SQLAlchemy(app)

    class Row(bare.Model):
        __tablename__ = "bench_rows"
        id = bare.Column(bare.Integer, primary_key=True)
        value = bare.Column(bare.String(200))
        version = bare.Column(bare.Integer, nullable=False, default=1)

    def answer(row):
        return jsonify({"id": row.id, "value": row.value, "version": row.version})

    @app.get("/rows/<int:row_id>")
    def read(row_id: int):
        row = bare.session.get(Row, row_id) or abort(404)
        return answer(row)

    @app.put("/rows/<int:row_id>")
    def update(row_id: int):
        row = bare.session.get(Row, row_id) or abort(404)
        row.value = (request.get_json(silent=True) or {}).get("value")
        row.version += 1
        bare.session.commit()
        return answer(row)

    return app


def wsgi_app():
    """For gunicorn (`serve:wsgi_app()`): the real app or the bare rows app, by
    BENCH_MODE (app | rows) on BENCH_FOLDER."""
    import os

    folder = Path(os.environ["BENCH_FOLDER"])
    return rows_app(folder) if os.environ.get("BENCH_MODE") == "rows" else real_app(folder)


def real_app(folder: Path):
    import world

    from workflow_app.app import create_app

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
    elif mode == "rows":
        app = rows_app(target)
    else:
        app = bare_app(target, from_disk=(mode == "sendfile"))
    server = listen(app)
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
