# Rally: `make run` serves the app with its workers and the User Interviews sandbox;
# `make test` runs the whole suite. Both set up everything they need on a fresh machine.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
RUNTIME_ENV := .var/runtime.env
# The suite runs on this many processes (pytest-xdist), each with its own test database and
# Redis database; `make test PYTEST_WORKERS=0` runs it in one process. Three on two cores: the
# suite keeps both cores busy (Postgres and the browsers included), and a fourth process only
# adds contention (measured 2026-12-05: 2 and 3 processes 349 s, 4 processes 377 s).
PYTEST_WORKERS ?= 3
# `make run PORT=8100 SANDBOX_PORT=8101`: Rally's and the sandbox's ports.
PORT ?= 8000
SANDBOX_PORT ?= 8001

help:
	@echo "make run    - the app on http://127.0.0.1:8000 (sandbox on :8001, worker, beat);"
	@echo "             PORT=... SANDBOX_PORT=... choose other ports"
	@echo "make test   - the whole test suite (browser tests when Chromium is installed)"
	@echo "make bench  - the benchmarks of QUALITY.md, written to bench/results.json"
	@echo "             (BENCH_SUITE=1 make bench adds perf-suite: the whole make test, timed)"
	@echo "make lint   - ruff and the import contracts"

# A virtualenv on Python >= 3.12 (3.13 preferred: .python-version), installed from the lock.
$(STAMP): pyproject.toml requirements.lock
	@interpreter=""; \
	for candidate in "$$(PYENV_VERSION=3.13 pyenv which python 2>/dev/null)" python3.13 \
	                 "$$(PYENV_VERSION=3.12 pyenv which python 2>/dev/null)" python3.12 python3; do \
	  [ -n "$$candidate" ] || continue; \
	  if command -v "$$candidate" >/dev/null && "$$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))'; then \
	    interpreter=$$(command -v "$$candidate"); break; fi; \
	done; \
	if [ -z "$$interpreter" ]; then echo "rally: Python 3.12 or newer is needed (3.13 preferred)." >&2; exit 1; fi; \
	[ -x $(PY) ] || "$$interpreter" -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

install: $(STAMP)

services: install
	@mkdir -p .var
	@$(PY) -m rally.runtime > $(RUNTIME_ENV).tmp && mv $(RUNTIME_ENV).tmp $(RUNTIME_ENV)

test-services: install
	@mkdir -p .var
	@[ -f node_modules/axe-core/axe.min.js ] && [ -f node_modules/vnu-jar/build/dist/vnu.jar ] \
	  && [ -f node_modules/jsonapi-validator/lib/schema.json ] || npm ci --no-audit --no-fund --silent
	@$(PY) -m rally.runtime --for-tests > $(RUNTIME_ENV).tmp && mv $(RUNTIME_ENV).tmp .var/test.env

run: services
	@set -a; source $(RUNTIME_ENV); set +a; \
	export RALLY_WEB_PORT=$(PORT) RALLY_SANDBOX_PORT=$(SANDBOX_PORT); \
	export RALLY_BASE_URL="$${RALLY_BASE_URL:-http://127.0.0.1:$(PORT)}"; \
	export UI_API_URL="$${UI_API_URL:-http://127.0.0.1:$(SANDBOX_PORT)/sandbox/ui/api}"; \
	$(PY) manage.py migrate --no-input -v0 && $(PY) manage.py createcachetable && \
	$(PY) manage.py seed_demo && \
	echo "" && echo "Rally:        http://127.0.0.1:$(PORT)  (sign in as admin@, ops@, researcher@ or observer@example.com, password rally-demo)" && \
	echo "UI sandbox:   http://127.0.0.1:$(SANDBOX_PORT)/sandbox/" && \
	echo "Stop with Ctrl-C." && echo "" && \
	exec $(VENV)/bin/honcho start -f Procfile

test: test-services
	@set -a; source .var/test.env; set +a; \
	$(VENV)/bin/ruff check --quiet . && \
	$(VENV)/bin/lint-imports --no-cache >/dev/null && echo "import contracts: kept" && \
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

bench: services
	@set -a; source $(RUNTIME_ENV); set +a; $(PY) -m bench

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports --no-cache

.PHONY: help install services test-services run test bench lint
