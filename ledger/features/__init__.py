"""The chain's features: one folder per feature, each a few plain modules.

A feature holds its transaction body kinds and their codecs, its state
records, its execution functions, its end-of-block steps and its read-only
queries. It imports the core (ledger/*.py) and another feature only through
that feature's ``interface`` module. See docs/architecture.md.
"""
