"""Assets: the registry of asset ids, issuance, mint and burn, and validator credits.

Every asset has a record ``A || asset id`` holding its issuer, decimals,
maximum supply and current supply (docs/spec/assets.md). Genesis registers
the native coin, the resource credits ``cpu``, ``disk`` and ``net`` and every
asset a genesis balance names, with the protocol as issuer (empty bytes).
Anyone may register a free id (first come, first served) and becomes its
issuer; ids are never released, so a user asset can never take the name of
a native one.

The supply changes only by these documented rules:

- ``asset_mint`` by the issuer, up to the maximum supply;
- ``asset_burn`` by the issuer, from its own balance;
- ``mint_validator_credits`` at the end of every block (protocol credits).

Everything else (transfers, fees, escrow, swaps) moves value without
creating or destroying it, so for every asset: the sum of all balances plus
all barter escrow equals the recorded supply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ledger import codec
from ledger.context import BlockContext, Outcome
from ledger.exceptions import (
    AlreadyExists,
    InsufficientFunds,
    LimitExceeded,
    NotAuthorized,
    UnknownRecord,
)
from ledger.features.bank.bodies import BurnAsset, IssueAsset, MintAsset, Transfer
from ledger.features.validators.interface import validator_set_at
from ledger.fields import MAX_AMOUNT, NATIVE_ASSET, check_uint, ensure
from ledger.genesis import Genesis
from ledger.state import State, StateReader
from ledger.types import Event

ASSET_PREFIX: Final = b"A"
PROTOCOL_ISSUER: Final = b""  # no key: only the documented protocol rules mint
RESOURCE_CREDITS: Final = ("cpu", "disk", "net")
NATIVE_DECIMALS: Final = {NATIVE_ASSET: 18, "cpu": 0, "disk": 0, "net": 0}


@dataclass(frozen=True, slots=True)
class AssetInfo:
    """An asset's registry record. ``decimals`` is display metadata only."""

    asset: str
    issuer: bytes  # 20-byte address, or b"" for protocol assets
    decimals: int
    max_supply: int
    supply: int

    def to_value(self) -> tuple[Any, ...]:
        return (self.issuer, self.decimals, self.max_supply, self.supply)


def asset_key(asset: str) -> bytes:
    return ASSET_PREFIX + asset.encode()


def decode_asset_info(asset: str, data: bytes) -> AssetInfo:
    value = codec.decode(data)
    ensure(isinstance(value, tuple) and len(value) == 4, "asset record has 4 fields")
    issuer, decimals, max_supply, supply = value
    ensure(isinstance(issuer, bytes) and len(issuer) in (0, 20), "asset issuer")
    ensure(type(supply) is int and supply >= 0, "asset supply")
    return AssetInfo(
        asset,
        issuer,
        check_uint(decimals, "decimals"),
        check_uint(max_supply, "max_supply", MAX_AMOUNT),
        supply,
    )


def get_asset(state: State, asset: str) -> AssetInfo | None:
    raw = state.get_raw(asset_key(asset))
    return decode_asset_info(asset, raw) if raw is not None else None


def set_asset(state: State, info: AssetInfo) -> None:
    state.set_raw(asset_key(info.asset), codec.encode(info.to_value()))


def require_asset(state: State, asset: str) -> AssetInfo:
    """The asset's record. Raises UnknownRecord."""
    info = get_asset(state, asset)
    if info is None:
        raise UnknownRecord(f"no asset {asset!r}")
    return info


def require_issuer(state: State, actor: bytes, asset: str) -> AssetInfo:
    """The asset's record if ``actor`` issued it. Raises UnknownRecord, NotAuthorized."""
    info = require_asset(state, asset)
    if info.issuer != actor:
        raise NotAuthorized(f"only the issuer may mint or burn {asset!r}")
    return info


def register_protocol_asset(state: State, asset: str, supply: int) -> None:
    """Genesis: record a native or genesis-allocated asset with its initial supply."""
    decimals = NATIVE_DECIMALS.get(asset, 0)
    set_asset(state, AssetInfo(asset, PROTOCOL_ISSUER, decimals, MAX_AMOUNT, supply))


# -- actions -------------------------------------------------------------------


def write_genesis_balances(state: State, genesis: Genesis) -> None:
    """Genesis step: the balances of the document's accounts and policies, and
    the protocol assets (the coin, the credits and every asset a balance
    names) with their supplies."""
    holdings = [(a.address, a.balances) for a in genesis.accounts]
    holdings += [(p.address, p.balances) for p in genesis.policies]
    supplies = dict.fromkeys((NATIVE_ASSET, *RESOURCE_CREDITS), 0)
    for address, balances in holdings:
        current = state.get_account(address)
        for asset, amount in balances:
            current = current.with_balance(asset, amount)
            supplies[asset] = supplies.get(asset, 0) + amount
        state.set_account(address, current)
    for asset in sorted(supplies):
        register_protocol_asset(state, asset, supplies[asset])


