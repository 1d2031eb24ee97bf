"""The validators' entry in the registry: validator changes (a governance
action), the schedule's pruning, the genesis validator set."""

from __future__ import annotations

from ledger.features.validators.bodies import UpdateValidator
from ledger.features.validators.rpc_json import validator_update_json
from ledger.features.validators.schedule import (
    prune_validator_schedule,
    update_validator,
    write_genesis_validators,
)
from ledger.registry import BodyKind, Feature

FEATURE = Feature(
    name="validators",
    body_kinds=(
        BodyKind(
            UpdateValidator,
            action=update_validator,
            governance_only=True,
            json=validator_update_json,
        ),
    ),
    end_block_steps=(("prune_validator_schedule", prune_validator_schedule),),
    genesis_steps=(("genesis_validators", write_genesis_validators),),
)
