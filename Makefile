# Two entry points for a fresh machine (see README): `make devnet` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install devnet test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

devnet: $(STAMP)
	$(VENV)/bin/ledger devnet --validators 4 --home .devnet

test: $(STAMP)
	$(PY) -m ruff check ledger consensus vm cli bench tests
	$(PY) -m mypy
	$(PY) -m pytest -n 2 -q

bench: $(STAMP)
	$(PY) -m bench.all

clean:
	rm -rf $(VENV) .devnet .pytest_cache .mypy_cache .ruff_cache
