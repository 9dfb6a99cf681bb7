"""A server subprocess for the download benchmark.

    python bench/serve.py app  FOLDER        the real app (world.overrides(FOLDER))
    python bench/serve.py bare FILE          a bare Flask app: GET /file returns FILE's bytes (from memory)
    python bench/serve.py sendfile FILE      a bare Flask app: GET /file is send_file(FILE) (diagnostic)

Both run on the same server: Werkzeug's threaded WSGI server (a thread per
connection, HTTP/1.1 keep-alive) on 127.0.0.1, on a free port below 32768.
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
    app = real_app(target) if mode == "app" else bare_app(target, from_disk=(mode == "sendfile"))
    server = listen(app)
    print(f"PORT {server.server_port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv)
