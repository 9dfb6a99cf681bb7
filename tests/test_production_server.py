"""`make serve`: the app under gunicorn with gunicorn.conf.py, configured by the
environment as a deployment is (APP_ENV=production, behind one proxy), on SQLite
made by `flask init-db`. Real processes, real HTTP on 127.0.0.1."""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def deployment_env(tmp_path: Path, port: int, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_URL")}
    env.update(APP_ENV="production", SECRET_KEY="a-long-production-secret-for-this-test",
               DATABASE_URL=f"sqlite:///{tmp_path / 'ntm.db'}", STORAGE_DIR=str(tmp_path / "storage"),
               SIGNING_DIR=str(tmp_path / "signing"), BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2",
               WEB_THREADS="2", PROXY_HOPS="1", ACCESS_LOG="-", PUBLIC_BASE_URL="https://ntm.tamduong.example")
    env.update(extra)
    return env


def get(port: int, path: str, **headers: str):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.headers, refused.read()


@contextmanager
def gunicorn_serving(env: dict, folder: Path, port: int):
    """`flask init-db`, then gunicorn as `make serve` runs it, until it answers /healthz."""
    subprocess.run([str(BIN / "flask"), "--app", "wsgi", "init-db"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    with open(folder / "gunicorn.log", "wb") as log:
        server = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if get(port, "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((folder / "gunicorn.log").read_text()[-3000:])
                time.sleep(0.2)
            yield server
        finally:
            server.terminate()  # graceful stop, as systemd does
            server.wait(30)


@pytest.fixture
def served(tmp_path):
    port = free_port()
    with gunicorn_serving(deployment_env(tmp_path, port), tmp_path, port):
        yield port, tmp_path


def test_gunicorn_serves_the_app_as_configured(served):
    port, folder = served
    status, _, body = get(port, "/healthz")
    assert status == 200 and json.loads(body) == {"status": "ok"}
    status, headers, body = get(port, "/login")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Đăng nhập" in body.decode()
    # A verification check through the proxy: the refusal in the contract's shape,
    # the client's address (from X-Forwarded-For, PROXY_HOPS=1) in the log table.
    status, _, body = get(port, "/verify/khong-co-ma-nay", Accept="application/json",
                          **{"X-Forwarded-For": "203.0.113.5"})
    assert status == 404 and json.loads(body)["error"]["code"] == "not_found"
    with sqlite3.connect(folder / "ntm.db") as conn:
        assert conn.execute("SELECT result, remote_addr FROM verification_checks").fetchall() == [
            ("not_found", "203.0.113.5")]
    access = (folder / "gunicorn.log").read_text()
    assert '"GET /login HTTP/1.1" 200' in access  # one access-log line per request
    # Each of the two processes froze its start-up objects out of garbage collection
    # (post_worker_init; the second may still be starting when the first answers).
    frozen = "start-up objects frozen out of garbage collection: "
    deadline = time.monotonic() + 60
    while (access := (folder / "gunicorn.log").read_text()).count(frozen) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    counts = [int(line.split(frozen)[1]) for line in access.splitlines() if frozen in line]
    assert len(counts) == 2 and all(n > 100_000 for n in counts)


def test_production_without_a_secret_key_does_not_start(tmp_path):
    env = deployment_env(tmp_path, free_port(), SECRET_KEY="")
    done = subprocess.run([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0
    assert "SECRET_KEY is required when APP_ENV=production" in done.stdout + done.stderr
