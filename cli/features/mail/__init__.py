"""`ledger mail`: the anonymous mail commands."""
