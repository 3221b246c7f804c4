# Two commands on a fresh machine with Python 3.11+ and make: `make run`, `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run sandbox check lock screenshots test lint bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet -e '.[test,sandbox]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-sandbox

# Reads .env when present, then starts the bot (SQLite by default).
run: $(VENV)/.installed
	@set -a; [ ! -f .env ] || . ./.env; set +a; exec $(BIN)/aws-access-bot run

# Is this installation ready? One line per check (the bot reads .env itself).
check: $(VENV)/.installed
	@exec $(BIN)/aws-access-bot check

# requirements.lock: every runtime dependency pinned (the Dockerfile installs from it).
# Rerun after changing [project] dependencies in pyproject.toml; a test checks they match.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet 'uv>=0.5'
	$(BIN)/python -m uv pip compile pyproject.toml --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu --generate-hashes --quiet -o requirements.lock

# The README's pictures: the credential page (docs/credential-page-*.png) and the Slack
# surfaces from the bot's real Block Kit (docs/screens/*.png), with headless Chromium.
# Slack's emoji need a colour emoji font (Debian: apt-get install fonts-noto-color-emoji).
screenshots: $(VENV)/.installed-test
	$(BIN)/python scripts/screenshots.py
	$(BIN)/python scripts/slack_screens.py

$(VENV)/.installed-sandbox: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
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

# Two pytest workers (pytest-xdist): much of the suite waits on servers and processes,
# so two share the 2-core dev machine well. TEST_JOBS=0 runs in one process.
TEST_JOBS ?= 2
test: lint
	$(BIN)/pytest -q -n $(TEST_JOBS)

$(VENV)/.installed-bench: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet -e '.[test,sandbox,bench]'
	touch $@ $(VENV)/.installed $(VENV)/.installed-test

# What people wait for (modal, message update, credentials DM), acks at 32 and 200
# clients, the form's ack with 10,000 IAM users, memory vs the floor, IAM calls,
# throughput and history growth: bench/README.md.
# PostgreSQL figures use BENCH_DATABASE_URL (BENCH_DATABASE_URL=none skips them).
bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
