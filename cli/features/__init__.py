"""The commands of the chain's features, one folder per feature like
ledger/features/: each builds its transactions with the client library and
shows its queries."""
