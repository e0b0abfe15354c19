# The two commands that matter: `make run` (the whole platform in the foreground) and
# `make test` (every test on real NATS, Postgres and Redis). See `make help` for the rest.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
# uv from PATH, else the one `pip install --user uv` put in ~/.local/bin, else `python3 -m uv`.
UV ?= $(shell command -v uv 2>/dev/null || { test -x "$$HOME/.local/bin/uv" && echo "$$HOME/.local/bin/uv"; } || echo "$(PYTHON) -m uv")
# Each tests/ folder is named: their conftests then load before pytest is configured, which
# is also what lets a package's own conftest declare pytest_plugins.
TEST_DIRS := $(wildcard libs/*/tests services/*/tests sim/*/tests deploy/tests tests)
PYTEST_ARGS ?=

.PHONY: help uv sync web web-check run status stop test lint bench clean clean-data

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

uv: ## install uv when it is missing
	@if ! $(UV) --version >/dev/null 2>&1; then \
	  echo "installing uv with pip"; \
	  $(PYTHON) -m pip install --quiet --user uv \
	    || $(PYTHON) -m pip install --quiet --user --break-system-packages uv \
	    || $(PYTHON) -m pip install --quiet uv; \
	fi

# --locked (not --frozen): a lock that no longer matches a pyproject is re-resolved instead
# of silently installing an older set of packages.
sync: uv ## install the Python packages of every workspace member
	@$(UV) sync --all-packages --locked || $(UV) sync --all-packages

web: ## build the SPA into web/dist (when web/package.json exists)
	@if [ ! -f web/package.json ]; then exit 0; fi; \
	if ! command -v npm >/dev/null; then \
	  echo "npm not found: skipping the SPA build (the API still runs; install nodejs and npm for the web app)"; \
	  exit 0; \
	fi; \
	cd web && npm install --no-audit --no-fund --loglevel=error && npm run build

run: sync web ## install everything and run the platform in the foreground (Ctrl-C stops it)
	@exec $(UV) run --no-sync python -m svckit.devrun run

status: ## tell whether the platform runs here
	@$(UV) run --no-sync python -m svckit.devrun status

stop: ## stop a platform started by `make run` elsewhere
	@$(UV) run --no-sync python -m svckit.devrun stop

test: sync web web-check ## run every test (pytest exits non-zero when a test fails or none ran)
	@$(UV) run --no-sync pytest $(TEST_DIRS) $(PYTEST_ARGS)

web-check: ## the SPA's unit tests, and fail when its generated API client is stale
	@if [ -f web/package.json ] && command -v npm >/dev/null; then \
	  cd web && npm run --silent check:api && npm run --silent test; \
	fi

lint: sync ## check the Python code with ruff
	@$(UV) run --no-sync ruff check .

bench: sync ## run the benchmarks under bench/ (each records its own results)
	@for b in bench/*/run.py; do \
	  [ -f "$$b" ] || continue; echo "== $$b"; $(UV) run --no-sync python "$$b"; \
	done

clean: ## remove caches and build output (keeps the platform's data in .run/)
	@find . \( -path ./.venv -o -path ./web/node_modules \) -prune -o \
	  -name __pycache__ -type d -prune -exec rm -rf {} +
	@rm -rf .pytest_cache .ruff_cache web/dist test-artifacts

clean-data: ## stop the platform and delete its data, secrets and logs in .run/
	@$(UV) run --no-sync python -m svckit.devrun stop
	@rm -rf .run
