"""Worker memory under a long mixed load: the real app on gunicorn, 10,000 requests with 500 renders.

    .venv/bin/python bench/run.py --only memory                 # SQLite, the full run (~10 min)
    .venv/bin/python bench/run.py --only memory --quick         # 2,000 requests, 100 renders
    .venv/bin/python bench/run.py --only memory --database-url postgresql://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/memory.py --requests 4000 --renders 200 --clients 2    # any size

Builds a throw-away app in a temporary folder through the services (schema by `init-db`, the demo's
people, signing keys and story by `seed_demo`, then draft village dossiers of the new communes with
every criterion met and its evidence), serves it with gunicorn and gunicorn.conf.py as production
does (APP_ENV=production, 2 workers x 4 threads) and sends warm-up requests, then the measured
ones: the web pages (work queue, list, dossier page, dashboard, monthly report, register) as a
commune approver and the province's viewer, the API (GET dossier, PUT criterion, decision download)
and dossiers taken through their road by the API, each renders a PDF four times in the render
worker: submit (receipt slip), return and submit again (a second receipt), per-criterion
appraisal, appraise (appraisal report), recognize (the signed decision). Every so many requests it
reads each gunicorn worker's VmRSS and VmHWM (/proc/<pid>/status) and, separately, its render
worker processes'. Goal: worker RSS after the run < 250 MB and flat (slope over the second half of
the measured requests <= 1 MB per 1,000 requests). Writes bench/results/memory-latest.json.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from _common import BENCH, free_port, machine_info, median, p90, production_env, start_gunicorn, stop_gunicorn

GOAL_MB = 250.0
FLAT_MB_PER_1000 = 1.0
PASSWORD = "demo1234"  # the demo's (services/admin/demo.py)
# Users of the demo: the province's viewer reads everything; the new communes appraise and recognise.
VIEWER, COMMUNES = "xem.tinh", {
    "ta-leng-2025": {"old": ("giang-ma", "ta-leng", "ho-thau"), "appraiser": "thamdinh.taleng",
                     "approver": "chutich.taleng"},
    "ban-bo-2025": {"old": ("ban-bo", "na-tam", "ban-hon"), "appraiser": "thamdinh.banbo",
                    "approver": "chutich.banbo"},
}
VILLAGE_USER = "bench.village"
MIXED = ("work queue", "list", "dossier page", "dashboard", "monthly report", "register",
         "api GET dossier", "api PUT criterion", "api decision download")
KEEPALIVE_S = 5  # gunicorn.conf.py's keepalive
RENDERS_PER_DOSSIER = 4  # submit, submit again, appraise, recognize
QUICK = {"requests": 2000, "renders": 100, "warmup": 200}


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--requests", type=int, default=10_000, help="measured requests (after the warm-up)")
    p.add_argument("--renders", type=int, default=500, help="PDF renders among the measured requests")
    p.add_argument("--warmup", type=int, default=500, help="requests before the measured ones (same mix)")
    p.add_argument("--sample-every", type=int, default=100, help="read the processes' memory every N requests")
    p.add_argument("--clients", type=int, default=4, help="client threads, one request at a time each")
    p.add_argument("--workers", type=int, default=2, help="gunicorn workers (WEB_CONCURRENCY)")
    p.add_argument("--database-url", metavar="URL", help="PostgreSQL server: a throw-away database is made there")
    p.add_argument("--quick", action="store_true", help="2,000 requests, 100 renders, 200 warm-up")
    p.add_argument("--out", type=Path, default=BENCH / "results" / "memory-latest.json")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (and database)")
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


# ----------------------------------------------------------------------------- processes

def _status(pid: int) -> dict:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("Name", "PPid", "VmRSS", "VmHWM"):
                out[key] = value.strip()
    except OSError:
        return {}
    return out


def _mb(kb_field: str | None) -> float | None:
    return round(int(kb_field.split()[0]) / 1024, 1) if kb_field else None


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def process_memory(master: int) -> dict:
    """{worker pid: {rss, hwm, children: {pid: {name, rss, hwm}}}} for gunicorn's workers (the master's
    children) and, under each, its descendants (the forkserver and the render workers it starts)."""
    parents: dict[int, int] = {}
    info: dict[int, dict] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _status(int(entry))
            if st.get("PPid"):
                parents[int(entry)] = int(st["PPid"])
                info[int(entry)] = st
    kids: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        kids.setdefault(ppid, []).append(pid)
    workers = {}
    for wpid in kids.get(master, []):
        below, todo = {}, [(pid, 1) for pid in kids.get(wpid, [])]
        while todo:
            pid, depth = todo.pop()
            todo.extend((k, depth + 1) for k in kids.get(pid, []))
            cmd = _cmdline(pid)
            # The forkserver is the worker's child; the render workers are forked from it (same command line).
            name = ("resource tracker" if "resource_tracker" in cmd else
                    "render worker" if "forkserver" in cmd and depth > 1 else
                    "forkserver" if "forkserver" in cmd else info[pid].get("Name", ""))
            below[pid] = {"name": name, "rss": _mb(info[pid].get("VmRSS")), "hwm": _mb(info[pid].get("VmHWM"))}
        workers[wpid] = {"rss": _mb(info[wpid].get("VmRSS")), "hwm": _mb(info[wpid].get("VmHWM")),
                         "children": below}
    return workers


# ----------------------------------------------------------------------------- the world

def build_world(folder: Path, database_url: str, dossiers: int, drafts: int) -> dict:
    """Schema, the demo's people and story, `dossiers` drafts ready to submit and `drafts` more for the
    PUTs, API tokens; everything through the services, on today's date (the server's clock)."""
    import world

    from workflow_app.app import create_app
    from workflow_app.extensions import db
    from workflow_app.models import Dossier, Unit
    from workflow_app.services import attach_evidence, create_dossier, self_assess, set_fields
    from workflow_app.services.admin.demo import seed_demo
    from workflow_app.services.admin.setup import init_db
    from workflow_app.services.core.users import create_user, find_user, issue_token
    from workflow_app.workflow.errors import Conflict

    config = world.overrides(folder)
    config["SQLALCHEMY_DATABASE_URI"] = database_url
    app = create_app(config)
    world.quiet_logs()
    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):  # alembic.ini's log handlers: a line per migration
            init_db()
        world.quiet_logs()
        seed_demo()
        villages = {}
        for commune, c in COMMUNES.items():
            for old in c["old"]:
                for (code,) in db.session.execute(db.select(Unit.code).where(
                        Unit.level == "village", Unit.code.like(f"{old}-%")).order_by(Unit.code)):
                    villages[code] = commune
        for code in villages:
            create_user(VILLAGE_USER, PASSWORD if find_user(VILLAGE_USER) is None else None, "preparer", code,
                        "Trưởng bản (bench)")
            create_user(VILLAGE_USER, None, "submitter", code)
        db.session.commit()
        village_user = find_user(VILLAGE_USER)
        made: list[tuple[int, str]] = []
        slots = [(v, y) for y in range(2020, 2028) for v in villages]
        random.Random(6).shuffle(slots)
        for village, year in slots:
            if len(made) == dossiers + drafts:
                break
            try:
                dossier = create_dossier(village_user, "village_ntm", village, year)
                for entry in list(dossier.current_criteria()):
                    attach_evidence(village_user, dossier, f"minh-chung-{entry.code}.pdf", world.EVIDENCE,
                                    entry.code)
                    self_assess(village_user, dossier, entry.code, "met", "Đã đạt theo báo cáo của bản.")
                set_fields(village_user, dossier, {"request_ref": "Tờ trình số 12/TTr-UBND"})
                db.session.commit()
            except Conflict:  # the demo's dossier holds the slot
                db.session.rollback()
                continue
            made.append((dossier.id, villages[village]))
        if len(made) < dossiers + drafts:
            raise SystemExit(f"only {len(made)} village slots free; ask for fewer renders")
        codes = [e.code for e in db.session.get(Dossier, made[0][0]).current_criteria()]
        names = [VIEWER, VILLAGE_USER] + [c[r] for c in COMMUNES.values() for r in ("appraiser", "approver")]
        tokens = {name: issue_token(find_user(name)) for name in names}
        recognized = [d for (d,) in db.session.execute(
            db.select(Dossier.id).where(Dossier.state == "recognized", Dossier.kind == "village_ntm"))]
        every = [d for (d,) in db.session.execute(db.select(Dossier.id))]
        db.session.commit()
        counts = {"dossiers": len(every), "recognized_at_start": len(recognized)}
        db.session.remove()
        db.engine.dispose()
    return {"road": made[:dossiers], "drafts": [d for d, _ in made[dossiers:]], "codes": codes,
            "tokens": tokens, "recognized": recognized, "dossiers": every, "counts": counts}


# ----------------------------------------------------------------------------- the load

class Run:
    def __init__(self, base: str, w: dict, master: int, sample_every: int, warmup: int, timeout: float = 120):
        self.base, self.w, self.master = base, w, master
        self.sample_every, self.warmup, self.timeout = sample_every, warmup, timeout
        self.lock = threading.Lock()
        self.count = 0
        self.renders = 0
        self.samples: list[dict] = []
        self.recognized = list(w["recognized"])
        self.times: dict[str, list[float]] = {}
        self.statuses: dict[str, dict[str, int]] = {}
        self.errors: list[str] = []
        self.renders_measured = 0
        self.t0 = time.perf_counter()
        self.last_used: dict[int, float] = {}

    def sample(self, n: int) -> None:
        mem = process_memory(self.master)
        with self.lock:
            self.samples.append({"n": n, "t_s": round(time.perf_counter() - self.t0, 1),
                                 "renders": self.renders, "workers": mem})

    def request(self, http: requests.Session, kind: str, method: str, path: str, ok=(200,), **kw) -> bool:
        t = time.perf_counter()
        if t - self.last_used.get(id(http), t) > KEEPALIVE_S - 1:
            http.close()  # gunicorn closes a connection idle for `keepalive` s: do not send on one it may close
        try:
            r = http.request(method, self.base + path, timeout=self.timeout, **kw)
            status, good = r.status_code, r.status_code in ok
            if good:
                r.content  # noqa: B018 - read the whole answer
            elif len(self.errors) < 20:
                self.errors.append(f"{kind} {method} {path}: {status} {r.text[:200]}")
        except requests.RequestException as exc:
            status, good = type(exc).__name__, False
            if len(self.errors) < 20:
                self.errors.append(f"{kind} {method} {path}: {exc}")
        ms = (time.perf_counter() - t) * 1000
        self.last_used[id(http)] = time.perf_counter()
        with self.lock:
            self.count += 1
            n = self.count
            self.times.setdefault(kind, []).append(ms)
            st = self.statuses.setdefault(kind, {})
            st[str(status)] = st.get(str(status), 0) + 1
            if kind.startswith("render") and good:
                self.renders += 1
                if n > self.warmup:
                    self.renders_measured += 1
        if n % self.sample_every == 0 or n == self.warmup:
            self.sample(n)
        return good


def schedules(w: dict, total: int, clients: int, criteria: int, seed: int = 16) -> list[list[tuple]]:
    """One list of tasks per client thread: its dossiers' roads (in order) spread at random among its
    share of the mixed requests."""
    rng = random.Random(seed)
    out = []
    road_steps = 5 + criteria
    for c in range(clients):
        mine = w["road"][c::clients]
        steps = []
        for dossier, commune in mine:
            steps += [("render submit", dossier, commune), ("return", dossier, commune),
                      ("render submit", dossier, commune)]
            steps += [("appraisal", dossier, commune, code) for code in w["codes"]]
            steps += [("render appraise", dossier, commune), ("render recognize", dossier, commune)]
        share = total // clients + (1 if c < total % clients else 0)
        mixed = [(rng.choice(MIXED),) for _ in range(max(0, share - len(mine) * road_steps))]
        where = set(rng.sample(range(len(steps) + len(mixed)), len(steps)))
        it_s, it_m = iter(steps), iter(mixed)
        out.append([next(it_s) if i in where else next(it_m) for i in range(len(steps) + len(mixed))])
    return out


def client(run: Run, tasks: list[tuple], web: dict, api: requests.Session, draft: int, seed: int) -> None:
    rng = random.Random(seed)
    tok = run.w["tokens"]

    def bearer(name):
        return {"Authorization": f"Bearer {tok[name]}"}

    for task in tasks:
        kind = task[0]
        if kind in ("render submit", "return", "appraisal", "render appraise", "render recognize"):
            dossier, commune = task[1], task[2]
            c = COMMUNES[commune]
            if kind == "render submit":
                run.request(api, kind, "POST", f"/api/v1/dossiers/{dossier}/events", (200, 201),
                            json={"event": "submit"}, headers=bearer(VILLAGE_USER))
            elif kind == "return":
                run.request(api, kind, "POST", f"/api/v1/dossiers/{dossier}/events", (200, 201),
                            json={"event": "return", "comment": "Bổ sung ảnh hiện trạng."},
                            headers=bearer(c["appraiser"]))
            elif kind == "appraisal":
                run.request(api, kind, "POST", f"/api/v1/dossiers/{dossier}/criteria/{task[3]}/appraisal",
                            (200, 201), json={"verdict": "pass", "note": "Đạt."}, headers=bearer(c["appraiser"]))
            elif kind == "render appraise":
                run.request(api, kind, "POST", f"/api/v1/dossiers/{dossier}/events", (200, 201),
                            json={"event": "appraise"}, headers=bearer(c["appraiser"]))
            elif run.request(api, kind, "POST", f"/api/v1/dossiers/{dossier}/events", (200, 201),
                             json={"event": "recognize"}, headers=bearer(c["approver"])):
                with run.lock:
                    run.recognized.append(dossier)
        elif kind == "work queue":
            run.request(web["approver"], kind, "GET", "/")
        elif kind == "list":
            run.request(web[rng.choice(("viewer", "approver"))], kind, "GET",
                        "/dossiers" + rng.choice(("", "?page=2", "?q=Giang", "?state=recognized")))
        elif kind == "dossier page":
            run.request(web["viewer"], kind, "GET", f"/dossiers/{rng.choice(run.w['dossiers'])}")
        elif kind == "dashboard":
            run.request(web[rng.choice(("viewer", "approver"))], kind, "GET", "/dashboard")
        elif kind == "monthly report":
            run.request(web[rng.choice(("viewer", "approver"))], kind, "GET", "/reports/monthly")
        elif kind == "register":
            run.request(web[rng.choice(("viewer", "approver"))], kind, "GET", "/decisions")
        elif kind == "api GET dossier":
            run.request(api, kind, "GET", f"/api/v1/dossiers/{rng.choice(run.w['dossiers'])}",
                        headers=bearer(VIEWER))
        elif kind == "api PUT criterion":
            run.request(api, kind, "PUT", f"/api/v1/dossiers/{draft}/criteria/{rng.choice(run.w['codes'])}",
                        json={"self_assessment": "met", "note": f"Đã đạt ({rng.randrange(10**6)})."},
                        headers=bearer(VILLAGE_USER))
        elif kind == "api decision download":
            with run.lock:
                dossier = rng.choice(run.recognized)
            run.request(api, kind, "GET", f"/api/v1/dossiers/{dossier}/decision.pdf", headers=bearer(VIEWER))


def web_sessions(base: str) -> dict:
    import pages  # the same sign-in through the login form as the pages benchmark

    pages.PASSWORD = PASSWORD
    return {"viewer": pages.login(base, VIEWER), "approver": pages.login(base, COMMUNES["ta-leng-2025"]["approver"])}


def copy_session(s: requests.Session) -> requests.Session:
    c = requests.Session()
    c.cookies.update(s.cookies)
    return c


# ----------------------------------------------------------------------------- figures

def slope_per_1000(points: list[tuple[int, float]]) -> float | None:
    if len(points) < 2:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return round(sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den * 1000, 2) if den else None


def figures(run: Run, warmup: int, total: int) -> dict:
    samples = run.samples
    pids = sorted({pid for s in samples for pid in s["workers"]})
    per_worker = {}
    for pid in pids:
        series = [(s["n"], s["workers"][pid]["rss"]) for s in samples if pid in s["workers"]]
        half = warmup + (total - warmup) // 2
        second = [(n, rss) for n, rss in series if n >= half]
        kids = [(s["n"], sum(k["rss"] or 0 for k in s["workers"][pid]["children"].values()
                             if k["name"] == "render worker")) for s in samples if pid in s["workers"]]
        per_worker[str(pid)] = {
            "rss_after_warmup_mb": next((rss for n, rss in series if n >= warmup), None),
            "rss_end_mb": series[-1][1],
            "hwm_end_mb": [s["workers"][pid]["hwm"] for s in samples if pid in s["workers"]][-1],
            "slope_mb_per_1000_second_half": slope_per_1000(second),
            "rss_every_1000": {str(n - warmup): rss for n, rss in series if n > warmup and (n - warmup) % 1000 == 0},
            "render_workers_rss_max_mb": max((r for _, r in kids), default=None),
            "render_workers_hwm_max_mb": max((k["hwm"] or 0 for s in samples if pid in s["workers"]
                                              for k in s["workers"][pid]["children"].values()
                                              if k["name"] == "render worker"), default=None),
            "render_worker_pids_seen": len({k for s in samples if pid in s["workers"]
                                            for k, v in s["workers"][pid]["children"].items()
                                            if v["name"] == "render worker"}),
        }
    end = [w["rss_end_mb"] for w in per_worker.values()]
    slopes = [w["slope_mb_per_1000_second_half"] for w in per_worker.values()
              if w["slope_mb_per_1000_second_half"] is not None]
    worst_slope = max(slopes, default=None)
    return {
        "workers": per_worker,
        "worker_rss_end_max_mb": max(end),
        "worker_hwm_max_mb": max(w["hwm_end_mb"] for w in per_worker.values()),
        "slope_max_mb_per_1000": worst_slope,
        "under_goal": max(end) < GOAL_MB,
        "flat": worst_slope is not None and worst_slope <= FLAT_MB_PER_1000,
        "pass": max(end) < GOAL_MB and worst_slope is not None and worst_slope <= FLAT_MB_PER_1000,
    }


def table(result: dict) -> str:
    f = result["figures"]
    lines = [f"{'worker':>8} {'after warm-up':>14} " + " ".join(f"{k:>7}" for k in
             next(iter(f["workers"].values()))["rss_every_1000"]) + f" {'end':>7} {'HWM':>7} {'slope':>7}"
             f" {'render RSS max':>15} {'render HWM':>11}"]
    for pid, w in f["workers"].items():
        lines.append(f"{pid:>8} {w['rss_after_warmup_mb']:>14} " + " ".join(f"{v:>7}" for v in
                     w["rss_every_1000"].values()) + f" {w['rss_end_mb']:>7} {w['hwm_end_mb']:>7} "
                     f"{w['slope_mb_per_1000_second_half']!s:>7} {w['render_workers_rss_max_mb']!s:>15} "
                     f"{w['render_workers_hwm_max_mb']!s:>11}")
    lines.append("(MB; columns: RSS after that many measured requests; slope: MB per 1,000 requests, "
                 "second half)")
    lines.append(f"worker RSS at the end {f['worker_rss_end_max_mb']} MB (goal < {GOAL_MB:.0f}), slope "
                 f"{f['slope_max_mb_per_1000']} MB/1,000 (flat <= {FLAT_MB_PER_1000}): "
                 f"{'PASS' if f['pass'] else 'MISS'}")
    lines.append("")
    lines.append(f"{'request':<24} {'count':>6} {'median ms':>10} {'p90 ms':>8}  statuses")
    for kind, xs in sorted(result["requests"].items()):
        lines.append(f"{kind:<24} {xs['count']:>6} {xs['median_ms']:>10} {xs['p90_ms']:>8}  {xs['statuses']}")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main

def run_benchmark(args, scratch_database=None) -> int:
    """`scratch_database`: run.py's ScratchDatabase class, for --database-url."""

    info = machine_info()
    folder = Path(tempfile.mkdtemp(prefix="ntm-memory-"))
    total = args.warmup + args.requests
    renders_total = round(args.renders * total / args.requests)
    road = math.ceil(renders_total / RENDERS_PER_DOSSIER)
    scratch = scratch_database(args.database_url) if args.database_url else None
    database_url = scratch.url if scratch else f"sqlite:///{folder / 'bench.db'}"
    print(f"memory: {args.requests:,} requests (+{args.warmup} warm-up), ~{args.renders} renders, "
          f"{args.clients} clients, gunicorn {args.workers} workers; "
          f"{'PostgreSQL ' + scratch.name if scratch else 'SQLite'}; "
          f"load {os.getloadavg()[0]:.1f}; folder {folder}", flush=True)
    result: dict = {"machine": info, "database": "postgresql" if scratch else "sqlite",
                    "settings": {k: getattr(args, k) for k in ("requests", "renders", "warmup", "sample_every",
                                                                "clients", "workers")}}
    server = None
    try:
        t = time.perf_counter()
        w = build_world(folder, database_url, road, args.clients)
        print(f"  world: {w['counts']['dossiers']} dossiers ({road} to take through their road, "
              f"{len(w['codes'])} criteria each) in {time.perf_counter() - t:.0f} s", flush=True)
        result["world"] = w["counts"] | {"road_dossiers": road, "criteria": len(w["codes"])}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_gunicorn(folder, production_env(folder, database_url, port, args.workers), port)
        web = web_sessions(base)
        run = Run(base, w, server.pid, args.sample_every, args.warmup)
        run.sample(0)
        plans = schedules(w, total, args.clients, len(w["codes"]))
        threads = [threading.Thread(target=client, args=(run, plans[c], {k: copy_session(s) for k, s in web.items()},
                                                         requests.Session(), w["drafts"][c], c), daemon=True)
                   for c in range(args.clients)]
        last = time.perf_counter()
        for th in threads:
            th.start()
        while any(th.is_alive() for th in threads):
            time.sleep(1)
            if time.perf_counter() - last > 30:
                last = time.perf_counter()
                mem = run.samples[-1]["workers"]
                print(f"  {run.count:,}/{total:,} requests, {run.renders} renders, workers RSS "
                      f"{[v['rss'] for v in mem.values()]} MB", flush=True)
        run.sample(run.count)
        result["wall_s"] = round(time.perf_counter() - run.t0, 1)
        result["requests"] = {kind: {"count": len(xs), "median_ms": round(median(xs), 1),
                                     "p90_ms": round(p90(xs), 1), "statuses": run.statuses[kind]}
                              for kind, xs in run.times.items()}
        result["renders"] = {"all": run.renders, "measured": run.renders_measured}
        result["errors"] = run.errors
        result["samples"] = run.samples
        result["figures"] = figures(run, args.warmup, total)
        log = (folder / "gunicorn.log").read_text(errors="replace")
        result["server_tracebacks"] = log.count("Traceback")
        result["server_worker_restarts"] = len({pid for s in run.samples for pid in s["workers"]}) - args.workers
    finally:
        if server:
            stop_gunicorn(server)
        if scratch:
            scratch.drop(keep=args.keep)
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    result["machine"]["loadavg_at_end"] = list(os.getloadavg())
    print()
    print(table(result))
    print(f"renders: {result['renders']}; non-2xx or failed: "
          f"{sum(v for r in result['requests'].values() for k, v in r['statuses'].items() if not k.startswith('2'))}; "
          f"server tracebacks {result['server_tracebacks']}; load {os.getloadavg()[0]:.1f}")
    for e in result["errors"][:5]:
        print("  " + e)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str) + "\n")
    print(f"written {args.out} ({result['wall_s']} s of requests)")
    return 0 if result["figures"]["pass"] else 1


if __name__ == "__main__":
    from run import ScratchDatabase

    sys.exit(run_benchmark(parse(), ScratchDatabase))
