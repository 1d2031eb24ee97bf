# Two entry points for a fresh machine (see README): `make devnet` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install devnet run test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Nutshell, for the mint's cross-checks, in a venv of its own (see pyproject.toml).
NUTSHELL_VENV := .venv-nutshell
NUTSHELL_STAMP := $(NUTSHELL_VENV)/.installed

$(NUTSHELL_STAMP): pyproject.toml
	$(PYTHON) -m venv $(NUTSHELL_VENV)
	$(NUTSHELL_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(NUTSHELL_VENV)/bin/python -m pip install --quiet -e '.[nutshell]'
	touch $(NUTSHELL_STAMP)

install: $(STAMP) $(NUTSHELL_STAMP)

devnet: $(STAMP)
	$(VENV)/bin/ledger devnet --validators 4 --home .devnet

run: $(STAMP)
	$(VENV)/bin/ledger run --home .devnet/local

test: $(STAMP) $(NUTSHELL_STAMP)
	$(PY) -m ruff check ledger consensus vm cli bench tests
	$(PY) -m mypy
	$(PY) -m pytest -n 2 -q


clean:
	rm -rf $(VENV) $(NUTSHELL_VENV) .devnet .pytest_cache .mypy_cache .ruff_cache
