"""The mint's keysets on chain: the first asked for at genesis, a new one on
rotation, each activated once the validators' DKG has made its keys, the
old one retiring (still redeemed) until its grace period ends, then expired
and its key set retired.

A keyset of epoch e lives in the threshold key set ``mint/<e>``: one key per
denomination 2^0 .. 2^max_exponent, reshared with the validator set, its
public keys (and so its NUT-02 id) unchanged for its whole life.
"""

from __future__ import annotations

from dataclasses import replace

from ledger.context import BlockContext, Outcome
from ledger.exceptions import AlreadyExists, UnknownRecord
from ledger.features.threshold.interface import get_key_set, request_key_set, retire_key_set
from ledger.features.validators.interface import validator_set_at
from ledger.genesis import Genesis
from ledger.state import State
from ledger.threshold.group import decode_element
from ledger.types import Event

from .bodies import MintRotateKeyset
from .config import MintConfig, config_from_value, get_config, set_config
from .keysets import Keyset
from .records import (
    KEYSET_ACTIVE,
    KEYSET_EXPIRED,
    KEYSET_PENDING,
    KEYSET_RETIRING,
    PENDING_LOCKS_KEY,
    RECHECK_LOCKS_KEY,
    ChainKeyset,
    add_recheck,
    all_keysets,
    get_lock,
    get_meta,
    get_pending,
    mint_event,
    set_keyset,
    set_meta,
)


def key_set_name(epoch: int) -> str:
    return f"mint/{epoch}"


def require_config(state: State) -> MintConfig:
    config = get_config(state)
    if config is None:
        raise UnknownRecord("this chain has no mint")
    return config


def _open_keyset(state: State, config: MintConfig, height: int, members: int) -> ChainKeyset:
    _, newest = get_meta(state)
    epoch = newest + 1
    keyset = ChainKeyset(epoch, KEYSET_PENDING, key_set_name(epoch), "", (), height)
    request_key_set(state, keyset.key_set, config.key_count, members)
    set_keyset(state, keyset)
    active, _ = get_meta(state)
    set_meta(state, active, epoch)
    return keyset


def genesis_mint(state: State, genesis: Genesis) -> None:
    """Genesis step: store the settings and ask for the first keyset."""
    section = genesis.section("mint")
    if section is None:
        return
    config = config_from_value(section)
    set_config(state, config)
    _open_keyset(state, config, 0, len(genesis.validators))


def rotate_keyset(state: State, actor: bytes, body: MintRotateKeyset, ctx: BlockContext) -> Outcome:
    """Governance action: ask for a new keyset. Raises AlreadyExists while
    one is still being made, UnknownRecord on a chain without a mint."""
    config = require_config(state)
    if any(k.status == KEYSET_PENDING for k in all_keysets(state)):
        raise AlreadyExists("a keyset is already being made")
    members = len(validator_set_at(state, ctx.height + 1))
    keyset = _open_keyset(state, config, ctx.height, members)
    return Outcome(events=(mint_event("mint_keyset_requested", (("epoch", keyset.epoch),)),))


def keyset_of(config: MintConfig, public_keys: tuple[bytes, ...]) -> Keyset:
    """The NUT-02 keyset of these public keys (denomination 2^i for key i)."""
    keys = tuple((1 << i, decode_element(key)) for i, key in enumerate(public_keys))
    return Keyset(config.unit, keys)


def update_mint_keysets(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """End-of-block step: activate a keyset whose keys now exist (the previous
    active one starts retiring); expire retiring keysets past their grace."""
    config = get_config(state)
    if config is None:
        return ()
    events: list[Event] = []
    for keyset in all_keysets(state):
        if keyset.status == KEYSET_PENDING:
            held = get_key_set(state, keyset.key_set)
            if held is None:
                continue
            keyset_id = keyset_of(config, held.public_keys).id
            active, newest = get_meta(state)
            previous = next((k for k in all_keysets(state) if k.epoch == active), None)
            if previous is not None and previous.status == KEYSET_ACTIVE:
                expiry = ctx.height + config.keyset_grace_blocks
                set_keyset(state, replace(previous, status=KEYSET_RETIRING, expires_at=expiry))
            activated = replace(
                keyset,
                status=KEYSET_ACTIVE,
                keyset_id=keyset_id,
                public_keys=held.public_keys,
                holders_epoch=held.epoch,
            )
            set_keyset(state, activated)
            set_meta(state, keyset.epoch, newest)
            attributes = (("epoch", keyset.epoch), ("keyset_id", keyset_id))
            events.append(mint_event("mint_keyset_activated", attributes))
        elif keyset.status == KEYSET_RETIRING and keyset.expires_at <= ctx.height:
            set_keyset(state, replace(keyset, status=KEYSET_EXPIRED))
            retire_key_set(state, keyset.key_set)
            # Its notes locked but not yet evaluated can never be: release them.
            locks = (get_lock(state, y) for y in get_pending(state, PENDING_LOCKS_KEY))
            stuck = [lock.y for lock in locks if lock and lock.keyset_epoch == keyset.epoch]
            add_recheck(state, RECHECK_LOCKS_KEY, stuck)
            events.append(mint_event("mint_keyset_expired", (("epoch", keyset.epoch),)))
    return tuple(events)
