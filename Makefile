# The two commands of the README: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.13: pyenv's shim (selected by .python-version) or any python3.13 on PATH.
PYTHON ?= $(shell command -v python3.13 2>/dev/null || command -v python3 2>/dev/null)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: help install system-deps run test lint format migrations-check deploy-check lock messages bench clean

help:
	@echo "make run    install, migrate, load demo data, start web server + task worker on http://$(HOST):$(PORT)"
	@echo "make test   the whole test suite (DATABASE_URL=postgres://... to run it on PostgreSQL)"
	@echo "make lint   ruff lint and format check, mypy on kyc/"
	@echo "make lock   re-resolve requirements.lock from pyproject.toml"

$(VENV)/.installed: requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 13) else "Python 3.13 is required (found " + sys.version.split()[0] + "): install it with pyenv, see .python-version")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r requirements.lock
	@touch $@

install: $(VENV)/.installed

run: install
	DEBUG=True $(PY) manage.py migrate --noinput
	DEBUG=True $(PY) manage.py seed_demo
	@echo "Starting the web server on http://$(HOST):$(PORT), the task worker and the sweeper; Ctrl-C stops them all."
	@DEBUG=True LOG_FORMAT=short KYC_DEV_ADDRESS=$(HOST):$(PORT) PYTHONUNBUFFERED=1 \
	  $(VENV)/bin/honcho --no-colour --env /dev/null start -f Procfile.dev; \
	  status=$$?; [ $$status = 130 ] || exit $$status  # 130: stopped by Ctrl-C, as asked

system-deps:
	@bash scripts/system-deps.sh test

test: install system-deps
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=True $(VENV)/bin/mypy kyc

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

migrations-check: install
	DEBUG=True $(PY) manage.py makemigrations --check --dry-run

messages: install
	DEBUG=True $(PY) manage.py makemessages -l fr --no-obsolete --ignore '.venv/*' --ignore 'tests/*' --ignore 'bench/*' --ignore 'var/*' --ignore 'artifacts/*'
	DEBUG=True $(PY) manage.py compilemessages -l fr --ignore '.venv/*'

lock:
	$(PYTHON) -m pip install --quiet uv
	$(PYTHON) -m uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.13 --quiet -o requirements.lock

bench: install
	$(PY) -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache
