# Two commands on a fresh machine with Python 3.11+ and make: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run sandbox test lint bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,sandbox]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-sandbox

# Reads .env when present, then starts the bot (SQLite by default).
run: $(VENV)/.installed
	@set -a; [ ! -f .env ] || . ./.env; set +a; exec $(BIN)/aws-access-bot run

$(VENV)/.installed-sandbox: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[sandbox]'
	touch $@ $(VENV)/.installed

# `run --sandbox`: AWS is an in-process moto, every Slack message says "sandbox".
sandbox: $(VENV)/.installed-sandbox
	@set -a; [ ! -f .env ] || . ./.env; set +a; exec $(BIN)/aws-access-bot run --sandbox

# ruff, then the layering contracts in pyproject.toml (docs/architecture.md, "Layers").
lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

test: lint
	$(BIN)/pytest -q

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,sandbox,bench]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-test

# Ack latency, memory, provisioning throughput and history growth (bench/README.md).
# PostgreSQL figures use BENCH_DATABASE_URL (BENCH_DATABASE_URL=none skips them).
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
