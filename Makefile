# Two entry points for a fresh machine (see README): `make devnet` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: install devnet run test test-netfault test-mint-devnet test-state-sync clean

$(STAMP): pyproject.toml
	@echo "==> creating the virtualenv $(VENV) with $(PYTHON)"
	@$(PYTHON) -m venv $(VENV)
	@echo "==> upgrading pip in $(VENV)"
	@$(PY) -m pip install --quiet --upgrade pip
	@echo "==> installing ledger-node (editable) and its test tools into $(VENV); this takes a minute"
	@$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)
	@echo "==> installed: $(VENV)/bin/ledger ($$($(VENV)/bin/ledger --version))"

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
	HYPOTHESIS_PROFILE=ci $(PY) -m pytest -n 2 -q

# The slow testnet over a faulty network (docs/guide/testing.md): about 90 s
# on an idle machine; .ci/run runs it after `make test`.
test-netfault: $(STAMP)
	LEDGER_NETFAULT=1 $(PY) -m pytest -p no:xdist -m slow -q -s tests/process/test_faulty_devnet.py

# The mint on real validator processes (Nutshell checking the proofs, a deposit
# killed mid-wait, a holder killed between rounds, a validator-set change):
# marked slow, under a minute on an idle machine; .ci/run runs it.
test-mint-devnet: $(STAMP) $(NUTSHELL_STAMP)
	$(PY) -m pytest -p no:xdist -m slow -q tests/process/test_mint_devnet.py

# State sync on real processes (issue 18 §2): four validators run to height
# 2,000, a fifth joins from a snapshot and validates; marked slow, about
# 2.5 minutes on an idle 2-core machine (most of it the chain's 2,000 heights).
test-state-sync: $(STAMP)
	$(PY) -m pytest -p no:xdist -m slow -q -s tests/process/test_state_sync_devnet.py

clean:
	rm -rf $(VENV) $(NUTSHELL_VENV) .devnet .pytest_cache .mypy_cache .ruff_cache