def issue_asset(state: State, actor: bytes, body: IssueAsset, ctx: BlockContext) -> Outcome:
    """Register ``body.asset`` with ``actor`` as issuer and zero supply."""
    if get_asset(state, body.asset) is not None:
        raise AlreadyExists(f"asset id {body.asset!r} is taken")
    set_asset(state, AssetInfo(body.asset, actor, body.decimals, body.max_supply, 0))
    attributes = (
        ("asset", body.asset),
        ("decimals", body.decimals),
        ("issuer", actor),
        ("max_supply", body.max_supply),
    )
    return Outcome(events=(Event("asset_issue", attributes),))


def mint_asset(state: State, actor: bytes, body: MintAsset, ctx: BlockContext) -> Outcome:
    """The issuer creates ``body.amount`` for ``body.recipient``, up to the maximum supply."""
    info = require_issuer(state, actor, body.asset)
    if info.supply + body.amount > info.max_supply:
        raise LimitExceeded(f"minting {body.amount} would exceed the maximum supply")
    set_asset(state, replace_supply(info, info.supply + body.amount))
    state.add_balance(body.recipient, body.asset, body.amount)
    return Outcome(events=(mint_event(body.asset, body.amount, body.recipient),))


def burn_asset(state: State, actor: bytes, body: BurnAsset, ctx: BlockContext) -> Outcome:
    """The issuer destroys ``body.amount`` of its own balance."""
    info = require_issuer(state, actor, body.asset)
    if state.get_account(actor).balance(body.asset) < body.amount:
        raise InsufficientFunds(f"balance of {body.asset} is below {body.amount}")
    state.sub_balance(actor, body.asset, body.amount)
    set_asset(state, replace_supply(info, info.supply - body.amount))
    attributes = (("amount", body.amount), ("asset", body.asset), ("from", actor))
    return Outcome(events=(Event("burn", attributes),))


def transfer_asset(state: State, actor: bytes, body: Transfer, ctx: BlockContext) -> Outcome:
    """Move ``body.amount`` of ``body.asset`` from ``actor`` to ``body.recipient``
    (a transfer transaction, or a policy account's approved transfer)."""
    account = state.get_account(actor)
    balance = account.balance(body.asset)
    if balance < body.amount:
        raise InsufficientFunds(f"balance of {body.asset} is below {body.amount}")
    assert body.amount >= 0
    state.set_account(actor, account.with_balance(body.asset, balance - body.amount))  # debit
    state.add_balance(body.recipient, body.asset, body.amount)
    attributes = (
        ("amount", body.amount),
        ("asset", body.asset),
        ("from", actor),
        ("to", body.recipient),
    )
    return Outcome(events=(Event("transfer", attributes),))


def record_burn(state: State, asset: str, amount: int) -> None:
    """Lower a registered asset's recorded supply by ``amount`` destroyed
    elsewhere (credits contracts spend: ledger.features.contracts.credits.burn)."""
    info = get_asset(state, asset)
    if info is not None and amount:
        assert info.supply >= amount, f"burning more {asset} than its supply"
        set_asset(state, replace_supply(info, info.supply - amount))


def replace_supply(info: AssetInfo, supply: int) -> AssetInfo:
    return AssetInfo(info.asset, info.issuer, info.decimals, info.max_supply, supply)


def mint_event(asset: str, amount: int, recipient: bytes) -> Event:
    return Event("mint", (("amount", amount), ("asset", asset), ("to", recipient)))


# -- validator credits ---------------------------------------------------------


def split_by_power(amount: int, powers: list[int], height: int) -> list[int]:
    """Shares of ``amount`` in proportion to ``powers``: each gets
    ``amount * power // total``; the remainder r (< number of shares) goes one
    unit each to positions height, height+1, ..., height+r-1 (mod n), so it
    rotates with the height. The shares always sum to ``amount``."""
    total = sum(powers)
    assert total > 0 and all(p > 0 for p in powers)
    shares = [amount * power // total for power in powers]
    remainder = amount - sum(shares)
    for j in range(remainder):
        shares[(height + j) % len(shares)] += 1
    return shares


def mint_validator_credits(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """End-of-block step: mint the per-block cpu, disk and net credits
    (ctx.params) to the validators in force at this height, split by voting
    power (``split_by_power``; validators in address order). A credit's supply
    never exceeds 2^128-1: the amount is capped at the room left."""
    events: list[Event] = []
    validators = validator_set_at(state, ctx.height)
    for asset, per_block in ctx.params.credits_per_block():
        info = get_asset(state, asset)
        if per_block == 0 or info is None:
            continue
        amount = min(per_block, max(0, MAX_AMOUNT - info.supply))
        if amount == 0:
            continue
        shares = split_by_power(amount, [v.power for v in validators], ctx.height)
        for validator, share in zip(validators, shares, strict=True):
            if share:
                state.add_balance(validator.address, asset, share)
                events.append(mint_event(asset, share, validator.address))
        set_asset(state, replace_supply(info, info.supply + amount))
    return tuple(events)


# -- queries (for the RPC layer) -------------------------------------------------


def asset_info(reader: StateReader, asset: str) -> AssetInfo | None:
    """The registry record of ``asset`` in committed state, or None."""
    return get_asset(State(reader), asset)


def supply(reader: StateReader, asset: str) -> int:
    """The recorded supply of ``asset`` (0 for an unknown asset)."""
    info = asset_info(reader, asset)
    return info.supply if info is not None else 0
