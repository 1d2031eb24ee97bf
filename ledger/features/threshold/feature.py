"""The threshold key's entry in the registry: signing requests, ceremony
results, the governance's spends and reshares, scheduling ceremonies."""

from __future__ import annotations

from ledger.features.threshold.bodies import (
    ThresholdReshare,
    ThresholdResult,
    ThresholdSignMessage,
    ThresholdSignTransaction,
)
from ledger.features.threshold.ceremonies import (
    enable_at_genesis,
    request_reshare,
    request_sign_message,
    request_sign_transaction,
    schedule_threshold_ceremonies,
    submit_result,
)
from ledger.registry import BodyKind, Feature, sender_kind

FEATURE = Feature(
    name="threshold",
    body_kinds=(
        sender_kind(ThresholdSignMessage, request_sign_message),
        BodyKind(ThresholdSignTransaction, action=request_sign_transaction, governance_only=True),
        BodyKind(ThresholdReshare, action=request_reshare, governance_only=True),
        sender_kind(ThresholdResult, submit_result),
    ),
    end_block_steps=(("schedule_threshold_ceremonies", schedule_threshold_ceremonies),),
    genesis_steps=(("genesis_threshold_key", enable_at_genesis),),
)
