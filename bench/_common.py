"""Shared bits of the benchmark scripts: paths, statistics, machine facts."""
from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

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
