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

install: $(STAMP)

devnet: $(STAMP)
	$(VENV)/bin/ledger devnet --validators 4 --home .devnet

run: $(STAMP)
	$(VENV)/bin/ledger run --home .devnet/local

test: $(STAMP)
	$(PY) -m ruff check ledger consensus vm cli bench tests
	$(PY) -m mypy
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest -n 2 -q


clean:
	rm -rf $(VENV) .devnet .pytest_cache .mypy_cache .ruff_cache
