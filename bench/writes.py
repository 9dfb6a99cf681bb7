"""Writes through the API vs a bare Flask-SQLAlchemy endpoint, on gunicorn, same database and load.

    .venv/bin/python bench/run.py --only writes [--quick] [--database-url URL] [--profile]

Three pairs, each A (the real app, Bearer token) against B (serve.rows_app: a bare Flask-SQLAlchemy
app on the same database and engine settings):
- PUT criterion: PUT /api/v1/dossiers/<id>/criteria/<code> {self_assessment, note} on a draft, one
  dossier per client connection (its village's submitter), the note changing every request;
  B: PUT /rows/<n> reading and updating one row (one row per connection).
- submit: POST /api/v1/dossiers/<id>/events {"event": "submit"} on a fresh ready dossier each time
  (every criterion "met" with an evidence file, prepared untimed through the services); a fixed
  number per connection, the rate is answers / time until the last one; B: the same number of
  PUT /rows/<n>. After each A the run waits, untimed, until every receipt slip has its PDF
  (rendered by the app after the answer, PAPERS_RENDER), so no render spills into the next one.
- GET dossier: GET /api/v1/dossiers/<id> of a submitted dossier (its receipt, history, clock);
  B: GET /rows/<n>.
Both servers are gunicorn with gunicorn.conf.py (APP_ENV=production, 2 workers x 4 threads,
gthread, keep-alive; access log to /dev/null), each on a free port below 32768, both running
through the whole run; the client is `python bench/writes.py client` processes (2 x 4 http.client
connections, keep-alive). Rounds interleave A and B (each first in turn) after a warm-up; every
answer is counted by status: the goal is >= 0.5x (ratio of median rates) with 0 non-2xx answers.
"""
from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import random
import secrets
import subprocess
import sys
import time
from pathlib import Path

from _common import BENCH, ROOT, free_port, median

PY = sys.executable
GOAL = 0.5
PROFILED = 30  # requests of each kind profiled in-process (--profile)
KIND = "village_ntm"
NOTE = "Đã đạt theo báo cáo của thôn."


# ----------------------------------------------------------------------------- preparation

def _village_users(w, villages: list, password: str) -> dict:
    """One submitter per village (a village officer holds one role), with an API token."""
    from workflow_app.extensions import db
    from workflow_app.services.core.users import create_user, issue_token

    users = {}
    for v in villages:
        user = create_user(f"bench.{v.code}", password, "submitter", v.code, f"Cán bộ {v.name}")
        users[v.code] = (user.id, issue_token(user))
    db.session.commit()
    return users


def _ready(user, village: str, year: int, draft_only: bool = False) -> int:
    """A village dossier every criterion of which is "met" with an evidence file (ready to
    submit), through the services; committed."""
    from world import EVIDENCE

    from workflow_app.extensions import db
    from workflow_app.services import attach_evidence, create_dossier, self_assess

    dossier = create_dossier(user, KIND, village, year)
    if not draft_only:
        for entry in list(dossier.current_criteria()):
            attach_evidence(user, dossier, f"minh-chung-{entry.code}.pdf", EVIDENCE, entry.code)
            self_assess(user, dossier, entry.code, "met", NOTE)
    db.session.commit()
    return dossier.id


