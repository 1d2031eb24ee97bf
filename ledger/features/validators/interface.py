"""What other features (and the node) may use of the validators feature: the
validator set in force at a height, as executed blocks see it
(``validator_set_at``, during a block) and as the node reads it from committed
state (``validator_set_for_height``)."""

from __future__ import annotations

from ledger.features.validators.schedule import (
    Validator,
    ValidatorSet,
    validator_set_at,
    validator_set_for_height,
)

__all__ = ["Validator", "ValidatorSet", "validator_set_at", "validator_set_for_height"]
