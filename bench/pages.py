"""Page times at scale: the reading pages served by gunicorn on a database made by make_data.py.

    .venv/bin/python bench/pages.py ntm_bench                 # 15 rounds
    .venv/bin/python bench/pages.py ntm_bench --rounds 5 --timeout 120

Starts gunicorn with gunicorn.conf.py (APP_ENV=production, as docs/operations.md says) on a free
port below 32768, signs in through the login form as a district approver, a commune approver
(new era) and a province approver, then times each page for each user: round after round, the
order of the (user, page) pairs shuffled in every round, one request at a time. Prints median,
p95 and the budget of each page (p95 < 150 ms for a district or commune user, < 300 ms for a
province user), the worker RSS, and writes bench/results/pages-<dossiers>.json.

Memory per request: before each request the serving workers' peak RSS is reset (`5` written to
/proc/<pid>/clear_refs) and after it their VmHWM (/proc/<pid>/status) is read, so each page's
figure is the highest the workers' resident memory reached while it was answered, not a sample
after it ("peak"), and how far that rose above the worker's RSS before the request ("rise").
Goal: no request above 400 MB.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import requests
from _common import BENCH, ROOT, free_port, machine_info, median, production_env, start_gunicorn, stop_gunicorn

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-pass-1"  # make_data.py's
BUDGET_MS = {"district": 150, "commune": 150, "province": 300}
PEAK_GOAL_MB = 400


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("database", help="a database made by bench/make_data.py")
    p.add_argument("--server", default=os.environ.get("BENCH_PG", DEFAULT_SERVER))
    p.add_argument("--rounds", type=int, default=15)
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    p.add_argument("--timeout", type=float, default=30.0,
                   help="seconds before a request is given up; the server's statements get the same "
                        "statement_timeout, and a page that hits it is not asked again")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY)")
    p.add_argument("--app-dir", type=Path, default=ROOT, help="checkout to serve (default: this one)")
    p.add_argument("--commit", help="the commit served, for the record (default: git HEAD of --app-dir)")
    p.add_argument("--out", type=Path, help="default bench/results/pages-<dossiers>.json")
    return p.parse_args(argv)


def p95(xs: list[float]) -> float:
    s = sorted(xs)
    if len(s) == 1:
        return s[0]
    pos = 0.95 * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def pick_users(url: str) -> dict:
    """One approver of each level, with a dossier of their scope and a search word."""
    with psycopg.connect(url) as conn:
        def one(sql, *args):
            return conn.execute(sql, args).fetchone()

        def approver(level, valid_to_null):
            return one("SELECT u.username, un.id, un.path FROM users u JOIN role_assignments r ON r.user_id = u.id "
                       "JOIN units un ON un.id = r.unit_id WHERE r.role = 'approver' AND un.level = %s "
                       f"AND un.valid_to IS {'NULL' if valid_to_null else 'NOT NULL'} AND un.code LIKE 'tinh-01%%' "
                       "ORDER BY un.id LIMIT 1", level)

        users = {"district": approver("district", False), "commune": approver("commune", True),
                 "province": approver("province", True)}
        picked = {}
        for level, (username, _unit_id, path) in users.items():
            dossier = one("SELECT d.id, un.name FROM dossiers d JOIN unit_links l ON l.unit_id = d.unit_id "
                          "JOIN units un ON un.id = d.unit_id WHERE l.path LIKE %s ORDER BY d.id DESC LIMIT 1",
                          path + "%")
            picked[level] = {"username": username, "unit_path": path, "dossier": dossier[0],
                             "search": dossier[1]}
        counts = dict(conn.execute("SELECT 'dossiers', count(*) FROM dossiers UNION ALL "
                                   "SELECT 'audit_records', count(*) FROM audit_records UNION ALL "
                                   "SELECT 'decisions', count(*) FROM decisions").fetchall())
    return {"users": picked, "counts": counts}


def start_server(args, url: str, port: int, folder: Path) -> subprocess.Popen:
    # A statement still running when the client gives up would keep a CPU busy for the next requests.
    url += f"?options=-c%20statement_timeout%3D{int(args.timeout * 1000)}"
    env = production_env(folder, url, port, args.workers, PDF_RENDER_TIMEOUT=str(int(args.timeout)))
    return start_gunicorn(folder, env, port, cwd=Path(args.app_dir))


def _plain(s: requests.Session) -> None:
    """Production cookies are Secure; this client speaks plain HTTP to 127.0.0.1, so send them anyway."""
    for c in s.cookies:
        c.secure = False


def login(base: str, username: str) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{base}/login", timeout=30).text
    _plain(s)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    r = s.post(f"{base}/login", data={"username": username, "password": PASSWORD,
                                      "csrf_token": token.group(1) if token else ""},
               timeout=30, allow_redirects=False)
    if r.status_code not in (302, 303):
        sys.exit(f"sign-in as {username} failed: {r.status_code}")
    _plain(s)
    return s


def worker_rss_mb(server: subprocess.Popen) -> dict:
    """RSS of the gunicorn processes (master's children: workers and their render workers)."""
    out = subprocess.run(["ps", "-o", "pid=,ppid=,rss=", "--ppid", str(server.pid)], capture_output=True,
                         text=True).stdout
    workers = {}
    for line in out.split("\n"):
        if line.strip():
            pid, _, rss = line.split()
            workers[pid] = round(int(rss) / 1024, 1)
    return workers


def worker_pids(server: subprocess.Popen) -> list[int]:
    """gunicorn's workers: the master's children (their render workers are further down)."""
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server.pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def reset_peaks(pids: list[int]) -> bool:
    """Reset each process's VmHWM to its current RSS (Linux clear_refs); False where the kernel refuses."""
    done = True
    for pid in pids:
        try:
            Path(f"/proc/{pid}/clear_refs").write_text("5")
        except OSError:
            done = False
    return done


def hwm_mb(pids: list[int]) -> dict[int, float]:
    """Each process's VmHWM in MB (right after reset_peaks: its RSS)."""
    out = {}
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out[pid] = round(int(line.split()[1]) / 1024, 1)
        except OSError:
            pass
    return out


def main(argv=None) -> int:
    args = parse(argv)
    url = args.server.rsplit("/", 1)[0] + "/" + args.database
    info = machine_info()
    facts = pick_users(url)
    n = facts["counts"]["dossiers"]
    out = args.out or BENCH / "results" / f"pages-{n}.json"
    folder = Path(tempfile.mkdtemp(prefix="ntm-pages-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    print(f"{n:,} dossiers in {args.database}; gunicorn ({args.workers} workers) on port {port}; "
          f"load {os.getloadavg()[0]:.1f}; log in {folder}", flush=True)
    server = start_server(args, url, port, folder)
    commit = args.commit or subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.app_dir,
                                           capture_output=True, text=True).stdout.strip() or None
    print(f"serving commit {commit} from {args.app_dir}", flush=True)
    results: dict = {"machine": info, "app_commit": commit, "app_dir": str(args.app_dir),
                     "database": args.database, "counts": facts["counts"],
                     "users": facts["users"], "rounds": args.rounds, "workers": args.workers, "pages": {}}
    try:
        sessions = {level: login(base, u["username"]) for level, u in facts["users"].items()}
        pages = {}
        for level, u in facts["users"].items():
            first = sessions[level].get(f"{base}/dossiers", timeout=args.timeout).text
            last = re.search(r"Trang 1 / (\d+)", first)
            deep = int(last.group(1)) if last else 1
            pages[level] = {
                "work queue": "/",
                "list, first page": "/dossiers",
                "list, deep page": f"/dossiers?page={deep}",
                "list, search": "/dossiers?" + requests.compat.urlencode({"q": u["search"]}),
                "dossier page": f"/dossiers/{u['dossier']}",
                "dashboard": "/dashboard",
                "monthly report": "/reports/monthly",
                "register": "/decisions",
            }
        pairs = [(level, name) for level in pages for name in pages[level]]
        samples: dict = {pair: [] for pair in pairs}
        sizes, statuses, given_up = {}, {}, set()
        peaks: dict = {pair: [] for pair in pairs}  # highest worker VmHWM during each request
        rises: dict = {pair: [] for pair in pairs}  # the most a worker's peak rose above its RSS before it
        pids = worker_pids(server)
        per_request = True
        rng = random.Random(16)
        for rnd in range(args.warmup + args.rounds):
            rng.shuffle(pairs)
            for level, name in pairs:
                if (level, name) in given_up:
                    continue
                per_request = reset_peaks(pids) and per_request
                before = hwm_mb(pids)
                t = time.perf_counter()
                try:
                    r = sessions[level].get(base + pages[level][name], timeout=args.timeout)
                    ms, status, size = (time.perf_counter() - t) * 1000, r.status_code, len(r.content)
                except requests.Timeout:
                    ms, status, size = args.timeout * 1000, "timeout", 0
                after = hwm_mb(pids)
                peaks[(level, name)].append(max(after.values(), default=0.0))
                rises[(level, name)].append(round(max((mb - before.get(pid, mb) for pid, mb in after.items()),
                                                      default=0.0), 1))
                if rnd >= args.warmup or ms >= args.timeout * 1000 or status != 200:
                    samples[(level, name)].append(ms)
                    statuses.setdefault((level, name), set()).add(status)
                    sizes[(level, name)] = size
                if ms >= args.timeout * 1000 or status != 200:
                    given_up.add((level, name))
                    print(f"  {level} {name}: {status} after {ms / 1000:.1f} s; not asked again", flush=True)
            print(f"  round {rnd + 1}/{args.warmup + args.rounds}{' (warm-up)' if rnd < args.warmup else ''}",
                  flush=True)
            pids = worker_pids(server)  # a worker killed for its timeout is replaced
        rss = worker_rss_mb(server)
        print(f"\n{'page':<20} {'user':<9} {'median ms':>10} {'p95 ms':>9} {'budget':>7}  {'':4} {'kB':>7} "
              f"{'peak MB':>8} {'rise MB':>8}  status")
        for level in pages:
            for name in pages[level]:
                xs = samples[(level, name)]
                med, tail = median(xs), p95(xs)
                verdict = "OK" if tail < BUDGET_MS[level] and (level, name) not in given_up else "MISS"
                st = sorted(map(str, statuses[(level, name)]))
                print(f"{name:<20} {level:<9} {med:>10.1f} {tail:>9.1f} {BUDGET_MS[level]:>7}  {verdict:<4} "
                      f"{sizes[(level, name)] / 1024:>7.0f} {max(peaks[(level, name)]):>8.0f} "
                      f"{max(rises[(level, name)]):>8.1f}  {','.join(st)}")
                results["pages"][f"{level}: {name}"] = {
                    "user": level, "page": name, "url": pages[level][name], "median_ms": round(med, 1),
                    "p95_ms": round(tail, 1), "budget_ms": BUDGET_MS[level], "verdict": verdict,
                    "bytes": sizes[(level, name)], "statuses": st, "samples_ms": [round(x, 1) for x in xs],
                    "given_up": (level, name) in given_up, "peak_rss_mb": max(peaks[(level, name)]),
                    "peak_rss_samples_mb": peaks[(level, name)], "peak_rise_mb": max(rises[(level, name)]),
                    "peak_rise_samples_mb": rises[(level, name)]}
        print(f"\nRSS after the run (MB, gunicorn's children): {rss}")
        results["rss_mb"] = rss
        top = max(max(xs) for xs in peaks.values() if xs)
        results["peak_rss"] = {"max_mb": top, "goal_mb": PEAK_GOAL_MB, "pass": top < PEAK_GOAL_MB,
                               "per_request": per_request}
        print(f"peak worker RSS during one request: {top:.0f} MB (goal < {PEAK_GOAL_MB}): "
              f"{'PASS' if top < PEAK_GOAL_MB else 'MISS'}"
              f"{'' if per_request else ' (clear_refs refused: high-water marks since the workers started)'}")
        results["loadavg_at_end"] = list(os.getloadavg())
    finally:
        stop_gunicorn(server)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
