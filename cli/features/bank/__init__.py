"""`ledger asset ...` and `ledger tx send`: assets and transfers."""
