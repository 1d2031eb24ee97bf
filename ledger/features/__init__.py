"""Chain features, one folder each (see docs/spec and DESIGN: ledger/features/<name>/)."""
