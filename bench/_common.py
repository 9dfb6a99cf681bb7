"""Shared bits of the benchmark scripts: paths, statistics, machine facts."""
from __future__ import annotations

import os
import platform
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(ROOT) not in sys.path:  # `python bench/run.py` puts bench/ first, not the project
    sys.path.insert(0, str(ROOT))


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def p90(xs: list[float]) -> float:
    """90th percentile, linear interpolation between closest ranks (numpy's default)."""
    s = sorted(xs)
    if len(s) == 1:
        return s[0]
    pos = 0.9 * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def free_port() -> int:
    """A free TCP port below 32768 (higher ones collide with loopback client ports)."""
    for _ in range(200):
        port = random.randrange(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit("no free port in 20000-32000")


def production_env(folder: Path, database_url: str, port: int, workers: int, **extra: str) -> dict:
    """The environment docs/operations.md gives gunicorn, on a scratch folder and `port`."""
    env = dict(os.environ, APP_ENV="production", SECRET_KEY=secrets.token_hex(32), DATABASE_URL=database_url,
               PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", BIND=f"127.0.0.1:{port}",
               STORAGE_DIR=str(folder / "storage"), SIGNING_DIR=str(folder / "signing"),
               WEB_CONCURRENCY=str(workers), ACCESS_LOG=str(folder / "access.log"), LOG_LEVEL="warning", **extra)
    for key in ("REDIS_URL", "STORAGE_URL", "WEB_THREADS"):
        env.pop(key, None)
    return env


def start_gunicorn(folder: Path, env: dict, port: int, cwd: Path = ROOT) -> subprocess.Popen:
    """gunicorn with gunicorn.conf.py serving wsgi:app, once /healthz answers; its own
    process group, so stop_gunicorn ends its workers too."""
    log = open(folder / "gunicorn.log", "w")  # noqa: SIM115 - open for the server's life
    server = subprocess.Popen([str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
                              cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(300):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return server
        except requests.RequestException:
            pass
        if server.poll() is not None:
            break
        time.sleep(0.2)
    stop_gunicorn(server)
    raise SystemExit(f"gunicorn did not start; see {folder / 'gunicorn.log'}")


def stop_gunicorn(server: subprocess.Popen) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        os.killpg(server.pid, signal.SIGKILL)


def _sha(text: str | None) -> str | None:
    import hashlib
    return hashlib.sha256(text.encode()).hexdigest()[:16] if text else None


def machine_info() -> dict:
    def version(dist: str) -> str | None:
        try:
            from importlib.metadata import version as v
            return v(dist)
        except Exception:  # noqa: BLE001 - a missing version is not worth failing a run
            return None

    def git(*args: str) -> str | None:
        try:  # read-only queries
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=5, check=True).stdout.strip()
        except Exception:  # noqa: BLE001 - no git, not a checkout: just no commit
            return None

    cpu_model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu_model": cpu_model,
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "loadavg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "versions": {d: version(d) for d in ("weasyprint", "pyHanko", "Flask", "Werkzeug", "SQLAlchemy")},
        "git_commit": git("rev-parse", "--short", "HEAD"),
        "git_dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
        # Uncommitted changes are measured too: a fingerprint of them tells runs apart.
        "git_diff_sha256": _sha(git("diff", "HEAD")),
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
