"""Download throughput of an issued decision (A) vs a bare Flask endpoint (B).

A: GET /api/v1/dossiers/<id>/decision.pdf on the real app, Bearer token of a
   district viewer (token check, decision lookup, permission, send_file).
B: GET /file on a bare Flask app returning the same bytes from memory
   (--bare send_file: send_file() of the same file instead, a diagnostic that
   separates the app's own work from the cost of serving a file).
F (reference, --no-floor leaves it out): the same URL on a bare Flask app that
   does only the download's database work, in one statement (token, roles,
   dossier and decision) in SQLAlchemy Core (serve.floor_app): what checking the
   token and finding the decision in the database on every request leaves of the
   bare throughput on this machine.
All on the same server (Werkzeug threaded, see serve.py), each in its own
process, driven by the same client (load.py processes, or wrk with --client wrk)
for a fixed duration, rotating the order over several rounds after a warm-up.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from _common import BENCH, median

PY = sys.executable


class Server:
    def __init__(self, mode: str, target: Path, logdir: Path):
        self.stderr = open(logdir / f"server-{mode}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([PY, str(BENCH / "serve.py"), mode, str(target)],
                                     stdout=subprocess.PIPE, stderr=self.stderr)
        line = self.proc.stdout.readline().decode()  # blocks until listening (or dead)
        m = re.match(r"PORT (\d+)", line)
        if not m:
            self.stop()
            raise RuntimeError(f"{mode} server did not start; see {logdir / f'server-{mode}.log'}")
        self.port = int(m.group(1))

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # our own child, by its handle
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.stderr.close()


def fetch_once(port: int, path: str, headers: dict) -> bytes:
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path, headers=headers)
    r = conn.getresponse()
    body = r.read()
    conn.close()
    if r.status != 200:
        raise RuntimeError(f"GET {path} on port {port}: HTTP {r.status}: {body[:200]!r}")
    return body


def drive_python(port: int, path: str, headers: dict, duration: float, expect: int,
                 procs: int, threads: int) -> dict:
    start_at = time.time() + 0.7  # time for the client interpreters to start and connect
    args = [str(port), path, str(threads), repr(start_at), repr(duration), str(expect)]
    args += [f"{k}: {v}" for k, v in headers.items()]
    clients = [subprocess.Popen([PY, str(BENCH / "load.py"), *args], stdout=subprocess.PIPE)
               for _ in range(procs)]
    results = [json.loads(c.communicate()[0]) for c in clients]
    ok = sum(r["ok"] for r in results)
    return {"rps": ok / duration, "ok": ok, "errors": sum(r["errors"] for r in results),
            "mean_latency_ms": 1000 * sum(r["latency_sum_s"] for r in results) / ok if ok else None}


def drive_wrk(port: int, path: str, headers: dict, duration: float, expect: int,
              procs: int, threads: int) -> dict:
    cmd = ["wrk", f"-t{procs}", f"-c{procs * threads}", f"-d{max(1, round(duration))}s"]
    for k, v in headers.items():
        cmd += ["-H", f"{k}: {v}"]
    out = subprocess.run(cmd + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                         check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {"rps": rps, "errors": int(non2xx.group(1)) if non2xx else 0, "wrk": out.strip().splitlines()[-2:]}


def run(folder: Path, dossier_id: int, token: str, pdf: bytes, *, rounds: int, duration: float,
        warmup: float, procs: int, threads: int, client: str = "python", bare: str = "bytes",
        floor: bool = True, log=print) -> dict:
    if client == "wrk" and not shutil.which("wrk"):
        raise SystemExit("--client wrk: wrk is not installed")
    drive = drive_wrk if client == "wrk" else drive_python
    pdf_file = folder / "decision-copy.pdf"
    pdf_file.write_bytes(pdf)
    targets = {
        "app": ("app", folder, f"/api/v1/dossiers/{dossier_id}/decision.pdf", {"Authorization": f"Bearer {token}"}),
        "bare": ("sendfile" if bare == "send_file" else "bare", pdf_file, "/file", {}),
    }
    if floor:
        targets["floor"] = ("floor", folder, targets["app"][2], targets["app"][3])
    servers = {}
    try:
        for name, (mode, target, _, _) in targets.items():
            servers[name] = Server(mode, target, folder)
        for name, (_, _, path, headers) in targets.items():
            body = fetch_once(servers[name].port, path, headers)
            if body != pdf:
                raise RuntimeError(f"{name}: served bytes differ from the issued PDF")
        log(f"  servers up: {', '.join(f'{n} on :{s.port}' for n, s in servers.items())}; "
            f"{len(pdf)} bytes per response, {procs}x{threads} connections, client {client}")

        def measure(name: str, seconds: float) -> dict:
            _, _, path, headers = targets[name]
            return drive(servers[name].port, path, headers, seconds, len(pdf), procs, threads)

        for name in targets:  # warm-up: imports, first queries, caches, page cache
            measure(name, warmup)
        per = {name: [] for name in targets}
        details = []
        names = list(targets)
        for r in range(rounds):
            order = names[r % len(names):] + names[:r % len(names)]  # each goes first in turn
            row = {}
            for name in order:
                res = measure(name, duration)
                if res["errors"]:
                    raise RuntimeError(f"{name}: {res['errors']} failed requests in round {r + 1}")
                per[name].append(res["rps"])
                row[name] = res
            details.append(row)
            log(f"  round {r + 1}/{rounds}: " + ", ".join(f"{n} {row[n]['rps']:.0f} req/s" for n in names)
                + f"; app/bare {row['app']['rps'] / row['bare']['rps']:.2f}")
    finally:
        for s in servers.values():
            s.stop()
    ratio = median(per["app"]) / median(per["bare"])
    reference = {"floor_rps": {"median": median(per["floor"]), "all": per["floor"]},
                 "floor_ratio_of_medians": median(per["floor"]) / median(per["bare"]),
                 "floor_endpoint": "bare Flask + one token/roles/dossier/decision statement in SQLAlchemy Core, "
                                   "file read per request"} if floor else {}
    return {
        "bare_endpoint": "send_file(path)" if bare == "send_file" else "Response(bytes in memory)",
        "rounds": rounds, "seconds_each": duration, "warmup_s": warmup, "client": client,
        "connections": procs * threads, "client_processes": procs, "threads_per_process": threads,
        "server": "werkzeug threaded (make_server threaded=True; Connection: close after every response), "
                  "one process each, request log off",
        "pdf_bytes": len(pdf),
        "app_rps": {"median": median(per["app"]), "all": per["app"]},
        "bare_rps": {"median": median(per["bare"]), "all": per["bare"]},
        "ratio_of_medians": ratio, "goal": ">= 0.5", "pass": ratio >= 0.5, **reference,
        "per_round": [{k: {"rps": v["rps"], "mean_latency_ms": v.get("mean_latency_ms")} for k, v in row.items()}
                      for row in details],
    }
