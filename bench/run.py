"""Benchmarks of issuing and downloading decisions, as ratios against a baseline measured in the same run.

    .venv/bin/python bench/run.py            # full run (about two minutes)
    .venv/bin/python bench/run.py --quick    # short run (under a minute)
    make bench                               # the full run

1. Issue time: the recognize event through the services (numbering, render,
   signing, storage, audit) vs WeasyPrint alone laying out the same decision
   HTML. Goal: ratio of medians <= 1.3.
2. Download throughput: an issued decision through the real app (API route,
   Bearer token) vs a bare Flask endpoint serving the same bytes, same server,
   same client. Goal: ratio of medians >= 0.5.

Prints a table and writes bench/results/latest.json. See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from _common import BENCH, machine_info

PROFILES = {
    #          issue pairs, warm-up | download rounds, seconds each, warm-up seconds
    "quick": {"pairs": 6, "issue_warmup": 2, "rounds": 3, "seconds": 2.0, "dl_warmup": 1.0},
    "full": {"pairs": 25, "issue_warmup": 3, "rounds": 6, "seconds": 5.0, "dl_warmup": 2.0},
}
#                 rounds, seconds of each PUT/GET measurement, warm-up seconds, submits per connection
WRITES = {"quick": {"rounds": 3, "seconds": 3.0, "warmup": 1.0, "per_connection": 6},
          "full": {"rounds": 5, "seconds": 5.0, "warmup": 2.0, "per_connection": 12}}


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short run (under a minute)")
    p.add_argument("--only", choices=("issue", "download", "memory", "writes"),
                   help="run one benchmark only (memory: bench/memory.py; with --quick, --database-url, --keep; "
                        "writes: bench/writes.py, on gunicorn)")
    p.add_argument("--profile", action="store_true",
                   help="writes: also profile each request in-process (cProfile) after the rounds")
    p.add_argument("--per-connection", type=int, help="writes: submits per client connection per round")
    p.add_argument("--pairs", type=int, help="timed issue/WeasyPrint pairs")
    p.add_argument("--rounds", type=int,
                   help="download rounds (each: app, bare and F, each first in turn: use a multiple of 3)")
    p.add_argument("--seconds", type=float, help="seconds per download measurement")
    p.add_argument("--client", choices=("python", "wrk"), default="python",
                   help="load client: http.client threads in subprocesses (default) or wrk if installed")
    p.add_argument("--bare", choices=("bytes", "send_file"), default="bytes",
                   help="download baseline: the bytes from memory (default) or send_file of the same file")
    p.add_argument("--database-url", metavar="URL",
                   help="run on PostgreSQL: a server URL (e.g. postgresql://postgres@127.0.0.1:5432/postgres); "
                        "a throw-away database is made there and dropped at the end. "
                        "Default: SQLite in the temp folder")
    p.add_argument("--no-floor", dest="floor", action="store_false",
                   help="leave out the reference server doing only the download's database statement")
    p.add_argument("--client-procs", type=int, default=2, help="client processes (wrk: threads)")
    p.add_argument("--client-threads", type=int, default=4, help="connections per client process")
    p.add_argument("--out", type=Path, default=BENCH / "results" / "latest.json")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder (database, PDFs, server logs)")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse(argv)
    if args.only == "memory":
        import memory
        return memory.run_benchmark(memory.parse(["--quick"] * args.quick + ["--keep"] * args.keep + (
            ["--database-url", args.database_url] if args.database_url else [])), ScratchDatabase)
    if args.only == "writes":
        return run_writes(args)
    profile = dict(PROFILES["quick" if args.quick else "full"])
    for key, value in (("pairs", args.pairs), ("rounds", args.rounds), ("seconds", args.seconds)):
        if value is not None:
            profile[key] = value
    if args.only == "download":
        profile["pairs"], profile["issue_warmup"] = 1, 0  # one decision to download

    folder = Path(tempfile.mkdtemp(prefix="ntm-bench-"))
    t_start = time.perf_counter()
    info = machine_info()
    print(f"NTM benchmarks ({'quick' if args.quick else 'full'}): {info['cpu_count']} CPUs, "
          f"Python {info['python']}, WeasyPrint {info['versions']['weasyprint']}; temp folder {folder}")
    busy = info["loadavg_at_start"] and info["cpus_usable"] and info["loadavg_at_start"][0] > 0.75 * info["cpus_usable"]
    if busy:
        print(f"note: the machine is busy (load {info['loadavg_at_start'][0]:.1f} on {info['cpus_usable']} CPUs): "
              "figures will be noisier; the ratios less so")
    result = {"profile": "quick" if args.quick else "full", "machine": info, "settings": profile}
    scratch_db = None
    try:
        if args.database_url:
            scratch_db = ScratchDatabase(args.database_url)
            (folder / "database-url").write_text(scratch_db.url)  # world.database_url reads it
            print(f"  database: PostgreSQL {scratch_db.name} (throw-away)")
        result["database"] = "postgresql" if scratch_db else "sqlite"
        import download
        import issue
        import world

        from workflow_app.clock import pinned

        with pinned(world.DISTRICT_ERA):
            w = world.make_world(folder)
            print("[1/2] issue time: recognize through the services vs WeasyPrint alone")
            iss = issue.run(w, profile["pairs"], profile["issue_warmup"])
        if args.only != "download":
            result["issue"] = iss
        if args.only != "issue":
            print("[2/2] download throughput: issued decision through the app vs bare Flask")
            from workflow_app.services.core.storage import path_of
            from workflow_app.services.documents.decisions import decision_of

            dossier_id = iss["first_dossier_id"] or iss["dossier_ids"][0]
            pdf = path_of(decision_of(world.dossier(dossier_id)).pdf_key).read_bytes()
            token = world.token_for(w, w.viewer_id)
            from workflow_app.extensions import db
            db.session.remove()
            result["download"] = download.run(
                folder, dossier_id, token, pdf, rounds=profile["rounds"], duration=profile["seconds"],
                warmup=profile["dl_warmup"], procs=args.client_procs, threads=args.client_threads,
                client=args.client, bare=args.bare, floor=args.floor)
    finally:
        if scratch_db:
            scratch_db.drop(keep=args.keep)
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    result["machine"]["loadavg_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    result["wall_s"] = round(time.perf_counter() - t_start, 1)

    print()
    print(table(result))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"\nwritten {args.out.relative_to(BENCH.parent) if args.out.is_relative_to(BENCH.parent) else args.out}"
          f" ({result['wall_s']} s)")
    return 0


def run_writes(args) -> int:
    """`--only writes`: bench/writes.py on SQLite or a throw-away PostgreSQL database."""
    import writes

    settings = dict(WRITES["quick" if args.quick else "full"])
    for key, value in (("rounds", args.rounds), ("seconds", args.seconds), ("per_connection", args.per_connection)):
        if value is not None:
            settings[key] = value
    folder = Path(tempfile.mkdtemp(prefix="ntm-bench-"))
    t_start = time.perf_counter()
    info = machine_info()
    print(f"NTM writes benchmark ({'quick' if args.quick else 'full'}): {info['cpu_count']} CPUs, "
          f"load {info['loadavg_at_start'][0]:.1f}, commit {info['git_commit']}"
          f"{' + uncommitted changes' if info['git_dirty'] else ''}; temp folder {folder}")
    result = {"profile": "quick" if args.quick else "full", "machine": info, "settings": settings}
    scratch_db = None
    try:
        if args.database_url:
            scratch_db = ScratchDatabase(args.database_url)
            (folder / "database-url").write_text(scratch_db.url)  # world.database_url reads it
            print(f"  database: PostgreSQL {scratch_db.name} (throw-away)")
        result["database"] = "postgresql" if scratch_db else "sqlite"
        result["writes"] = writes.run(folder, procs=args.client_procs, threads=args.client_threads,
                                      profile=args.profile, **settings)
    finally:
        from workflow_app.extensions import db
        try:
            db.session.remove()
            db.engine.dispose()
        except Exception:  # noqa: BLE001 - no app was made
            pass
        if scratch_db:
            scratch_db.drop(keep=args.keep)
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    result["machine"]["loadavg_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    result["wall_s"] = round(time.perf_counter() - t_start, 1)
    print()
    print(table(result))
    out = args.out
    if out == BENCH / "results" / "latest.json":  # the default: one file per database
        out = BENCH / "results" / f"writes-{result['database']}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"\nwritten {out} ({result['wall_s']} s)")
    return 0


class ScratchDatabase:
    """A PostgreSQL database made for one run (the app's tables are made by world.make_world)."""

    def __init__(self, server_url: str) -> None:
        import uuid

        from sqlalchemy import create_engine, text

        from workflow_app.config import normalize_db_url

        self.name = f"ntm_bench_{uuid.uuid4().hex[:8]}"
        self.admin = create_engine(normalize_db_url(server_url), isolation_level="AUTOCOMMIT")
        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{self.name}"'))
        self.url = self.admin.url.set(database=self.name).render_as_string(hide_password=False)

    def drop(self, keep: bool = False) -> None:
        from sqlalchemy import text

        if keep:
            print(f"kept database {self.name}")
        else:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


def table(r: dict) -> str:
    rows = [("benchmark", "measured (A)", "baseline (B)", "A/B", "goal", "")]
    if "issue" in r:
        i = r["issue"]
        ms = lambda s: f"{s * 1000:.0f} ms"
        rows.append(("issue one decision, median", ms(i["issue_s"]["median"]), ms(i["weasyprint_s"]["median"]),
                     f"{i['ratio_of_medians']:.2f}x", "<= 1.3x", "PASS" if i["pass"] else "MISS"))
        rows.append(("                    p90", ms(i["issue_s"]["p90"]), ms(i["weasyprint_s"]["p90"]),
                     f"{i['issue_s']['p90'] / i['weasyprint_s']['p90']:.2f}x", "", ""))
    if "download" in r:
        d = r["download"]
        rows.append(("download decision PDF, req/s", f"{d['app_rps']['median']:.0f}", f"{d['bare_rps']['median']:.0f}",
                     f"{d['ratio_of_medians']:.2f}x", ">= 0.5x", "PASS" if d["pass"] else "MISS"))
        if "floor_rps" in d:
            rows.append(("  reference F: the statement only", f"{d['floor_rps']['median']:.0f}",
                         f"{d['bare_rps']['median']:.0f}", f"{d['floor_ratio_of_medians']:.2f}x", "", ""))
    if "writes" in r:
        import writes
        rows.extend(writes.table_rows(r["writes"]))
    if "database" in r:
        rows[0] = (f"benchmark ({r['database']})",) + rows[0][1:]
    widths = [max(len(row[c]) for row in rows) for c in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[c]) if c == 0 else cell.rjust(widths[c]) for c, cell in enumerate(row))
             for row in rows]
    lines.insert(1, "-" * len(lines[0]))
    notes = []
    if "issue" in r:
        i = r["issue"]
        notes.append(f"A = fire_event('recognize') + commit ({'signed' if i['signed'] else 'UNSIGNED'}), "
                     f"B = weasyprint.HTML(string).write_pdf() of the same HTML; {i['pairs']} interleaved pairs "
                     f"after {i['warmup']} warm-up")
    if "download" in r:
        d = r["download"]
        notes.append(f"A = GET /api/v1/dossiers/ID/decision.pdf (Bearer), B = bare Flask /file "
                     f"[{d['bare_endpoint']}], same bytes "
                     f"({d['pdf_bytes']} B); {d['connections']} client connections (the server closes each "
                     f"after one response), {d['rounds']} rounds x {d['seconds_each']:.0f} s each, order rotating")
        if "floor_rps" in d:
            notes.append("F = the same URL on a bare Flask app doing only the download's database work "
                         "in one statement (token, roles, dossier, decision: one round trip) "
                         "in SQLAlchemy Core (bench/serve.py floor_app): "
                         "a reference, not a goal")
    if "writes" in r:
        x = r["writes"]
        notes.append(f"A = the app through the API (Bearer), B = bare Flask-SQLAlchemy reading (GET) or reading "
                     f"and updating (PUT) one row; {x['server']}; {x['connections']} keep-alive client "
                     f"connections; {x['rounds']} interleaved rounds: PUT and GET {x['seconds_each']:.0f} s each, "
                     f"{x['submits_per_connection']} submits per connection against as many bare PUTs; "
                     f"load average {r['machine']['loadavg_at_start'][0]:.1f} at start, "
                     f"{r['machine']['loadavg_at_end'][0]:.1f} at end")
    return "\n".join(lines + [""] + notes)


if __name__ == "__main__":
    sys.exit(main())
