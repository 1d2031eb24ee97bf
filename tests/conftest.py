"""Shared test fixtures: where the external vectors live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def shared_vectors_dir() -> Path:
    """../shared/vectors beside the project root, or $LEDGER_SHARED_DIR/vectors."""
    candidates = [PROJECT_ROOT.parent / "shared" / "vectors"]
    if "LEDGER_SHARED_DIR" in os.environ:
        candidates.insert(0, Path(os.environ["LEDGER_SHARED_DIR"]) / "vectors")
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"external vectors not found in any of {[str(c) for c in candidates]}; "
        "clone shared/ beside the project or set LEDGER_SHARED_DIR"
    )


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    return shared_vectors_dir()
