# The two commands of the README. Each sets up the virtual environment first (once per
# change of pyproject.toml), so a fresh clone needs nothing but Python 3.11+ and make (and, for
# the tests, Node.js with npm: the Solid client test's packages are installed the same way).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
# The Node packages of the Solid client test (tests/pod/test_pod_solid_client.py), once per change.
SOLID_CLIENT := tests/solid_client
NODE_STAMP := $(SOLID_CLIENT)/node_modules/.installed
# The browser libraries the pages serve (kernel/web_assets.py), from web/package-lock.json, once per change.
WEB_STAMP := web/node_modules/.installed
# The browser the browser tests drive (Debian's chromium, with CJK fonts for the super-app's Chinese labels).
CHROMIUM ?= /usr/bin/chromium

.PHONY: up test lint setup browser wrk benchmark fuzz

up: $(STAMP) $(WEB_STAMP)
	$(BIN)/citygate up

# Two workers: the machines here have 2 cores; tests marked `processes` share one (tests/conftest.py).
test: $(STAMP) $(NODE_STAMP) $(WEB_STAMP) browser
	$(BIN)/python -m pytest -n 2 --dist loadgroup

# The guard rails (docs/architecture.md): lint and format, types, the layering contracts, and every
# service's migrations agreeing with its models.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/citygate migrate --check

setup: $(STAMP) $(WEB_STAMP)

# Debian's chromium and fonts-noto-cjk for the browser tests, installed with apt when missing (as root,
# or through sudo).
browser:
	@if [ -x $(CHROMIUM) ] && fc-list :lang=zh 2>/dev/null | grep -q .; then :; else \
	  echo "installing Debian's chromium and fonts-noto-cjk for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-noto-cjk; \
	fi

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "citygate needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,lint]'
	rm -f $(VENV)/.installed-*
	touch $@

$(WEB_STAMP): web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "citygate's pages need Node.js with npm (Debian: apt-get install nodejs npm)"; exit 1; }
	cd web && npm ci --no-audit --no-fund
	touch $@

$(NODE_STAMP): $(SOLID_CLIENT)/package.json $(SOLID_CLIENT)/package-lock.json
	cd $(SOLID_CLIENT) && npm ci --no-audit --no-fund
	touch $@

# wrk, the load generator the benchmarks use where installed (Debian's package, with apt when missing)
wrk:
	@command -v wrk >/dev/null || { \
	  echo "installing Debian's wrk for the benchmarks"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq wrk; \
	}

benchmark: $(STAMP) wrk
	$(BIN)/python benchmarks/journeys.py
	$(BIN)/python benchmarks/proxy_hop.py
	$(BIN)/python benchmarks/skeleton_path.py
	$(BIN)/python benchmarks/ledger.py
	$(BIN)/python benchmarks/consent_decisions.py
	$(BIN)/python benchmarks/pod.py
	$(BIN)/python benchmarks/courier.py

# Schemathesis against every service of both regimes, with each credential kind (tests/fixtures/fuzzing.py):
# all phases, a fixed seed; prints cases, requests, 5xx and distinct failures per service, fails on a
# 5xx. FUZZ_CASES is the examples per operation and phase (the coverage phase adds its own).
FUZZ_CASES ?= 25
FUZZ_SEED ?= 1
FUZZ_PHASES ?= examples,coverage,fuzzing,stateful
FUZZ_ARGS ?=  # e.g. --backend postgresql, --regime rights, --service fines
fuzz: $(STAMP)
	$(BIN)/python -m tests.fixtures.fuzzing --cases $(FUZZ_CASES) --seed $(FUZZ_SEED) --phases $(FUZZ_PHASES) $(FUZZ_ARGS)
