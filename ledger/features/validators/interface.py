"""What other features (and the node) may use of the validators feature: the
validator set in force at a height, as executed blocks see it
(``validator_set_at``, during a block) and as the node reads it from committed
state (``validator_set_for_height``); and whether an address was a member at
a past height, with its key (``member_key_at``, for evidence)."""

from __future__ import annotations

from ledger.features.validators.schedule import (
    MEMBERSHIP_HISTORY_BLOCKS,
    Validator,
    ValidatorSet,
    member_key_at,
    validator_set_at,
    validator_set_for_height,
)

__all__ = [
    "MEMBERSHIP_HISTORY_BLOCKS",
    "Validator",
    "ValidatorSet",
    "member_key_at",
    "validator_set_at",
    "validator_set_for_height",
]
