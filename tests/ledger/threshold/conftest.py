"""Fixtures for the threshold-key tests: the shared vectors directory and
deterministic random sources."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ledger.threshold.group import RandomBytes

from .inprocess import seeded_rng

_PROJECT_ROOT = Path(__file__).resolve().parents[3]


def shared_vectors_dir() -> Path:
    """<project root>/../shared/vectors, else $LEDGER_SHARED_DIR/vectors.

    Fails loudly rather than skipping: these vectors are mandatory.
    """
    candidates = [_PROJECT_ROOT / ".." / "shared" / "vectors"]
    if "LEDGER_SHARED_DIR" in os.environ:
        candidates.append(Path(os.environ["LEDGER_SHARED_DIR"]) / "vectors")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    raise FileNotFoundError(
        f"shared vectors not found in {[str(c) for c in candidates]}; "
        "clone shared/ beside the project or set LEDGER_SHARED_DIR"
    )


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
