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
from ledger.features.bank.rpc_json import burn_json, issue_json, mint_json, transfer_json
from ledger.registry import Feature, sender_kind

FEATURE = Feature(
    name="bank",
    body_kinds=(
        sender_kind(
            Transfer,
            transfer_asset,
            policy_action=True,
            json=transfer_json,
            decode_fast=decode_transfer_fast,
        ),
        sender_kind(IssueAsset, issue_asset, policy_action=True, json=issue_json),
        sender_kind(MintAsset, mint_asset, policy_action=True, json=mint_json),
        sender_kind(BurnAsset, burn_asset, policy_action=True, json=burn_json),
    ),
    end_block_steps=(("mint_validator_credits", mint_validator_credits),),
    genesis_steps=(("genesis_balances", write_genesis_balances),),
)
