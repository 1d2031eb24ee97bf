"""The registry: the installed rule book is exactly the chain's (a change here
is a hard fork and must be deliberate), and features that do not fit
together are refused when installed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import pytest

from ledger.context import BlockContext, Delivery, Outcome
from ledger.registry import RULES, BodyKind, Feature, RegistryError, Rules, sender_kind
from ledger.state import State
from ledger.types import Event

KINDS = {
    1: "transfer",
    2: "record_evidence",
    10: "deploy",
    11: "call",
    12: "fund",
    13: "pay_call",
    20: "asset_issue",
    21: "asset_mint",
    22: "asset_burn",
    23: "barter_offer",
    24: "barter_take",
    25: "barter_take_best",
    26: "barter_cancel",
    27: "swap",
    28: "policy_create",
    29: "policy_propose",
    30: "policy_approve",
    31: "policy_update",
    32: "validator_update",
    40: "threshold_sign_message",
    41: "threshold_sign_transaction",
    42: "threshold_reshare",
    43: "threshold_result",
    60: "mint_deposit",
    61: "mint_redeem_commit",
    62: "mint_redeem_reveal",
    63: "mint_rotate_keyset",
    64: "mint_commit",
    65: "mint_respond",
    66: "mint_evaluate",
    70: "mail_shuffle",
    71: "mail_decrypt",
}


def test_the_installed_kinds_are_the_chains() -> None:
    assert {tag: kind.body.NAME for tag, kind in RULES.kinds.items()} == KINDS
    assert all(tag == kind.body.KIND for tag, kind in RULES.kinds.items())
    assert sorted(RULES.decoders) == sorted(KINDS)
    not_transactions = {31, 32, 41, 42, 63}  # only ever a policy's action
    assert sorted(RULES.executors) == sorted(set(KINDS) - not_transactions)
    assert sorted(RULES.actions) == [1, 20, 21, 22, 23, 24, 25, 26, 27, 31, 32, 41, 42, 63]
    assert sorted(RULES.governance_actions) == [32, 41, 42, 63]
    assert sorted(RULES.fast_decoders) == [1]


def test_the_installed_steps_run_in_the_chains_order() -> None:
    assert [name for name, _ in RULES.end_block_steps] == [
        "expire_offers",
        "expire_proposals",
        "mint_validator_credits",
        "run_scheduled_contracts",
        "charge_rent",
        "record_membership_changes",
        "prune_validator_schedule",
        "update_mint_keysets",
        "advance_mint_issues",
        "settle_mint_redemptions",
        "advance_mail_batches",
        "expire_mail",
        "schedule_threshold_ceremonies",
    ]
    assert [name for name, _ in RULES.genesis_steps] == [
        "genesis_validators",
        "genesis_policies",
        "genesis_balances",
        "genesis_threshold_key",
        "genesis_mint",
        "genesis_mail",
    ]
    assert sorted(RULES.genesis_sections) == ["mail", "mint", "policies"]


@dataclass(frozen=True, slots=True)
class Ping:
    KIND: ClassVar[int] = 200
    NAME: ClassVar[str] = "ping"

    def to_fields(self) -> tuple[Any, ...]:
        return ()

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> Ping:
        return cls()


def pong(state: State, actor: bytes, body: Any, ctx: BlockContext) -> Outcome:
    return Outcome()


def tick(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    return ()


def install(*features: Feature, order: tuple[str, ...] = ()) -> Rules:
    rules = Rules()
    rules.install(features, order, ())
    return rules


def test_a_feature_installs_its_kinds_and_steps() -> None:
    rules = install(
        Feature("ping", (sender_kind(Ping, pong, policy_action=True),), (("tick", tick),)),
        order=("tick",),
    )
    assert rules.decoders[200](()) == Ping()
    assert rules.actions[200] is pong
    assert 200 in rules.executors and not rules.governance_actions
    assert rules.end_block_steps == (("tick", tick),)


def test_invalid_a_system_address_registered_twice() -> None:
    def handler(state: State, ctx: BlockContext, delivery: Delivery) -> Outcome:
        return Outcome()

    address = b"\x01" * 20
    with pytest.raises(RegistryError, match="system address"):
        install(
            Feature("a", system_addresses=((address, handler),)),
            Feature("b", system_addresses=((address, handler),)),
        )


def test_invalid_a_tag_registered_twice() -> None:
    with pytest.raises(RegistryError, match="kind 200"):
        install(Feature("a", (BodyKind(Ping),)), Feature("b", (BodyKind(Ping),)))


def test_invalid_a_step_left_out_of_the_order() -> None:
    with pytest.raises(RegistryError, match="not ordered"):
        install(Feature("a", end_block_steps=(("tick", tick),)))


def test_invalid_an_order_naming_an_unknown_step() -> None:
    with pytest.raises(RegistryError, match="not registered"):
        install(Feature("a"), order=("tick",))


def test_invalid_a_step_name_registered_twice() -> None:
    with pytest.raises(RegistryError, match="'tick'"):
        install(
            Feature("a", end_block_steps=(("tick", tick),)),
            Feature("b", end_block_steps=(("tick", tick),)),
            order=("tick",),
        )


def test_invalid_governance_only_without_an_action() -> None:
    with pytest.raises(RegistryError, match="governance_only"):
        install(Feature("a", (BodyKind(Ping, governance_only=True),)))


def test_invalid_installing_twice() -> None:
    rules = install(Feature("a"))
    with pytest.raises(RegistryError, match="already"):
        rules.install((Feature("a"),), (), ())
    with pytest.raises(RegistryError, match="already"):
        RULES.install(RULES.features, (), ())
