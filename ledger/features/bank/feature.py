"""The bank's entry in the registry: transfers and assets, validator credits, genesis balances."""

from __future__ import annotations

from ledger.features.bank.assets import (
    burn_asset,
    issue_asset,
    mint_asset,
    mint_validator_credits,
    transfer_asset,
    write_genesis_balances,
)
from ledger.features.bank.bodies import (
    BurnAsset,
    IssueAsset,
    MintAsset,
    Transfer,
    decode_transfer_fast,
)
from ledger.registry import BodyKind, Feature, by_sender, sender_kind

FEATURE = Feature(
    name="bank",
    body_kinds=(
        BodyKind(
            Transfer, by_sender(transfer_asset), transfer_asset, decode_fast=decode_transfer_fast
        ),
        sender_kind(IssueAsset, issue_asset, policy_action=True),
        sender_kind(MintAsset, mint_asset, policy_action=True),
        sender_kind(BurnAsset, burn_asset, policy_action=True),
    ),
    end_block_steps=(("mint_validator_credits", mint_validator_credits),),
    genesis_steps=(("genesis_balances", write_genesis_balances),),
)
