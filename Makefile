# The README's two commands are `make run` and `make test`; everything else is a helper for them.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install install-dev run test lint typecheck migrations-check check smoke bench clean

# Two stamps: `make run` needs only the runtime dependencies; tests and checks add the dev extras (pytest, mypy,
# Playwright, schemathesis, hadolint, …), which take most of the install time.
$(VENV)/.runtime: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.runtime
	$(PIP) install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.installed-dev

# Install, migrate, create the demo tenant/users/key, and run web + worker + beat on SQLite (no servers needed).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_demo --key-file var/demo-api-key
	$(PY) manage.py run --port $(PORT)

# Install and run the whole test suite (uses DATABASE_URL / REDIS_URL when set, SQLite otherwise).
test: install-dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install-dev
	$(VENV)/bin/mypy .

migrations-check: install-dev
	$(PY) manage.py makemigrations --check --dry-run

check: lint typecheck migrations-check test

clean:
	rm -rf var/test* .pytest_cache

# Every benchmark with its same-run baseline → bench/results.json and bench/RESULTS.md (needs PostgreSQL, Redis, wrk).
# `make bench BENCH_ARGS=--quick` for the ~10-minute version.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/orchestrator_bench
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/12
BENCH_ARGS ?=
bench: install-dev
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(BENCH_REDIS_URL)} $(PY) bench/run.py $(BENCH_ARGS)
