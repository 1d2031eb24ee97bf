"""The mint's entry in the registry: deposits, redemptions and swaps, the
key holders' rounds, keyset rotation, and the end-of-block steps that
activate keysets, move signing rounds on, refund, and settle redemptions."""

from __future__ import annotations

from ledger.features.mint.bodies import (
    MintCommit,
    MintDeposit,
    MintEvaluate,
    MintRedeemCommit,
    MintRedeemReveal,
    MintRespond,
    MintRotateKeyset,
)
from ledger.features.mint.config import parse_genesis_mint
from ledger.features.mint.issue import (
    advance_mint_issues,
    deposit,
    submit_commitments,
    submit_responses,
)
from ledger.features.mint.keyset_lifecycle import genesis_mint, rotate_keyset, update_mint_keysets
from ledger.features.mint.redeem import (
    commit_redemption,
    reveal_redemption,
    settle_mint_redemptions,
    submit_evaluations,
)
from ledger.features.mint.rpc_json import (
    deposit_json,
    redeem_commit_json,
    redeem_reveal_json,
)
from ledger.registry import BodyKind, Feature, sender_kind

FEATURE = Feature(
    name="mint",
    body_kinds=(
        sender_kind(MintDeposit, deposit, json=deposit_json),
        sender_kind(MintRedeemCommit, commit_redemption, json=redeem_commit_json),
        sender_kind(MintRedeemReveal, reveal_redemption, json=redeem_reveal_json),
        BodyKind(MintRotateKeyset, action=rotate_keyset, governance_only=True),
        sender_kind(MintCommit, submit_commitments),
        sender_kind(MintRespond, submit_responses),
        sender_kind(MintEvaluate, submit_evaluations),
    ),
    end_block_steps=(
        ("update_mint_keysets", update_mint_keysets),
        ("advance_mint_issues", advance_mint_issues),
        ("settle_mint_redemptions", settle_mint_redemptions),
    ),
    genesis_steps=(("genesis_mint", genesis_mint),),
    genesis_sections=(("mint", parse_genesis_mint),),
)
