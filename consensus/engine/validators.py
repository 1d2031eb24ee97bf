"""Validator sets: voting power, quorum thresholds and proposer selection.

A ``ValidatorSet`` is the set that votes at one height: validators sorted by
address, each with a voting power, plus the proposer priorities at the start
of that height. Thresholds compare power against the total with integers:
a *quorum* (the paper's 2f + 1) is more than two thirds of the total power,
``3 * power > 2 * total``, i.e. at least ``quorum_power = floor(2*total/3) + 1``;
*more than one third* (the paper's f + 1) is ``3 * power > total``.

Proposer selection is CometBFT's weighted round robin with priorities:
one selection step adds each validator's power to its priority, picks the
highest priority (ties: the smaller address) and subtracts the total power
from the winner. Over ``total_power`` steps from all-zero priorities every
validator is chosen exactly ``power`` times. The proposer of round ``r`` at
a height is the winner of step ``r + 1`` from the height's priorities; the
next height's priorities are the height's priorities after one step, then
validator changes are applied (``next_height``). The application keeps the
set for every height, so every node derives the same proposers; the exact
rules (including re-centring and scaling after changes) are in
docs/spec/consensus.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from ledger import codec, crypto
from ledger.address import ADDRESS_SIZE, address_of

MAX_POWER: Final = (1 << 60) - 1
MAX_TOTAL_POWER: Final = (1 << 61) - 1


class ValidatorSetError(ValueError):
    """Raised for an invalid validator set or change (duplicates, bad power, empty set)."""


@dataclass(frozen=True, slots=True)
class Validator:
    """A validator: its address (derived from the key), public key and voting power."""

    address: bytes
    public_key: bytes
    power: int

    @classmethod
    def from_public_key(cls, public_key: bytes, power: int) -> Validator:
        """A validator whose address is ``address_of(public_key)``."""
        return cls(address_of(public_key), public_key, power)


@dataclass(frozen=True)
class ValidatorSet:
    """The validators of one height and their proposer priorities (aligned).

    Build one with ``ValidatorSet.create`` (genesis: zero priorities) or
    ``next_height``; the constructor checks the invariants and raises
    ValidatorSetError.
    """

    validators: tuple[Validator, ...]
    priorities: tuple[int, ...]
    total_power: int = field(init=False)
    _index: dict[bytes, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_validators(self.validators)
        if len(self.priorities) != len(self.validators):
            raise ValidatorSetError("one priority per validator")
        object.__setattr__(self, "total_power", sum(v.power for v in self.validators))
        object.__setattr__(self, "_index", {v.address: i for i, v in enumerate(self.validators)})

    @classmethod
    def create(cls, validators: Iterable[Validator]) -> ValidatorSet:
        """A set with all priorities zero, validators sorted by address."""
        ordered = tuple(sorted(validators, key=lambda v: v.address))
        return cls(ordered, (0,) * len(ordered))

    @property
    def quorum_power(self) -> int:
        """The least power that is more than two thirds of the total (2f + 1)."""
        return self.total_power * 2 // 3 + 1

    def has_quorum(self, power: int) -> bool:
        """True iff ``power`` is more than two thirds of the total."""
        return 3 * power > 2 * self.total_power

    def exceeds_one_third(self, power: int) -> bool:
        """True iff ``power`` is more than one third of the total (f + 1)."""
        return 3 * power > self.total_power

    def get(self, address: bytes) -> Validator | None:
        """The validator with this address, or None."""
        index = self._index.get(address)
        return None if index is None else self.validators[index]

    def __len__(self) -> int:
        return len(self.validators)

    def proposers(self, rounds: int) -> list[Validator]:
        """The proposers of rounds 0 .. rounds-1 at this set's height."""
        priorities = list(self.priorities)
        chosen = []
        for _ in range(rounds):
            chosen.append(self.validators[_select(priorities, self.validators, self.total_power)])
        return chosen

    def proposer(self, round: int) -> Validator:
        """The proposer of ``round`` at this set's height."""
        return self.proposers(round + 1)[round]

    def next_height(self, changes: Sequence[Validator] = ()) -> ValidatorSet:
        """The set of the next height: one selection step, then ``changes``
        (a validator with power 0 is removed, a new address is added with
        priority -(total + total/8), an existing one gets the new power),
        then re-centring and scaling. Raises ValidatorSetError for an invalid
        change (duplicate address, address not matching its key, empty result).
        """
        priorities = list(self.priorities)
        _select(priorities, self.validators, self.total_power)
        if not changes:
            return ValidatorSet(self.validators, tuple(priorities))
        current = {v.address: (v, p) for v, p in zip(self.validators, priorities, strict=True)}
        seen: set[bytes] = set()
        added: list[Validator] = []
        for change in changes:
            if change.address in seen:
                raise ValidatorSetError("a validator changes at most once per block")
            seen.add(change.address)
            if change.power < 0 or change.power > MAX_POWER:
                raise ValidatorSetError("power must be in [0, 2^60-1]")
            if change.address in current:
                old, priority = current.pop(change.address)
                if old.public_key != change.public_key:
                    raise ValidatorSetError("a validator's key cannot change")
                if change.power > 0:
                    current[change.address] = (change, priority)
            elif change.power > 0:
                added.append(change)
            else:
                raise ValidatorSetError("cannot remove a validator that is not in the set")
        new_total = sum(v.power for v, _ in current.values()) + sum(v.power for v in added)
        for validator in added:
            current[validator.address] = (validator, -(new_total + new_total // 8))
        ordered = sorted(current.values(), key=lambda item: item[0].address)
        if not ordered:
            raise ValidatorSetError("a validator set cannot become empty")
        rebalanced = _rebalance([p for _, p in ordered], new_total)
        return ValidatorSet(tuple(v for v, _ in ordered), tuple(rebalanced))

    def to_value(self) -> tuple[Any, ...]:
        """``[[public_key, power, priority], ...]`` in address order."""
        return tuple(
            (v.public_key, v.power, p)
            for v, p in zip(self.validators, self.priorities, strict=True)
        )

    def encode(self) -> bytes:
        """Canonical bytes of ``to_value``."""
        return codec.encode(self.to_value())

    @property
    def hash(self) -> bytes:
        """SHA-256 of the canonical encoding."""
        return crypto.sha256(self.encode())


def decode_validator_set(data: bytes) -> ValidatorSet:
    """Decode a validator set. Raises ValidatorSetError."""
    try:
        value = codec.decode(data)
    except codec.CodecError as exc:
        raise ValidatorSetError(f"validator set encoding: {exc}") from exc
    if not isinstance(value, tuple):
        raise ValidatorSetError("a validator set is an array")
    validators: list[Validator] = []
    priorities: list[int] = []
    for item in value:
        if not (isinstance(item, tuple) and len(item) == 3):
            raise ValidatorSetError("a validator is [public_key, power, priority]")
        public_key, power, priority = item
        if not (isinstance(public_key, bytes) and type(power) is int and type(priority) is int):
            raise ValidatorSetError("a validator is [bytes, int, int]")
        try:
            crypto.validate_public_key(public_key)
        except crypto.CryptoError as exc:
            raise ValidatorSetError(str(exc)) from exc
        validators.append(Validator.from_public_key(public_key, power))
        priorities.append(priority)
    result = ValidatorSet(tuple(validators), tuple(priorities))
    if result.encode() != data:
        raise ValidatorSetError("validators must be in address order")
    return result


def _check_validators(validators: tuple[Validator, ...]) -> None:
    if not validators:
        raise ValidatorSetError("a validator set is not empty")
    previous = b""
    total = 0
    for v in validators:
        if len(v.address) != ADDRESS_SIZE or v.address != address_of(v.public_key):
            raise ValidatorSetError("a validator's address is address_of(public_key)")
        if v.address <= previous:
            raise ValidatorSetError("validators are sorted by address, without duplicates")
        if type(v.power) is not int or not 1 <= v.power <= MAX_POWER:
            raise ValidatorSetError("a validator's power is in [1, 2^60-1]")
        previous = v.address
        total += v.power
    if total > MAX_TOTAL_POWER:
        raise ValidatorSetError("total voting power exceeds 2^61-1")


def _select(priorities: list[int], validators: tuple[Validator, ...], total: int) -> int:
    """One weighted-round-robin step on ``priorities`` (in place); returns the winner's index."""
    best = 0
    for i, v in enumerate(validators):
        priorities[i] += v.power
        if priorities[i] > priorities[best]:
            best = i  # strict: on a tie the earlier (smaller) address wins
    priorities[best] -= total
    return best


def _rebalance(priorities: list[int], total: int) -> list[int]:
    """Centre priorities on zero (subtract the floor of the mean), then, if
    their spread exceeds 2 * total, divide them by ceil(spread / (2 * total))
    rounding toward zero (CometBFT's RescalePriorities)."""
    mean = sum(priorities) // len(priorities)
    centred = [p - mean for p in priorities]
    spread = max(centred) - min(centred)
    limit = 2 * total
    if spread <= limit:
        return centred
    ratio = -(-spread // limit)
    return [p // ratio if p >= 0 else -((-p) // ratio) for p in centred]