def prepare(folder: Path, connections: int, submits: int, spare: int = 0, log=print) -> dict:
    """The world, on the real clock (the servers read it): villages alive today, a submitter
    for each, `connections` drafts for PUT, one submitted dossier for GET, `submits` ready
    dossiers; the bare table `bench_rows` with one row per connection."""
    import world
    from sqlalchemy import text

    from workflow_app.clock import local_today
    from workflow_app.extensions import db
    from workflow_app.models import Unit, User
    from workflow_app.services import fire_event
    from workflow_app.services.core.common import engine

    w = world.make_world(folder)
    today = local_today()
    villages = [u for u in db.session.execute(db.select(Unit).where(Unit.level == "village")
                                              .order_by(Unit.code)).scalars() if u.live_on(today)]
    years = [y for y in range(2020, today.year + 2) if engine().definition_for(KIND, y, today)]
    slots = [(v.code, y) for y in years for v in villages]
    need = connections + 1 + submits + spare
    if need > len(slots):
        raise SystemExit(f"writes: {need} dossiers asked, {len(slots)} (village, year) slots: lower --rounds")
    random.Random(16).shuffle(slots)
    users = _village_users(w, villages, "bench-pw-123")
    t0 = time.perf_counter()

    def make(draft_only: bool = False) -> tuple[int, str]:
        village, year = slots.pop()
        user_id, token = users[village]
        return _ready(db.session.get(User, user_id), village, year, draft_only), token

    put = [make(draft_only=True) for _ in range(connections)]
    shown, shown_token = make()
    fire_event(db.session.get(User, users[_village_of(shown)][0]), world.dossier(shown), "submit")
    db.session.commit()
    ready = []
    for i in range(submits + spare):
        ready.append(make())
        if (i + 1) % 100 == 0:
            log(f"  {i + 1}/{submits + spare} ready dossiers ({time.perf_counter() - t0:.0f} s)")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, value VARCHAR(200), "
                          "version INTEGER NOT NULL)"))
        for n in range(1, connections + 1):
            conn.execute(text("INSERT INTO bench_rows (id, value, version) VALUES (:n, 'x', 1)"), {"n": n})
    db.session.remove()
    log(f"  prepared {len(put)} drafts, 1 submitted, {len(ready)} ready dossiers in "
        f"{time.perf_counter() - t0:.0f} s")
    return {"world": w, "put": put, "shown": (shown, shown_token), "ready": ready}


def _village_of(dossier_id: int) -> str:
    import world
    return world.dossier(dossier_id).unit.code


# ----------------------------------------------------------------------------- servers

class Gunicorn:
    """gunicorn with the production settings serving serve.wsgi_app() in `mode`."""

    def __init__(self, mode: str, folder: Path, app_dir: Path):
        self.port = free_port()
        env = dict(os.environ, APP_ENV="production", SECRET_KEY=secrets.token_hex(32),
                   PUBLIC_BASE_URL=f"http://127.0.0.1:{self.port}", BIND=f"127.0.0.1:{self.port}",
                   BENCH_MODE=mode, BENCH_FOLDER=str(folder), ACCESS_LOG="/dev/null", LOG_LEVEL="warning",
                   WEB_CONCURRENCY=os.environ.get("WEB_CONCURRENCY", "2"),
                   WEB_THREADS=os.environ.get("WEB_THREADS", "4"))
        env.pop("REDIS_URL", None)
        self.log = open(folder / f"gunicorn-{mode}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(Path(PY).parent / "gunicorn"), "-c", str(app_dir / "gunicorn.conf.py"),
             "--chdir", str(app_dir / "bench"), "serve:wsgi_app()"],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(300):
            if self.proc.poll() is not None:
                break
            try:
                import http.client
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz" if mode == "app" else "/rows/1")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"gunicorn ({mode}) did not start; see {folder / f'gunicorn-{mode}.log'}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # our own child, by its handle
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


# ----------------------------------------------------------------------------- load

