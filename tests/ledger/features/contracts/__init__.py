"""Tests of contracts in the ledger."""
