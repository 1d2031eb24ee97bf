"""What other features may use of the threshold feature: named key sets the
validators hold for them (ask for one, read it, retire it). See key_sets.py."""

from __future__ import annotations

from ledger.features.threshold.key_sets import (
    KeySet,
    get_key_set,
    max_keys_for,
    request_key_set,
    retire_key_set,
)

__all__ = ["KeySet", "get_key_set", "max_keys_for", "request_key_set", "retire_key_set"]