def drive(port: int, per_connection: list[list[dict]], *, duration: float | None, procs: int) -> dict:
    """Send each connection's requests (cycled for `duration` seconds, or each once when
    duration is None) from `procs` client processes at once; answers by status."""
    start_at = time.time() + 0.8  # time for the client interpreters to start and connect
    chunks = [per_connection[i::procs] for i in range(procs)]
    clients = []
    for chunk in chunks:
        spec = json.dumps({"port": port, "start_at": start_at, "duration": duration, "connections": chunk})
        clients.append(subprocess.Popen([PY, str(BENCH / "writes.py"), "client"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE))
        clients[-1].stdin.write(spec.encode())
        clients[-1].stdin.close()
    results = [json.loads(c.stdout.read()) for c in clients]
    for c in clients:
        c.wait()
    ok = sum(r["ok"] for r in results)
    statuses: dict[str, int] = {}
    for r in results:
        for k, v in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    elapsed = duration if duration is not None else max(r["last_end"] for r in results) - start_at
    return {"rps": ok / elapsed if elapsed > 0 else 0.0, "ok": ok, "elapsed_s": elapsed,
            "non2xx": sum(v for k, v in statuses.items() if not k.startswith("2")),
            "errors": sum(r["errors"] for r in results), "statuses": statuses,
            "mean_latency_ms": 1000 * sum(r["latency_sum_s"] for r in results) / ok if ok else None,
            "first_failures": [f for r in results for f in r["failures"]][:3]}


def client_main() -> None:
    """`python bench/writes.py client` < spec: one thread per connection, keep-alive."""
    import http.client
    import threading

    spec = json.loads(sys.stdin.read())
    port, start_at, duration = spec["port"], spec["start_at"], spec["duration"]
    end_at = start_at + duration if duration is not None else None
    out = []

    def connect():
        return http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def run(requests: list[dict]) -> None:
        ok = errors = 0
        lat = 0.0
        statuses: dict[str, int] = {}
        failures = []
        conn = connect()
        delay = start_at - time.time()
        if delay > 0:
            time.sleep(delay)
        i = 0
        while True:
            if end_at is not None:
                if time.time() >= end_at:
                    break
                req = requests[i % len(requests)]
            elif i >= len(requests):
                break
            else:
                req = requests[i]
            i += 1
            body = req["body"].replace("{n}", str(i)) if req.get("body") else None
            headers = dict(req.get("headers") or {})
            if body is not None:
                headers["Content-Type"] = "application/json"
            t = time.perf_counter()
            try:
                conn.request(req["method"], req["path"], body=body.encode() if body else None, headers=headers)
                r = conn.getresponse()
                data = r.read()
                statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
                if 200 <= r.status < 300 and data:
                    ok += 1
                    lat += time.perf_counter() - t
                elif len(failures) < 3:
                    failures.append(f"{req['method']} {req['path']}: {r.status} {data[:200]!r}")
                if r.will_close:
                    conn.close()
                    conn = connect()
            except (OSError, http.client.HTTPException) as exc:
                errors += 1
                if len(failures) < 3:
                    failures.append(f"{req['method']} {req['path']}: {exc!r}")
                conn.close()
                conn = connect()
        conn.close()
        out.append((ok, errors, lat, statuses, failures, time.time()))

    pool = [threading.Thread(target=run, args=(reqs,)) for reqs in spec["connections"]]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    statuses: dict[str, int] = {}
    for o in out:
        for k, v in o[3].items():
            statuses[k] = statuses.get(k, 0) + v
    print(json.dumps({"ok": sum(o[0] for o in out), "errors": sum(o[1] for o in out),
                      "latency_sum_s": sum(o[2] for o in out), "statuses": statuses,
                      "failures": [f for o in out for f in o[4]], "last_end": max(o[5] for o in out)}))


# ----------------------------------------------------------------------------- the benchmark

def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def _put_requests(put: list[tuple[int, str]], codes: list[str]) -> list[list[dict]]:
    """Each connection its own draft, cycling over the criteria, the note changing every time."""
    return [[{"method": "PUT", "path": f"/api/v1/dossiers/{did}/criteria/{code}", "headers": _bearer(token),
              "body": json.dumps({"self_assessment": "met", "note": f"{NOTE} {{n}}"}, ensure_ascii=False)}
             for code in codes] for did, token in put]


def _row_requests(connections: int, method: str) -> list[list[dict]]:
    return [[{"method": method, "path": f"/rows/{n}",
              "body": json.dumps({"value": f"{NOTE} {{n}}"}, ensure_ascii=False) if method == "PUT" else None}]
            for n in range(1, connections + 1)]


def _wait_for_papers(log, limit: float = 300.0) -> float:
    """Untimed: until every paper has its PDF (the app renders it after the answer)."""
    from workflow_app.extensions import db
    from workflow_app.models import Document

    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        missing = db.session.execute(db.select(db.func.count()).select_from(Document)
                                     .where(Document.pdf_key.is_(None))).scalar()
        db.session.remove()
        if not missing:
            return time.perf_counter() - t0
        time.sleep(0.5)
    log(f"  note: {missing} papers still without PDF after {limit:.0f} s")
    return time.perf_counter() - t0


def run(folder: Path, *, rounds: int, seconds: float, warmup: float, per_connection: int, procs: int,
        threads: int, app_dir: Path = ROOT, profile: bool = False, log=print) -> dict:
    connections = procs * threads
    submits = connections * per_connection * (rounds + 1)  # + one warm-up batch
    log(f"  preparing through the services: {connections} drafts, {submits} ready dossiers ...")
    t0 = time.perf_counter()
    world = prepare(folder, connections, submits, PROFILED if profile else 0, log)
    prep_s = time.perf_counter() - t0
    from workflow_app.clock import local_today
    from workflow_app.services.core.common import engine

    codes = [c.code for c in engine().definition_for(KIND, local_today().year, local_today()).criteria]
    shown, shown_token = world["shown"]
    ready = world["ready"][:submits]
    world["spare"] = world["ready"][submits:]
    batches = [ready[i * connections * per_connection:(i + 1) * connections * per_connection]
               for i in range(rounds + 1)]
    targets = {
        "put": (lambda: _put_requests(world["put"], codes), lambda: _row_requests(connections, "PUT"), seconds),
        "get": (lambda: [[{"method": "GET", "path": f"/api/v1/dossiers/{shown}", "headers": _bearer(shown_token)}]
                         for _ in range(connections)],
                lambda: _row_requests(connections, "GET"), seconds),
    }

    def submit_requests(batch) -> list[list[dict]]:
        return [[{"method": "POST", "path": f"/api/v1/dossiers/{did}/events", "headers": _bearer(token),
                  "body": json.dumps({"event": "submit"})} for did, token in batch[c::connections]]
                for c in range(connections)]

    def bare_submit_twin() -> list[list[dict]]:
        return [reqs * per_connection for reqs in _row_requests(connections, "PUT")]

    servers = {}
    result: dict = {"prepare_s": round(prep_s, 1)}
    try:
        servers["app"] = Gunicorn("app", folder, app_dir)
        servers["bare"] = Gunicorn("rows", folder, app_dir)
        log(f"  gunicorn app on :{servers['app'].port}, bare rows on :{servers['bare'].port}; "
            f"{procs}x{threads} connections; {rounds} rounds of {seconds:.0f} s (PUT, GET) and "
            f"{per_connection} submits per connection")
        # Warm-up: every endpoint of both servers, then the first batch of submits.
        for app_reqs, bare_reqs, _ in targets.values():
            drive(servers["app"].port, app_reqs(), duration=warmup, procs=procs)
            drive(servers["bare"].port, bare_reqs(), duration=warmup, procs=procs)
        drive(servers["app"].port, submit_requests(batches[0]), duration=None, procs=procs)
        drive(servers["bare"].port, bare_submit_twin(), duration=None, procs=procs)
        _wait_for_papers(log)
        per = {f"{b}_{side}": [] for b in ("put", "submit", "get") for side in ("app", "bare")}
        details = []
        for r in range(rounds):
            row = {}
            sides = ("app", "bare") if r % 2 == 0 else ("bare", "app")
            for bench in ("put", "submit", "get"):
                for side in sides:
                    if bench == "submit":
                        reqs = submit_requests(batches[r + 1]) if side == "app" else bare_submit_twin()
                        res = drive(servers[side].port, reqs, duration=None, procs=procs)
                        if side == "app":
                            res["papers_wait_s"] = round(_wait_for_papers(log), 1)
                    else:
                        app_reqs, bare_reqs, secs = targets[bench]
                        res = drive(servers[side].port, app_reqs() if side == "app" else bare_reqs(),
                                    duration=secs, procs=procs)
                    per[f"{bench}_{side}"].append(res["rps"])
                    row[f"{bench}_{side}"] = res
            details.append(row)
            log(f"  round {r + 1}/{rounds}: " + ", ".join(
                f"{b} {row[f'{b}_app']['rps']:.0f}/{row[f'{b}_bare']['rps']:.0f} req/s "
                f"({row[f'{b}_app']['rps'] / row[f'{b}_bare']['rps']:.2f}x"
                + (f", {row[f'{b}_app']['non2xx']} non-2xx" if row[f'{b}_app']['non2xx'] else "") + ")"
                for b in ("put", "submit", "get")))
    finally:
        for s in servers.values():
            s.stop()
    for bench in ("put", "submit", "get"):
        app_rps, bare_rps = median(per[f"{bench}_app"]), median(per[f"{bench}_bare"])
        non2xx = sum(row[f"{bench}_{side}"]["non2xx"] + row[f"{bench}_{side}"]["errors"]
                     for row in details for side in ("app", "bare"))
        ratio = app_rps / bare_rps
        result[bench] = {"app_rps": {"median": app_rps, "all": per[f"{bench}_app"]},
                         "bare_rps": {"median": bare_rps, "all": per[f"{bench}_bare"]},
                         "ratio_of_medians": ratio, "non2xx": non2xx, "goal": f">= {GOAL}",
                         "pass": ratio >= GOAL and non2xx == 0,
                         "first_failures": [f for row in details for f in row[f"{bench}_app"]["first_failures"]][:3]}
    result.update({"rounds": rounds, "seconds_each": seconds, "warmup_s": warmup, "submits_per_connection":
                   per_connection, "connections": connections, "client_processes": procs,
                   "server": "gunicorn -c gunicorn.conf.py (APP_ENV=production, gthread, "
                             f"{os.environ.get('WEB_CONCURRENCY', '2')} workers x "
                             f"{os.environ.get('WEB_THREADS', '4')} threads, keep-alive), one per side",
                   "per_round": [{k: {"rps": v["rps"], "non2xx": v["non2xx"], "statuses": v["statuses"],
                                      "mean_latency_ms": v["mean_latency_ms"],
                                      **({"papers_wait_s": v["papers_wait_s"]} if "papers_wait_s" in v else {})}
                                  for k, v in row.items()} for row in details]})
    if profile:
        result["profile"] = profile_in_process(world, codes, log)
    return result


# ----------------------------------------------------------------------------- profile

def profile_in_process(world: dict, codes: list[str], log=print, n: int = PROFILED, top: int = 25) -> dict:
    """cProfile of the three requests in this process (Flask's test client on the same
    database, after the rounds): where an app request's time goes. Each submit takes
    a ready dossier prepared for it."""
    from workflow_app.extensions import db

    client = world["world"].app.test_client()
    (did, token), (shown, shown_token), spare = world["put"][0], world["shown"], world["spare"]
    db.session.remove()
    calls = {
        "put": lambda i: client.put(f"/api/v1/dossiers/{did}/criteria/{codes[i % len(codes)]}",
                                    json={"self_assessment": "met", "note": f"{NOTE} p{i}"}, headers=_bearer(token)),
        "get": lambda i: client.get(f"/api/v1/dossiers/{shown}", headers=_bearer(shown_token)),
        "submit": lambda i: client.post(f"/api/v1/dossiers/{spare[i][0]}/events", json={"event": "submit"},
                                        headers=_bearer(spare[i][1])),
    }
    out = {}
    for name, call in calls.items():
        count = min(n, len(spare)) if name == "submit" else n
        if name != "submit":
            call(n)  # warm: the first request of a kind loads what later ones reuse
        prof = cProfile.Profile()
        t0 = time.perf_counter()
        prof.enable()
        for i in range(count):
            r = call(i)
            assert 200 <= r.status_code < 300, (name, r.status_code, r.get_data()[:200])
        prof.disable()
        per_ms = 1000 * (time.perf_counter() - t0) / max(1, count)
        buf = io.StringIO()
        stats = pstats.Stats(prof, stream=buf)
        stats.sort_stats("cumulative").print_stats(top)
        buf.write("\n--- by own time ---\n")
        stats.sort_stats("tottime").print_stats(top)
        out[name] = {"ms_per_request_profiled": round(per_ms, 2), "requests": count, "stats": buf.getvalue()}
        log(f"  profile {name}: {per_ms:.1f} ms a request under cProfile ({count} requests)")
        db.session.remove()
    _wait_for_papers(log)
    return out


def table_rows(r: dict) -> list[tuple[str, ...]]:
    rows = []
    names = {"put": "PUT criterion, req/s", "submit": "submit (POST events), req/s", "get": "GET dossier JSON, req/s"}
    for bench in ("put", "submit", "get"):
        if bench in r:
            x = r[bench]
            rows.append((names[bench], f"{x['app_rps']['median']:.0f}", f"{x['bare_rps']['median']:.0f}",
                         f"{x['ratio_of_medians']:.2f}x", f">= {GOAL}x, 0 non-2xx",
                         ("PASS" if x["pass"] else "MISS") + f" ({x['non2xx']} non-2xx)"))
    return rows


if __name__ == "__main__":
    if sys.argv[1:2] == ["client"]:
        client_main()
    else:
        sys.exit("run it through bench/run.py --only writes (python bench/writes.py client is the load client)")
