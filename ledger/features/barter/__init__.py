"""Barter: escrowed offers on per-pair order books, takes, cancellation,
expiry, and two-party swaps."""
