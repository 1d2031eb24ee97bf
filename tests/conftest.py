"""Shared test set-up: the Hypothesis profile (tests/hypothesis_profiles.py:
``ci`` unless $HYPOTHESIS_PROFILE names another), and where the external
vectors live."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.hypothesis_profiles import load_profile

HYPOTHESIS_PROFILE = load_profile()  # before any test module builds its settings
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


def pytest_report_header() -> str:
    return f"hypothesis profile: {HYPOTHESIS_PROFILE} (tests/hypothesis_profiles.py)"
