# The quick start: `make run` serves the API on SQLite with demo data; `make test` runs everything.
PYTHON   ?= python3
NPM      ?= npm
CHROMIUM ?= /usr/bin/chromium
VENV     := .venv
BIN      := $(VENV)/bin
# GraphiQL's browser builds, from the npm registry (graphiql/package-lock.json).
GRAPHIQL_ASSETS := gql/static/graphiql/vendor/manifest.json
SUDO     := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install install-dev assets browser migrate seed run serve lint test test-newest \
	constraints schema schema-check client bench bench-tools clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exact versions from constraints.txt (the bounds are in pyproject.toml).
PIP_INSTALL := $(BIN)/pip install --quiet --constraint constraints.txt

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) --editable .
	touch $@

$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) --editable '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed          ## runtime dependencies into .venv
install-dev: $(VENV)/.installed-dev  ## runtime + dev dependencies into .venv

$(GRAPHIQL_ASSETS): graphiql/package.json graphiql/package-lock.json graphiql/vendor.mjs
	cd graphiql && $(NPM) ci --no-audit --no-fund && node vendor.mjs ../gql/static/graphiql/vendor

assets: $(GRAPHIQL_ASSETS)           ## GraphiQL from npm, served by the app (no CDN)

browser:                             ## Debian's Chromium, for the GraphiQL browser test
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

migrate: install                     ## apply migrations to DATABASE_URL (SQLite by default)
	$(BIN)/gql migrate

seed: migrate                        ## load the demo data (idempotent)
	$(BIN)/gql seed-demo

run: seed                            ## migrate, seed, serve on http://127.0.0.1:8000/graphql
	@if command -v $(NPM) >/dev/null; then $(MAKE) --no-print-directory assets; \
	else echo "npm not found: GraphiQL will load from its CDN instead"; fi
	$(BIN)/gql serve

serve: install
	$(BIN)/gql serve

lint: install-dev                    ## ruff + mypy, as CI runs them
	$(BIN)/ruff check gql tests migrations examples bench
	$(BIN)/ruff format --check gql tests migrations examples bench
	$(BIN)/mypy gql

test: lint assets browser schema-check  ## the whole suite (SQLite, and PostgreSQL when reachable)
	$(BIN)/python -m pytest

NEWEST := .venv-newest

test-newest: assets browser          ## the suite against the newest versions pyproject.toml allows
	$(PYTHON) -m venv $(NEWEST)
	$(NEWEST)/bin/pip install --quiet --upgrade --upgrade-strategy eager --editable '.[dev]'
	$(NEWEST)/bin/pip freeze --exclude-editable | diff constraints.txt - | grep '^[<>]' || true
	$(NEWEST)/bin/python -m pytest

constraints: install-dev $(VENV)/.installed-bench  ## rewrite constraints.txt from .venv
	{ echo "# Exact versions for make, CI and the Docker image (pyproject.toml holds the bounds)."; \
	  echo "# Regenerate after changing a bound: make constraints"; \
	  $(BIN)/pip freeze --exclude-editable; } > constraints.txt

$(VENV)/.installed-bench: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP_INSTALL) --editable '.[bench]'
	touch $@ $(VENV)/.installed

# Benchmark knobs (see README, "Performance"): passed on to bench/run.py.
export BENCH_ONLY BENCH_PEERS BENCH_ROUNDS BENCH_DURATION BENCH_WARMUP BENCH_CONNECTIONS BENCH_SUBSCRIBERS \
	BENCH_EVENTS BENCH_WARM_HEADERS BENCH_GQL_ENV BENCH_PROFILE BENCH_DB BENCH_WAIT_QUIET
PEERS_DIR := bench/peers

bench-tools: $(VENV)/.installed-bench  ## wrk (Debian), and the npm peers when BENCH_PEERS=1
	@command -v wrk >/dev/null || { \
	  echo "installing wrk (apt-get)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq wrk >/dev/null; }
	@command -v taskset >/dev/null || { echo "taskset (util-linux) is required"; exit 1; }
	@if [ "$(BENCH_PEERS)" = "1" ]; then \
	  for peer in postgraphile4 postgraphile5; do \
	    [ $(PEERS_DIR)/$$peer/node_modules/.package-lock.json -nt $(PEERS_DIR)/$$peer/package-lock.json ] || \
	      npm ci --prefix $(PEERS_DIR)/$$peer --no-audit --no-fund --loglevel=error || exit 1; \
	  done; \
	fi

bench: bench-tools                   ## the benchmark suite (PostgreSQL at 127.0.0.1:5432; ~6 min)
	$(BIN)/python -m bench.run

schema: install                      ## rewrite schema.graphql from the live schema
	$(BIN)/gql export-schema -o schema.graphql

schema-check: install                ## fail on a breaking schema change since BASE (HEAD~1)
	scripts/check-schema-compat $(BASE)

# ariadne-codegen runs from its own .venv-codegen (examples/codegen-requirements.txt): it
# needs a graphql-core and a ruff older than the app's. tests/test_typed_client.py fails when
# examples/gql_client/ differs from what this writes.
client: install-dev                  ## regenerate the typed client examples/gql_client/
	$(BIN)/python examples/codegen.py

clean:
	rm -rf $(VENV) $(NEWEST) .venv-codegen .pytest_cache .mypy_cache .ruff_cache *.egg-info gql.db gql.db-shm gql.db-wal \
		graphiql/node_modules gql/static/graphiql/vendor test-output
