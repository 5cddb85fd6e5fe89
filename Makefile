# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SYSDEPS_STAMP := var/.sysdeps-stamp
SEED := seeds/events_2023.json
HOST ?= 127.0.0.1
PORT ?= 8000
# Debian packages the test suite needs (headless Chromium for browser tests, CJK fonts for screenshots).
DEBIAN_PACKAGES := chromium fonts-noto-cjk notmuch
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test test-pg lint install lock sysdeps mutate clean

# Every runtime and dev dependency (ruff, mypy, pytest, mutmut, uv ...) is pinned in requirements.lock; the
# project itself is installed on top without resolving anything again.
$(STAMP): pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "需要 Python 3.11 或更高版本 / Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

install: $(STAMP)

# Re-resolve requirements.lock after a change to the dependencies in pyproject.toml. Versions already in the lock
# are kept when they still fit; `make lock UPGRADE=1` moves everything to the newest allowed release.
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --quiet \
	  --custom-compile-command "make lock" $(if $(UPGRADE),--upgrade) -o requirements.lock

sysdeps: $(SYSDEPS_STAMP)

$(SYSDEPS_STAMP):
	@missing=""; for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-upgrade $$missing; \
	fi
	mkdir -p var && touch $@

# The demo: the 2023 plan on a simulated clock from the notice date at 3600× (an hour per real second, a
# simulated week in under 3 minutes), example contacts, and a local SMTP sink whose mail shows at /mail.
# Links in the mail point at this server (BASE_URL follows HOST and PORT). The demo's /mail is readable without
# sign-in (SCHEDULER_MAILBOX_PUBLIC); anywhere else it needs an administrator.
DEMO_CLOCK ?= simulated:2023-01-22@3600
CONTACTS ?= seeds/contacts.example.toml
run: export SCHEDULER_BASE_URL ?= http://$(HOST):$(PORT)
run: export SCHEDULER_CLOCK ?= $(DEMO_CLOCK)
run: export SCHEDULER_CONTACTS_FILE ?= $(CONTACTS)
run: export SCHEDULER_MAIL_SINK ?= true
run: export SCHEDULER_MAILBOX_PUBLIC ?= true
run: $(STAMP)
	$(BIN)/scheduler db upgrade
	$(BIN)/scheduler plan import $(SEED)
	$(BIN)/scheduler goals import seeds/goals_2025.toml
	$(BIN)/scheduler contacts import
	$(BIN)/scheduler serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check scheduler tests migrations/env.py $(wildcard bench)
	$(BIN)/mypy

test: $(STAMP) sysdeps lint
	$(BIN)/pytest

# The database half of the suite against PostgreSQL (127.0.0.1:5432, database `test`).
test-pg: $(STAMP)
	$(BIN)/pytest --db postgresql

# Mutation testing of the pure modules, each against its mirror tests only; prints the score per module and
# fails below MUTATE_MIN (default 90 %). Bounded: MUTATE_TIMEOUT seconds per module (default 900).
mutate: $(STAMP)
	$(BIN)/python tests/mutate.py $(MODULES)

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
