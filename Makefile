# The quick start: `make run` serves the API on SQLite with demo data; `make test` runs everything.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: install install-dev migrate seed run serve lint test schema clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --editable .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --editable '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed          ## runtime dependencies into .venv
install-dev: $(VENV)/.installed-dev  ## runtime + dev dependencies into .venv

migrate: install                     ## apply migrations to DATABASE_URL (SQLite by default)
	$(BIN)/gql migrate

seed: migrate                        ## load the demo data (idempotent)
	$(BIN)/gql seed-demo

run: seed                            ## migrate, seed, serve on http://127.0.0.1:8000/graphql
	$(BIN)/gql serve

serve: install
	$(BIN)/gql serve

lint: install-dev                    ## ruff + mypy, as CI runs them
	$(BIN)/ruff check gql tests migrations
	$(BIN)/ruff format --check gql tests migrations
	$(BIN)/mypy gql

test: lint                           ## the whole suite (SQLite, and PostgreSQL when reachable)
	$(BIN)/python -m pytest

schema: install                      ## rewrite schema.graphql from the live schema
	$(BIN)/gql export-schema -o schema.graphql

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info gql.db gql.db-shm gql.db-wal
