"""Tests for the ledger package."""
