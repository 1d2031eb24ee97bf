"""Running nodes: `ledger init`, `start`, `devnet`, `single` and `run`."""
