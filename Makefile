# One-command set-up: `make run` serves the local stage, `make test` runs everything CI runs.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PORT ?= 8000
STAGE ?= prod
REGION ?= ap-southeast-1

# The npm tools that check the OpenAPI document: Redocly, Spectral, openapi-typescript, tsc
# (versions pinned in tools/openapi/package.json and its lock file; `npm ci` installs exactly those).
NODE_TOOLS := tools/openapi/node_modules/.installed

# The browser the web pages are tested in: Debian's chromium (Playwright drives it; it cannot
# download its own browsers here), with CJK fonts so that Chinese text renders in screenshots.
BROWSER := /usr/bin/chromium
CJK_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

.PHONY: run test lint bench fuzz package clean openapi-tools browser

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

$(NODE_TOOLS): tools/openapi/package.json tools/openapi/package-lock.json
	npm ci --prefix tools/openapi --no-audit --no-fund --loglevel=error
	@touch $(NODE_TOOLS)

openapi-tools: $(INSTALLED) $(NODE_TOOLS)

$(BROWSER) $(CJK_FONT) &:
	$$(command -v sudo) apt-get update -qq
	$$(command -v sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk

browser: $(BROWSER) $(CJK_FONT)

test: lint openapi-tools browser
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
	rm -rf build .pytest_cache .ruff_cache tools/openapi/node_modules
