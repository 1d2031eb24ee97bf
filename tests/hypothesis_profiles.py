"""Hypothesis profiles for the property tests, and the example counts they scale.

- ``ci`` (the default, what ``make test`` runs): derandomized, so every run
  tries the same examples and a failure replays exactly; an explicit 5 s
  deadline per example for the tests that set none (the 200 ms default
  fails on a loaded 2-core machine without any bug); the health check on
  slow data generation off (a timing verdict); no example database.
- ``nightly``: random examples, ten times as many (``examples``), the
  deadline off, failures saved in the local example database
  (``.hypothesis/``) and printed as reproduction blobs. For long local or
  scheduled runs::

      HYPOTHESIS_PROFILE=nightly .venv/bin/python -m pytest -n 2 -q tests

- ``dev``: random examples at the CI counts, with the example database: a
  quick way to look past the CI's fixed examples.

tests/conftest.py loads the profile named by $HYPOTHESIS_PROFILE (default
``ci``) before any test module is imported, so the decorators see it.
A test states its count as ``settings(max_examples=examples(25))``: the
count CI runs, scaled by the loaded profile.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Final

from hypothesis import HealthCheck, settings

PROFILES: Final = ("ci", "dev", "nightly")
DEFAULT_PROFILE: Final = "ci"
EXAMPLE_FACTOR: Final = {"ci": 1, "dev": 1, "nightly": 10}
DEADLINE: Final = timedelta(seconds=5)


def register_profiles() -> None:
    settings.register_profile(
        "ci",
        derandomize=True,
        database=None,
        deadline=DEADLINE,
        suppress_health_check=[HealthCheck.too_slow],
        print_blob=True,
    )
    settings.register_profile(
        "dev",
        deadline=DEADLINE,
        suppress_health_check=[HealthCheck.too_slow],
        print_blob=True,
    )
    settings.register_profile(
        "nightly",
        max_examples=100 * EXAMPLE_FACTOR["nightly"],  # for the tests that name no count
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        print_blob=True,
    )


def selected_profile() -> str:
    """The profile $HYPOTHESIS_PROFILE names (default ``ci``). Raises
    ValueError for an unknown name, rather than testing less than asked."""
    name = os.environ.get("HYPOTHESIS_PROFILE", DEFAULT_PROFILE)
    if name not in PROFILES:
        raise ValueError(f"HYPOTHESIS_PROFILE={name!r}: choose one of {', '.join(PROFILES)}")
    return name


def load_profile() -> str:
    """Register the profiles and load the selected one; its name."""
    register_profiles()
    name = selected_profile()
    settings.load_profile(name)
    return name


def examples(count: int) -> int:
    """``count`` examples (what CI runs) scaled by the loaded profile."""
    return count * EXAMPLE_FACTOR[selected_profile()]
