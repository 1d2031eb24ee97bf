"""Fixtures for the mint tests: the external Cashu vectors (unedited, from
../shared/vectors), the NUT-02 and token examples of the Cashu spec
(cashu_spec_vectors.json, transcribed with their source), and seeded
random sources."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.threshold.group import RandomBytes
from tests.conftest import shared_vectors_dir
from tests.ledger.threshold.inprocess import seeded_rng

SPEC_VECTORS = Path(__file__).with_name("cashu_spec_vectors.json")


@pytest.fixture(scope="session")
def cashu_vectors() -> dict[str, Any]:
    """cashu/nut00_nut12.json from the shared vectors."""
    with (shared_vectors_dir() / "cashu" / "nut00_nut12.json").open() as f:
        data: dict[str, Any] = json.load(f)
    return data


@pytest.fixture(scope="session")
def spec_vectors() -> dict[str, Any]:
    """Keyset ids and tokens from cashubtc/nuts tests/00-tests.md and 02-tests.md."""
    with SPEC_VECTORS.open() as f:
        data: dict[str, Any] = json.load(f)
    return data


@pytest.fixture
def rng() -> RandomBytes:
    """A fresh deterministic random source per test."""
    return seeded_rng(160016)
