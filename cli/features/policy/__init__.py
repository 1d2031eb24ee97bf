"""`ledger policy ...`: k-of-n policy accounts and governance."""
