"""`ledger contract ...`: deploy, call, fund and inspect contracts."""
