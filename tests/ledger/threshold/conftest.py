"""Fixtures for the threshold-key tests: the shared vectors directory and
deterministic random sources."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger.threshold.group import RandomBytes
from tests.conftest import shared_vectors_dir

from .inprocess import seeded_rng


@pytest.fixture(scope="session")
def frost_vector() -> dict[str, Any]:
    """The RFC 9591 FROST(secp256k1, SHA-256) vector, unedited."""
    path = shared_vectors_dir() / "rfc9591-frost-secp256k1-sha256.json"
    with path.open() as f:
        data: dict[str, Any] = json.load(f)
    return data


@pytest.fixture
def rng() -> RandomBytes:
    """A fresh deterministic random source per test."""
    return seeded_rng(20240521)
