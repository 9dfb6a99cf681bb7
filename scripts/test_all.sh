#!/usr/bin/env bash
# The whole suite on SQLite and, at the same time, every database test again on
# PostgreSQL but the browser tests (each pass has its own throw-away databases, so
# they cannot meet). The browser tests check what a person sees in chromium; what
# the database does under those pages is checked on PostgreSQL by the in-process
# page tests, so their ~3 minutes are spent once, in the shorter pass.
# The two passes run side by side, each in TEST_WORKERS processes (below).
# Each pass writes its own log under test-artifacts/; both are printed at the end.
#   scripts/test_all.sh [pytest arguments, e.g. tests/test_register.py]
# Without PostgreSQL the second pass is skipped, except in CI (CI set), where it fails.
set -u
cd "$(dirname "$0")/.."
PY=.venv/bin/python
PG_URL="${PG_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
LOGS=test-artifacts
# Each pass in TEST_WORKERS processes (pytest-xdist), a test file's tests together in one
# (--dist loadfile: a module's shared fixtures are built once). A pass alone keeps about half
# a core busy (it waits on the database, the PDF render worker, chromium, subprocesses), so
# two workers a pass fill a two-core machine. TEST_WORKERS=0 runs each pass in one process.
WORKERS="-n ${TEST_WORKERS:-2} --dist loadfile"
[ "${TEST_WORKERS:-2}" = "0" ] && WORKERS=""
mkdir -p "$LOGS"

.venv/bin/pytest -q $WORKERS "$@" >"$LOGS/pytest-sqlite.log" 2>&1 &
sqlite_pid=$!
pg_pid=""
if $PY scripts/pg_ready.py "$PG_URL"; then
  TEST_DATABASE_URL="$PG_URL" .venv/bin/pytest -q $WORKERS -m "(db or pg) and not browser" "$@" >"$LOGS/pytest-postgresql.log" 2>&1 &
  pg_pid=$!
elif [ -n "${CI:-}" ]; then
  echo "PostgreSQL does not answer at $PG_URL; CI needs it." >&2
  kill "$sqlite_pid" 2>/dev/null
  exit 1
else
  echo "PostgreSQL does not answer at $PG_URL: PostgreSQL pass skipped."
fi

wait "$sqlite_pid"; sqlite_rc=$?
echo "== the whole suite on SQLite (exit $sqlite_rc) =="
cat "$LOGS/pytest-sqlite.log"
rc=$sqlite_rc
if [ -n "$pg_pid" ]; then
  wait "$pg_pid"; pg_rc=$?
  echo "== database tests again on PostgreSQL (exit $pg_rc) =="
  cat "$LOGS/pytest-postgresql.log"
  [ "$rc" -eq 0 ] && rc=$pg_rc
fi
exit "$rc"
