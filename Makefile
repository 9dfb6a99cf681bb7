# Set-up and everyday commands. `make run` and `make test` work on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
FLASK  := $(VENV)/bin/flask --app wsgi
PORT   ?= 5000
PG_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: help run serve test lint deps install bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

deps:
	@bash scripts/system-deps.sh

run: deps install
	$(FLASK) seed-demo
	@echo "Serving on http://127.0.0.1:$(PORT)  (Ctrl+C to stop)"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

# Production: the schema up to date (idempotent), then gunicorn (gunicorn.conf.py).
# Configure with environment variables (docs/operations.md, "Running in production").
serve: deps install
	$(FLASK) init-db
	$(VENV)/bin/gunicorn -c gunicorn.conf.py wsgi:app

# The whole suite on SQLite and every database test again on PostgreSQL, side by
# side (scripts/test_all.sh; CI always has PostgreSQL: there a missing server is a failure).
# Browser tests drive Debian's chromium (never a downloaded browser), in the SQLite pass.
test: export EXTRA_DEBS = chromium zbar-tools
# axe-core (npm, pinned) for the accessibility checks: without it they fail in CI, skip elsewhere.
test: deps install lint
	@bash scripts/fetch_axe.sh || echo "axe-core was not downloaded: the accessibility checks will skip (fail in CI)." >&2
	@PG_URL="$(PG_URL)" bash scripts/test_all.sh

# ruff: pyflakes, pycodestyle and import order (ruff.toml), on the code, tests and benchmarks.
lint: install
	$(VENV)/bin/ruff check workflow_app tests bench scripts migrations wsgi.py

bench: deps install
	$(VENV)/bin/python bench/run.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts

help:
	@echo "make run      set up (.venv, system packages, demo data) and serve the demo on http://127.0.0.1:$(PORT) (PORT=...)"
	@echo "make test     the whole suite on SQLite and, side by side, the database tests on PostgreSQL (PG_URL)"
	@echo "make lint     ruff on the code, tests and benchmarks (make test runs it first)"
	@echo "make serve    production: upgrade the schema, then gunicorn (docs/operations.md)"
	@echo "make bench    benchmarks: issue time and download throughput against baselines"
	@echo "make install  create .venv and install the Python requirements"
	@echo "make deps     install the Debian packages the app needs, when missing"
	@echo "make clean    remove .venv, .pytest_cache and test-artifacts"
	@echo "make help     this list"
