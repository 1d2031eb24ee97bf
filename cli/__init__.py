"""The `ledger` command-line interface (typer): keys, init, start, devnet,
transactions, queries, simulation and benchmarks.
"""
