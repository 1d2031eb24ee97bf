"""`ledger barter ...` and `ledger swap ...`: offers and two-party swaps."""
