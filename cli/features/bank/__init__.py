"""`ledger asset ...`, `ledger tx send` (assets and transfers) and `ledger bank ...`
(the validators' e-cash mint)."""
