"""`ledger threshold ...`: the validators' threshold key."""
