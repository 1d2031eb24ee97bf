"""Tests for the cryptography of the verifiable mix (ledger.features.mail)."""
