"""Generate a national-size data set into a new PostgreSQL database, for the page benchmark.

    .venv/bin/python bench/make_data.py ntm_bench --dossiers 50000
    .venv/bin/python bench/make_data.py ntm_bench                    # 1,000,000 dossiers

The database is dropped if it exists, created, and migrated with the app's own `init-db`
(schema, the shipped units and reforms). On top of that come 33 generated provinces with the
same two-era shape as the shipped one: districts, communes (one town per district) and villages
until the day before the reform, then new communes (three old ones merged into one) directly
under the province, the villages moved there, the old units abolished with a successor link.
The workflow definitions (states/) are read through the app's engine: every dossier walks the
events of the definition in force on its day, acted on by users holding the event's role at the
applicant's ancestor of that level on that day. Each walk writes the dossier, its criterion
entries per round, its audit records (hash chain computed as services/core/common.record does,
so `flask audit verify` holds), and for a recognition or revocation the decision. Rows go in
with COPY, in chunks, with foreign-key triggers off for the session (the rows are consistent by
construction); sequences are moved past the ids used.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import time
from datetime import date, datetime, timedelta, timezone
from itertools import count
from pathlib import Path

import psycopg
from _common import ROOT

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
REFORM_DAY = date(2025, 7, 1)
FIRST_DAY = date(2021, 1, 4)
BORN = date(2020, 1, 1)
GENESIS = "0" * 64
PASSWORD = "bench-pass-1"  # every generated user's password (a throw-away database)
ROLE_GROUPS = {  # one user per group per unit; each group's roles held at that unit
    "village": [("s", ("preparer", "submitter"))],
    "commune": [("s", ("preparer", "submitter")), ("a", ("appraiser",)), ("d", ("approver",))],
    "town": [("s", ("preparer", "submitter")), ("a", ("appraiser",)), ("d", ("approver",))],
    "district": [("a", ("appraiser",)), ("d", ("approver",)), ("v", ("viewer",))],
    "province": [("a", ("appraiser",)), ("d", ("approver",)), ("v", ("viewer",))],
}


def parse(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("database", help="name of the database to (re)create, e.g. ntm_bench")
    p.add_argument("--dossiers", type=int, default=1_000_000, help="how many dossiers (default 1,000,000)")
    p.add_argument("--server", default=os.environ.get("BENCH_PG", DEFAULT_SERVER),
                   help=f"URL of a database on the server, used to drop and create (default {DEFAULT_SERVER})")
    p.add_argument("--provinces", type=int, default=33, help="generated provinces besides the shipped one")
    p.add_argument("--districts", type=int, default=20, help="districts per generated province")
    p.add_argument("--communes", type=int, default=15, help="communes per district (the first is a town)")
    p.add_argument("--villages", type=int, default=9, help="villages per commune")
    p.add_argument("--chunk", type=int, default=20_000, help="dossiers per COPY chunk")
    p.add_argument("--seed", type=int, default=16)
    p.add_argument("--app-dir", type=Path, default=ROOT,
                   help="checkout whose init-db and states/ are used (default: this one; e.g. an export of a commit)")
    return p.parse_args(argv)


def db_url(server: str, name: str) -> str:
    return server.rsplit("/", 1)[0] + "/" + name


def recreate(server: str, name: str) -> None:
    if not name.replace("_", "").isalnum():
        sys.exit(f"database name must be letters, digits and _: {name!r}")
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def init_db(url: str, app_dir: Path) -> None:
    env = dict(os.environ, DATABASE_URL=url, APP_ENV="development")
    done = subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi", "init-db"], cwd=app_dir,
                          env=env, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"init-db failed:\n{done.stderr[-3000:]}")


def cell(v) -> str:
    if v is None:
        return "\\N"
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, str):
        return v.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ")
    return str(v)


class Table:
    """Rows of one table, written with COPY when flushed."""

    def __init__(self, name: str, columns: str) -> None:
        self.name, self.columns, self.lines, self.total = name, columns, [], 0

    def add(self, *values) -> None:
        self.lines.append("\t".join(cell(v) for v in values))

    def flush(self, cur) -> None:
        if not self.lines:
            return
        with cur.copy(f"COPY {self.name} ({self.columns}) FROM STDIN") as cp:
            cp.write(("\n".join(self.lines) + "\n").encode())
        self.total += len(self.lines)
        self.lines = []


class World:
    """The unit tree (both eras) and the users, as ids in memory."""

    def __init__(self, cur, args, rng: random.Random) -> None:
        self.cur, self.args, self.rng = cur, args, rng
        self.unit_ids = count(self._next("units"))
        self.link_ids = count(self._next("unit_links"))
        self.user_ids = count(self._next("users"))
        self.role_ids = count(self._next("role_assignments"))
        self.units = Table("units", "id, code, name, level, parent_id, path, agency_code, valid_from, "
                                    "valid_to, ended_by_id")
        self.links = Table("unit_links", "id, unit_id, parent_id, relation, valid_from, valid_to, path, reform_id")
        self.users = Table("users", "id, username, name, password_hash, active, session_token, created_at")
        self.roles = Table("role_assignments", "id, user_id, role, unit_id, capacity")
        self.level: dict[int, str] = {}
        self.old_chain: dict[int, dict[str, int]] = {}  # unit -> level -> unit, before the reform
        self.new_chain: dict[int, dict[str, int]] = {}  # after
        self.agency: dict[int, str] = {}
        self.role_user: dict[tuple[str, int], int] = {}
        self.user_name: dict[int, str] = {}

    def _next(self, table: str) -> int:
        return self.cur.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]

    def load_shipped(self) -> None:
        """The units init-db loaded, with their chains in both eras."""
        rows = self.cur.execute("SELECT id, level, agency_code FROM units").fetchall()
        for uid, level, agency in rows:
            self.level[uid] = level
            if agency:
                self.agency[uid] = agency
        links = self.cur.execute("SELECT unit_id, parent_id, valid_from, valid_to FROM unit_links "
                                 "WHERE relation = 'parent'").fetchall()
        parent_on: dict[tuple[int, bool], int | None] = {}
        for uid, parent, start, end in links:
            for new_era, day in ((False, REFORM_DAY - timedelta(days=1)), (True, REFORM_DAY)):
                if (start is None or start <= day) and (end is None or end >= day):
                    parent_on[(uid, new_era)] = parent
        for uid in self.level:
            for new_era, chains in ((False, self.old_chain), (True, self.new_chain)):
                if (uid, new_era) not in parent_on:
                    continue
                chain, at = {}, uid
                while at is not None:
                    chain[self.level[at]] = at
                    at = parent_on.get((at, new_era))
                chains[uid] = chain

    def unit(self, code, name, level, parent, path, agency, valid_to=None, reform=None) -> int:
        uid = next(self.unit_ids)
        born_by_reform = reform is not None and valid_to is None  # a new commune; an ended unit was born before
        self.units.add(uid, code, name, level, parent, path, agency, REFORM_DAY if born_by_reform else BORN,
                       valid_to, reform if valid_to else None)
        self.level[uid] = level
        if agency:
            self.agency[uid] = agency
        return uid

    def link(self, unit, parent, relation, start, end, path, reform) -> None:
        self.links.add(next(self.link_ids), unit, parent, relation, start, end, path, reform)

    def build(self, reform_ids: list[int]) -> None:
        a, last = self.args, REFORM_DAY - timedelta(days=1)
        for pi, reform in enumerate(reform_ids, start=1):
            pcode = f"tinh-{pi:02d}"
            ppath = f"/{pcode}/"
            prov = self.unit(pcode, f"Tỉnh Thử {pi:02d}", "province", None, ppath, f"T{pi:02d}")
            self.link(prov, None, "parent", BORN, None, ppath, None)
            self.old_chain[prov] = self.new_chain[prov] = {"province": prov}
            new_n = 0
            for di in range(1, a.districts + 1):
                dcode = f"{pcode}-h{di:02d}"
                dpath = f"{ppath}{dcode}/"
                dist = self.unit(dcode, f"Huyện Thử {pi:02d}.{di:02d}", "district", prov, dpath,
                                 f"H{pi:02d}{di:02d}", last, reform)
                self.link(dist, prov, "parent", BORN, last, dpath, None)
                self.link(dist, prov, "successor", REFORM_DAY, None, f"{ppath}{dcode}/", reform)
                self.old_chain[dist] = {"province": prov, "district": dist}
                new_commune = None
                for ci in range(a.communes):
                    if ci % 3 == 0:  # three old communes make one new commune
                        new_n += 1
                        ncode = f"{pcode}-x{new_n:03d}"
                        npath = f"{ppath}{ncode}/"
                        new_commune = self.unit(ncode, f"Xã Mới {pi:02d}.{new_n:03d}", "commune", prov, npath,
                                                f"X{pi:02d}{new_n:03d}", None, reform)
                        self.link(new_commune, prov, "parent", REFORM_DAY, None, npath, reform)
                        self.new_chain[new_commune] = {"province": prov, "commune": new_commune}
                    level = "town" if ci == 0 else "commune"
                    ccode = f"{dcode}-{'tt' if ci == 0 else 'x'}{ci:02d}"
                    cpath = f"{dpath}{ccode}/"
                    label = "Thị trấn" if ci == 0 else "Xã"
                    com = self.unit(ccode, f"{label} Cũ {pi:02d}.{di:02d}.{ci:02d}", level, dist, cpath, None,
                                    last, reform)
                    self.link(com, dist, "parent", BORN, last, cpath, None)
                    self.link(com, new_commune, "successor", REFORM_DAY, None, f"{ppath}{ncode}/{ccode}/", reform)
                    self.old_chain[com] = {"province": prov, "district": dist, level: com}
                    for vi in range(1, a.villages + 1):
                        vcode = f"{ccode}-b{vi:02d}"
                        vpath_new = f"{ppath}{ncode}/{vcode}/"
                        vil = next(self.unit_ids)
                        self.units.add(vil, vcode, f"Bản {vi:02d} ({pi:02d}.{di:02d}.{ci:02d})", "village",
                                       new_commune, vpath_new, None, BORN, None, None)
                        self.level[vil] = "village"
                        self.link(vil, com, "parent", BORN, last, f"{cpath}{vcode}/", None)
                        self.link(vil, new_commune, "parent", REFORM_DAY, None, vpath_new, reform)
                        self.old_chain[vil] = {"province": prov, "district": dist, level: com, "village": vil}
                        self.new_chain[vil] = {"province": prov, "commune": new_commune, "village": vil}

    def make_users(self, password_hash: str) -> None:
        made = datetime(2020, 1, 1)
        for uid, level in self.level.items():
            for tag, roles in ROLE_GROUPS.get(level, []):
                user = next(self.user_ids)
                username = f"b{tag}{uid}"
                name = f"Người dùng {tag.upper()} {uid}"
                self.users.add(user, username, name, password_hash, True, f"{user:032x}", made)
                self.user_name[user] = name
                for role in roles:
                    self.roles.add(next(self.role_ids), user, role, uid,
                                   "vice_chairman" if role == "approver" else None)
                    self.role_user[(role, uid)] = user


def sequences(cur) -> None:
    for table in ("units", "unit_links", "users", "role_assignments", "dossiers", "criterion_entries",
                  "audit_records", "decisions", "reforms"):
        cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)")


class Dossiers:
    """Walks of the definitions, written as rows."""

    def __init__(self, cur, world: World, engine, rng: random.Random, now: datetime) -> None:
        self.cur, self.w, self.engine, self.rng, self.now = cur, world, engine, rng, now
        self.dossier_ids = count(world._next("dossiers"))
        self.entry_ids = count(world._next("criterion_entries"))
        self.audit_ids = count(world._next("audit_records"))
        self.decision_ids = count(world._next("decisions"))
        self.dossiers = Table("dossiers", "id, code, kind, definition_version, unit_id, year, state, version, round, "
                                          "fields, open_key, created_by_id, created_at, updated_at, audit_count, "
                                          "audit_head")
        self.entries = Table("criterion_entries", "id, dossier_id, round, code, position, self_assessment, note, "
                                                  "verdict, verdict_note, appraiser_id, appraised_at")
        self.audits = Table("audit_records", "id, dossier_id, seq, action, is_transition, from_state, to_state, "
                                             "actor_id, role, unit_id, comment, data, at, prev_hash, hash")
        self.decisions = Table("decisions", "id, issuer_id, year, number, symbol, type, issued_on, signed_at, "
                                            "signer_id, signer_name, subject, pdf_key, pdf_sha256, verify_token, "
                                            "status, revokes_id, reason")
        self.links = Table("decision_dossiers", "decision_id, dossier_id")
        self.tables = (self.dossiers, self.entries, self.audits, self.decisions, self.links)
        self.code_seq: dict[str, int] = {}
        self.numbers: dict[tuple[int, int], int] = {}
        self.open_keys: set[str] = set()
        self.states: dict[str, int] = {}
        # Applicants by (level, era): villages, communes and towns living in that era.
        self.applicants = {}
        for new_era, chains in ((False, world.old_chain), (True, world.new_chain)):
            for uid, chain in chains.items():
                level = world.level[uid]
                if level in ("village", "commune", "town") and chain.get(level) == uid:
                    self.applicants.setdefault((level, new_era), []).append(uid)
        # Kinds made of lines (plans, requests: no criteria, no decision, no closed state) are left
        # out: this walk closes every pre-reform dossier, and their lines are not generated.
        self.kinds = [k for k in engine.kinds() if engine.definition(k).criteria]
        self.revoked: list[int] = []
        # Per definition, the states an issued decision leads to (the walk ends there, or revokes).
        self.ended = {(d.kind, d.version): {e.dest for e in d.events.values() if e.issues_decision}
                      for d in (engine.definition(k, v) for k in self.kinds for v in self._versions(engine, k))}
        self.appraised = {e.dest for k in self.kinds for v in self._versions(engine, k)
                          for e in engine.definition(k, v).events.values() if e.effects and
                          any("appraisal" in x for x in e.effects)}

    @staticmethod
    def _versions(engine, kind: str) -> list[int]:
        return [d.version for d in engine.roads(kind)]

    def flush(self) -> None:
        for t in self.tables:
            t.flush(self.cur)

    def actor(self, chain: dict[str, int], actors) -> tuple[int, str, int] | None:
        for a in actors:
            unit = chain.get(a.level)
            user = self.w.role_user.get((a.role, unit)) if unit else None
            if user:
                return user, a.role, unit
        return None

    def one(self) -> int | None:
        rng, w = self.rng, self.w
        new_era = rng.random() < 0.4
        if new_era:
            start = REFORM_DAY
            span = (self.now.date() - timedelta(days=2) - start).days
        else:
            start, span = FIRST_DAY, (REFORM_DAY - timedelta(days=60) - FIRST_DAY).days
        day = start + timedelta(days=rng.randrange(span))
        kind = rng.choices(self.kinds, weights=[self._weight(k, new_era) for k in self.kinds])[0]
        year = day.year
        d = self.engine.definition_for(kind, year, day)
        if d is None or (d.applicant_level, new_era) not in self.applicants:
            return None
        pool = self.applicants[(d.applicant_level, new_era)]
        for _ in range(5):  # one dossier holds the (kind, applicant, year) slot until it is closed
            applicant = rng.choice(pool)
            open_key = f"{kind}:{applicant}:{year}"
            if open_key not in self.open_keys:
                break
        must_close = open_key in self.open_keys
        chain = (w.new_chain if new_era else w.old_chain)[applicant]
        creator = self.actor(chain, d.actions["create"].by)
        if creator is None:
            return None
        at = datetime.combine(day, datetime.min.time()) + timedelta(seconds=rng.randrange(3600, 10 * 3600))
        deadline = datetime.combine(self.now.date() - timedelta(days=1), datetime.min.time()) if new_era else \
            datetime.combine(REFORM_DAY - timedelta(days=2), datetime.min.time())
        ended = self.ended[d.kind, d.version]
        audit = [("create", True, None, d.initial, *creator, None, {"kind": d.kind, "year": year}, at)]
        state, rnd, verdicts, appraiser, decisions = d.initial, 1, {}, {}, []
        stop_open = new_era and not must_close and rng.random() < 0.3
        criteria = [c.code for c in d.criteria]
        assessed = False
        while not d.states[state].closed:
            if state in ended and not must_close and rng.random() > 0.02:
                break
            if stop_open and rng.random() < 0.35:
                break
            events = d.events_from(state)
            closing = [e for e in events if d.states[e.dest].closed]
            forward = [e for e in events if not e.negative]
            negative = [e for e in events if e.negative]
            if closing and (must_close and rng.random() < 0.5 or not forward):
                event = rng.choice(closing)
            elif negative and (rnd < 3 and rng.random() < 0.08 or rng.random() < 0.03):
                event = rng.choice(negative)
            elif forward:
                event = rng.choice(forward)
            else:
                break
            if event.name in d.filing_events and not assessed:
                assessed = True
                audit.append(("self_assess", False, None, None, *creator, None,
                              {"criterion": criteria[0], "self_assessment": "met"},
                              at + timedelta(minutes=rng.randrange(5, 600))))
            nxt = audit[-1][-1] + timedelta(days=rng.randrange(1, 12), seconds=rng.randrange(3600))
            if nxt > deadline:
                if new_era and not must_close:
                    break
                nxt = audit[-1][-1] + timedelta(seconds=rng.randrange(60, 600))
            who = self.actor(chain, event.by)
            if who is None:
                return None
            at = nxt
            if event.dest in self.appraised:
                verdicts[rnd], appraiser[rnd] = at, who[0]
            comment = "Cần bổ sung minh chứng." if event.negative else None
            if event.issues_decision:
                decisions.append(("recognition", who, at, None))
            elif decisions and state in ended and d.states[event.dest].closed:
                decisions.append(("revocation", who, at, comment))
            audit.append((event.name, True, state, event.dest, *who, comment, {}, at))
            if event.starts_round:
                rnd += 1
            state = event.dest
        final = d.states[state].closed or state in ended
        if not final and not (new_era and not must_close):
            return None
        if must_close and not d.states[state].closed:
            return None
        did = next(self.dossier_ids)
        if not d.states[state].closed:
            self.open_keys.add(open_key)
        agency = next((w.agency[u] for u in (applicant, *chain.values()) if u in w.agency), "HS")
        key = f"{agency}-{day:%y%m%d}"
        seq = self.code_seq[key] = self.code_seq.get(key, 0) + 1
        recognition = None
        for kind_of, who, when, reason in decisions:
            recognition = self.decision(who, when, kind_of, did, recognition if kind_of == "revocation" else None,
                                        reason)
        for r in range(1, rnd + 1):
            for pos, c in enumerate(criteria):
                seen = r < rnd or state != d.initial
                judged = verdicts.get(r)
                self.entries.add(next(self.entry_ids), did, r, c, pos, "met" if seen else None, None,
                                 ("pass" if r == rnd or pos else "fail") if judged else None, None,
                                 appraiser.get(r), judged)
        prev = GENESIS
        for seq_no, (action, trans, frm, to, actor, role, unit, comment, data, when) in enumerate(audit, start=1):
            body = {"dossier_id": did, "seq": seq_no, "action": action, "from": frm, "to": to, "actor_id": actor,
                    "role": role, "unit_id": unit, "comment": comment, "data": data,
                    "at": when.isoformat(timespec="microseconds")}
            canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()
            digest = hashlib.sha256(prev.encode() + canonical).hexdigest()
            self.audits.add(next(self.audit_ids), did, seq_no, action, trans, frm, to, actor, role, unit, comment,
                            json.dumps(data, ensure_ascii=False), when, prev, digest)
            prev = digest
        self.dossiers.add(did, f"{key}-{seq:04d}", kind, d.version, applicant, year, state, len(audit), rnd, "{}",
                          None if d.states[state].closed else open_key, creator[0], audit[0][-1], at, len(audit),
                          prev)
        self.states[state] = self.states.get(state, 0) + 1
        return did

    def _weight(self, kind: str, new_era: bool) -> float:
        level = self.engine.definition(kind).applicant_level
        return len(self.applicants.get((level, new_era), ())) or 0.0

    def decision(self, who, at, kind, dossier, revokes, reason) -> int:
        user, _, issuer = who
        year = at.year
        number = self.numbers[(issuer, year)] = self.numbers.get((issuer, year), 0) + 1
        did = next(self.decision_ids)
        subject = "Về việc công nhận" if kind == "recognition" else "Về việc thu hồi quyết định công nhận"
        self.decisions.add(did, issuer, year, number, f"{number:02d}/QĐ-UBND", kind, at.date(), at, user,
                           self.w.user_name[user], subject, "bench/none.pdf", "0" * 64, f"bench-{did:012d}",
                           "valid", revokes, reason)
        self.links.add(did, dossier)
        if revokes:
            self.revoked.append(revokes)
        return did


def main(argv=None) -> int:
    args = parse(argv)
    t0 = time.perf_counter()
    url = db_url(args.server, args.database)
    rng = random.Random(args.seed)
    print(f"(re)creating {args.database} and running init-db ...", flush=True)
    recreate(args.server, args.database)
    init_db(url, args.app_dir)
    t_init = time.perf_counter()

    sys.path.insert(0, str(args.app_dir.resolve()))
    from werkzeug.security import generate_password_hash

    from workflow_app.workflow.engine import Engine
    engine = Engine.from_dir(args.app_dir / "states")
    now = datetime.now(timezone.utc).replace(tzinfo=None)

    with psycopg.connect(url) as conn:
        cur = conn.cursor()
        cur.execute("SET session_replication_role = replica")  # no FK triggers: consistent by construction
        cur.execute("SET synchronous_commit = off")
        world = World(cur, args, rng)
        world.load_shipped()
        reform_ids = []
        for pi in range(1, args.provinces + 1):
            reform_ids.append(cur.execute(
                "INSERT INTO reforms (code, effective, legal_basis) VALUES (%s, %s, %s) RETURNING id",
                (f"tinh-{pi:02d}-2025", REFORM_DAY, "Nghị quyết thử (dữ liệu đo hiệu năng)")).fetchone()[0])
        world.build(reform_ids)
        world.make_users(generate_password_hash(PASSWORD))
        for t in (world.units, world.links, world.users, world.roles):
            t.flush(cur)
        conn.commit()
        t_units = time.perf_counter()
        print(f"units {world.units.total + 99:,}, unit links {world.links.total:,}, users {world.users.total:,} "
              f"({t_units - t_init:.0f} s)", flush=True)

        gen = Dossiers(cur, world, engine, rng, now)
        made = 0
        while made < args.dossiers:
            if gen.one():
                made += 1
                if made % args.chunk == 0:
                    gen.flush()
                    conn.commit()
                    rate = made / (time.perf_counter() - t_units)
                    print(f"  {made:,} dossiers ({rate:,.0f}/s)", flush=True)
        gen.flush()
        if gen.revoked:
            cur.execute("UPDATE decisions SET status = 'revoked' WHERE id = ANY(%s)", (gen.revoked,))
        for (issuer, year), number in gen.numbers.items():
            code = cur.execute("SELECT code FROM units WHERE id = %s", (issuer,)).fetchone()[0]
            cur.execute("INSERT INTO counters (scope, value) VALUES (%s, %s) ON CONFLICT (scope) DO UPDATE "
                        "SET value = excluded.value", (f"decision:{code}:{year}", number))
        sequences(cur)
        conn.commit()
        t_rows = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    t_end = time.perf_counter()
    size = None
    with psycopg.connect(url) as conn:
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    print(f"dossiers {gen.dossiers.total:,}, criterion entries {gen.entries.total:,}, audit records "
          f"{gen.audits.total:,}, decisions {gen.decisions.total:,}; states {dict(sorted(gen.states.items()))}")
    print(f"time: init-db {t_init - t0:.0f} s, units+users {t_units - t_init:.0f} s, rows {t_rows - t_units:.0f} s, "
          f"vacuum analyze {t_end - t_rows:.0f} s; total {t_end - t0:.0f} s; database size {size}")
    print(f"users: b<group><unit id> (bs submitter, ba appraiser, bd approver, bv viewer), password {PASSWORD!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
