# One-command set-up: `make run` serves the local stage, `make test` runs everything CI runs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PORT ?= 8000
STAGE ?= prod
REGION ?= ap-southeast-1

.PHONY: run test lint bench fuzz package clean

# (Re)install when the venv is missing or a requirements file changed.
$(INSTALLED): requirements.txt requirements-dev.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(INSTALLED)

run: $(INSTALLED)
	PORT=$(PORT) $(PY) -m localstage.server

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PY) -m pytest -q -n 2

bench: $(INSTALLED)
	$(PY) -m tools.bench

fuzz: $(INSTALLED)
	$(PY) -m tools.fuzz

# CloudFormation for a real account: build/$(STAGE)/sam.yaml and the Lambda zip beside it, which
# tools/package.py rewrites without what the app never loads (see docs/deploy.md).
package: $(INSTALLED)
	rm -rf build/$(STAGE)
	$(PY) -m tools.package --stage $(STAGE) --region $(REGION) build/$(STAGE)

clean:
	rm -rf build .pytest_cache .ruff_cache
