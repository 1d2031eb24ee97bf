"""The validator set and its schedule: what the consensus engine reads.

A validator-set change executed in block H (a governance proposal, see
ledger.features.policy.accounts) takes effect at height H+2, so the node that has committed
block H already knows the sets for H+1 and H+2. State records:

    v  -> the newest scheduled set: [[public_key, power, name], ...] sorted by address
    V  -> the schedule: [[activation_height, set], ...], ascending heights

Genesis writes ``V = [[1, genesis set]]``. At the end of every block H the
schedule is pruned to the entry in force at H+1 plus any later ones, so it
holds at most two entries. The node calls ``validator_set_for_height(reader,
h)`` on the state committed at height C for any h in [C+1, C+2] (and any
earlier h back to the first kept entry's activation).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, Final

from ledger import codec
from ledger.address import address_of
from ledger.context import BlockContext, Outcome
from ledger.exceptions import AlreadyExists, InvalidOperation, LimitExceeded, UnknownRecord
from ledger.features.validators.bodies import MAX_VALIDATOR_POWER, UpdateValidator
from ledger.fields import check_bytes, check_text, check_uint, ensure
from ledger.genesis import Genesis
from ledger.state import SCHEDULE_KEY, VALIDATORS_KEY, State, StateReader
from ledger.types import Event

MEMBERSHIP_PREFIX: Final = b"m"
ACTIVATION_DELAY: Final = 2  # a change executed at H is in force from H+2
MAX_VALIDATORS: Final = 100
MEMBERSHIP_HISTORY_BLOCKS: Final = 10_000  # how far back membership is known (evidence's max age)


@dataclass(frozen=True, slots=True)
class Validator:
    public_key: bytes  # 33-byte compressed secp256k1 key
    power: int
    name: str

    @property
    def address(self) -> bytes:
        return address_of(self.public_key)

    def to_value(self) -> tuple[Any, ...]:
        return (self.public_key, self.power, self.name)


ValidatorSet = tuple[Validator, ...]  # sorted by address
Schedule = tuple[tuple[int, ValidatorSet], ...]  # (activation height, set), ascending


def sorted_validator_set(validators: tuple[Validator, ...] | list[Validator]) -> ValidatorSet:
    return tuple(sorted(validators, key=lambda v: v.address))


def encode_validator_set(validators: ValidatorSet) -> bytes:
    """``[[public_key, power, name], ...]`` (the ``v`` record)."""
    return codec.encode(tuple(v.to_value() for v in validators))


def validator_set_from_value(value: object) -> ValidatorSet:
    ensure(isinstance(value, tuple), "validator set must be an array")
    assert isinstance(value, tuple)
    validators = []
    for item in value:
        ensure(isinstance(item, tuple) and len(item) == 3, "validator is [key, power, name]")
        public_key, power, name = item
        validators.append(
            Validator(
                check_bytes(public_key, "public_key", 33),
                check_uint(power, "power", MAX_VALIDATOR_POWER),
                check_text(name, "name", 64),
            )
        )
    return tuple(validators)


def get_validator_schedule(state: State) -> Schedule:
    """The stored schedule (genesis writes the first entry)."""
    raw = state.get_raw(SCHEDULE_KEY)
    assert raw is not None, "state has no validator schedule: genesis was not applied"
    value = codec.decode(raw)
    return tuple(
        (check_uint(height, "activation"), validator_set_from_value(validators))
        for height, validators in value
    )


def set_validator_schedule(state: State, schedule: Schedule) -> None:
    """Store the schedule and, as ``v``, its newest set."""
    assert schedule and all(a[0] < b[0] for a, b in itertools.pairwise(schedule))
    state.set_raw(
        SCHEDULE_KEY,
        codec.encode(tuple((height, tuple(v.to_value() for v in vs)) for height, vs in schedule)),
    )
    state.set_raw(VALIDATORS_KEY, encode_validator_set(schedule[-1][1]))


def validator_set_at(state: State, height: int) -> ValidatorSet:
    """The set in force at ``height``. Raises LookupError if it was pruned."""
    chosen: ValidatorSet | None = None
    for activation, validators in get_validator_schedule(state):
        if activation <= height:
            chosen = validators
    if chosen is None:
        raise LookupError(f"the validator set for height {height} is no longer in this state")
    return chosen


def validator_set_for_height(reader: StateReader, height: int) -> ValidatorSet:
    """The validator set that signs block ``height``, read from the state
    committed at C (final for every height up to C+2). Raises LookupError
    for a height whose set was already pruned from this state."""
    return validator_set_at(State(reader), height)


def with_validator(validators: ValidatorSet, update: UpdateValidator) -> ValidatorSet:
    """The set after ``update`` (power 0 removes). Raises ExecutionFailure."""
    others = [v for v in validators if v.public_key != update.public_key]
    if update.power == 0:
        if len(others) == len(validators):
            raise UnknownRecord("no validator has this public key")
        if not others:
            raise InvalidOperation("the last validator cannot be removed")
        return tuple(others)
    if any(v.name == update.name for v in others):
        raise AlreadyExists(f"another validator is named {update.name!r}")
    if len(others) >= MAX_VALIDATORS:
        raise LimitExceeded(f"a validator set has at most {MAX_VALIDATORS} validators")
    return sorted_validator_set([*others, Validator(update.public_key, update.power, update.name)])


def schedule_validator_update(state: State, ctx: BlockContext, update: UpdateValidator) -> Event:
    """Apply ``update`` to the newest scheduled set, in force from ctx.height + 2."""
    schedule = get_validator_schedule(state)
    activation = ctx.height + ACTIVATION_DELAY
    updated = with_validator(schedule[-1][1], update)
    if schedule[-1][0] == activation:
        schedule = schedule[:-1]
    set_validator_schedule(state, (*schedule, (activation, updated)))
    return Event(
        "validator_update",
        (
            ("activation_height", activation),
            ("name", update.name),
            ("power", update.power),
            ("public_key", update.public_key),
        ),
    )


def update_validator(
    state: State, actor: bytes, body: UpdateValidator, ctx: BlockContext
) -> Outcome:
    """Schedule a validator-set change at ctx.height + 2. Runs only as the
    governance policy's action: the policy feature lets no other account
    propose it (ledger.registry.BodyKind.governance_only)."""
    return Outcome(events=(schedule_validator_update(state, ctx, body),))


def prune_validator_schedule(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """End-of-block step: drop the entries no longer needed after this block
    (keep the one in force at ctx.height + 1 and later ones)."""
    schedule = get_validator_schedule(state)
    next_height = ctx.height + 1
    in_force = [i for i, (activation, _) in enumerate(schedule) if activation <= next_height]
    if in_force and in_force[-1] > 0:
        set_validator_schedule(state, schedule[in_force[-1] :])
    return ()


# -- membership history (who was a validator at a past height) --------------
#
# ``m || address -> [public_key, [[from, until | nil], ...]]``: the heights
# (from inclusive, until exclusive, nil while still a member) at which the
# validator was in the set, ascending. Written at the end of a block H whose
# next set (H+1) adds or removes a validator, for those validators only; a
# validator with no record was in every set from genesis to now if it is in
# the set in force, and in none otherwise (so genesis writes nothing).
# Intervals that ended MEMBERSHIP_HISTORY_BLOCKS before H+1 are dropped when
# the record is next written, and an emptied record is deleted.


def membership_key(address: bytes) -> bytes:
    return MEMBERSHIP_PREFIX + address


Intervals = tuple[tuple[int, int | None], ...]


def _load_membership(state: State, address: bytes) -> tuple[bytes, Intervals] | None:
    raw = state.get_raw(membership_key(address))
    if raw is None:
        return None
    public_key, intervals = codec.decode(raw)
    return bytes(public_key), tuple((start, until) for start, until in intervals)


def record_membership_changes(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """End-of-block step (before the schedule is pruned): note who joins or
    leaves the set between heights ctx.height and ctx.height + 1."""
    boundary = ctx.height + 1
    schedule = get_validator_schedule(state)
    if all(activation != boundary for activation, _ in schedule):
        return ()  # the same set goes on
    before = {v.address: v for v in validator_set_at(state, ctx.height)}
    after = {v.address: v for v in validator_set_at(state, boundary)}
    oldest_kept = boundary - MEMBERSHIP_HISTORY_BLOCKS
    for address in sorted(before.keys() ^ after.keys()):
        joining = address in after
        validator = after[address] if joining else before[address]
        loaded = _load_membership(state, address)
        if loaded is None:
            intervals: Intervals = () if joining else ((1, None),)
        else:
            intervals = loaded[1]
        if joining:
            intervals = (*intervals, (boundary, None))
        else:
            assert intervals and intervals[-1][1] is None, "a leaving validator was a member"
            intervals = (*intervals[:-1], (intervals[-1][0], boundary))
        kept = tuple(i for i in intervals if i[1] is None or i[1] > oldest_kept)
        if kept:
            state.set_raw(membership_key(address), codec.encode((validator.public_key, kept)))
        else:
            state.set_raw(membership_key(address), None)
    return ()


def member_key_at(state: State, address: bytes, height: int, now: int) -> bytes | None:
    """The public key of ``address`` if it was in the validator set of
    ``height`` (known back to ``now - MEMBERSHIP_HISTORY_BLOCKS``; ``now`` is
    the height being executed, whose set is in force), else None."""
    loaded = _load_membership(state, address)
    if loaded is not None:
        public_key, intervals = loaded
        for start, until in intervals:
            if start <= height and (until is None or height < until):
                return public_key
        return None
    for validator in validator_set_at(state, now):
        if validator.address == address:
            return validator.public_key  # a member since genesis
    return None


def write_genesis_validators(state: State, genesis: Genesis) -> None:
    """Genesis step: the schedule ``[[1, genesis set]]``."""
    validators = [Validator(v.public_key, v.power, v.name) for v in genesis.validators]
    set_validator_schedule(state, ((1, sorted_validator_set(validators)),))
