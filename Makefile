# The two commands of the README. Each sets up the virtual environment first (once per
# change of pyproject.toml), so a fresh clone needs nothing but Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: up test setup benchmark

up: $(STAMP)
	$(BIN)/citygate up

test: $(STAMP)
	$(BIN)/python -m pytest

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "citygate needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

benchmark: $(STAMP)
	$(BIN)/python benchmarks/proxy_hop.py
	$(BIN)/python benchmarks/skeleton_path.py
	$(BIN)/python benchmarks/ledger.py
	$(BIN)/python benchmarks/consent_decisions.py
