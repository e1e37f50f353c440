# The README's two commands are `make run` and `make test`; everything else is a helper for them.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: install run test lint typecheck migrations-check check smoke bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# Install, migrate, create the demo tenant/users/key, and run web + worker + beat on SQLite (no servers needed).
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_demo --key-file var/demo-api-key
	$(PY) manage.py run --port $(PORT)

# Install and run the whole test suite (uses DATABASE_URL / REDIS_URL when set, SQLite otherwise).
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy .

migrations-check: install
	$(PY) manage.py makemigrations --check --dry-run

check: lint typecheck migrations-check test

clean:
	rm -rf var/test* .pytest_cache
