"""Named sets of threshold keys the validators hold for other features.

The validators' FROST key (the group, ``ceremonies.Group``) is one key with
its own record. Other features need keys of their own, with their own
epochs: the mint one key per denomination (a keyset), the mail one ElGamal
key. A feature asks for a **key set** by name and size
(``request_key_set``); the threshold feature then generates all of its keys
in one DKG ceremony (each key an independent PedPop run, in lanes over the
same messages: consensus.node.threshold.runs), and reshares them all in one
ceremony whenever the validator set changes, keeping every public key. A
feature that no longer needs a set retires it (``retire_key_set``): it is
not reshared again and the nodes erase their shares.

State records (prefix ``T``):

    Tw            -> the wanted sets: [[name, key count], ...] by name
    Ts || name    -> a set the validators hold: [[public key, ...], threshold,
                     [[id, validator key, [verification share, ...]], ...],
                     epoch, ceremony id]

The keys of a set are indexed 0..count-1 in the order the requester gives
them meaning (the mint: the denomination 2^index).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from ledger import codec
from ledger.exceptions import AlreadyExists, InvalidOperation, LimitExceeded
from ledger.fields import check_bytes, check_uint, ensure
from ledger.state import State
from ledger.threshold.group import decode_element
from ledger.threshold.keys import PublicKeyPackage

WANTED_KEY: Final = b"Tw"
KEY_SET_PREFIX: Final = b"Ts"
MAX_KEY_SETS: Final = 8
MAX_KEYS_PER_SET: Final = 64
# A keygen report carries every key's public package (33 bytes per member
# and key, plus the group key): bounded so that it fits one transaction.
MAX_REPORTED_POINTS: Final = 1600
_NAME = re.compile(r"^[a-z0-9][a-z0-9/_-]{0,31}\Z")


def check_key_set_name(name: str) -> str:
    """Return ``name`` if it is 1-32 of [a-z0-9/_-], starting with a letter or
    digit. Raises InvalidOperation otherwise."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidOperation(f"key set name {name!r} is not 1-32 of [a-z0-9/_-]")
    return name


def max_keys_for(members: int) -> int:
    """How many keys a set may have for ``members`` holders (one report must
    carry all of their public packages)."""
    return min(MAX_KEYS_PER_SET, MAX_REPORTED_POINTS // (members + 1))


@dataclass(frozen=True, slots=True)
class KeySet:
    """A named set of keys the validators hold t-of-n, all shared alike."""

    name: str
    public_keys: tuple[bytes, ...]
    threshold: int
    members: tuple[tuple[int, bytes, tuple[bytes, ...]], ...]  # (id, validator key, shares)
    epoch: int
    ceremony_id: int

    @property
    def key_count(self) -> int:
        return len(self.public_keys)

    def member_keys(self) -> tuple[bytes, ...]:
        return tuple(key for _, key, _ in self.members)

    def identifier_of(self, validator_key: bytes) -> int | None:
        for identifier, key, _ in self.members:
            if key == validator_key:
                return identifier
        return None

    def public_package(self, index: int) -> PublicKeyPackage:
        """Key ``index``'s public data for the threshold library."""
        shares = {i: decode_element(member_shares[index]) for i, _, member_shares in self.members}
        return PublicKeyPackage(decode_element(self.public_keys[index]), self.threshold, shares)

    def to_value(self) -> tuple[Any, ...]:
        return (self.public_keys, self.threshold, self.members, self.epoch, self.ceremony_id)


def key_set_key(name: str) -> bytes:
    return KEY_SET_PREFIX + name.encode("ascii")


def get_wanted(state: State) -> tuple[tuple[str, int], ...]:
    """The wanted sets: (name, key count), by name."""
    raw = state.get_raw(WANTED_KEY)
    if raw is None:
        return ()
    return tuple((name, count) for name, count in codec.decode(raw))


def _set_wanted(state: State, wanted: Sequence[tuple[str, int]]) -> None:
    if wanted:
        state.set_raw(WANTED_KEY, codec.encode(tuple(sorted(wanted))))
    else:
        state.set_raw(WANTED_KEY, None)


def wanted_count(state: State, name: str) -> int | None:
    """The key count a wanted set was asked with, or None if not wanted."""
    return dict(get_wanted(state)).get(name)


def request_key_set(state: State, name: str, count: int, members: int) -> None:
    """Ask the validators for a new set of ``count`` keys (its DKG is
    requested at the end of the block). Raises InvalidOperation for a bad
    name or count, AlreadyExists for a name in use, LimitExceeded past
    MAX_KEY_SETS."""
    check_key_set_name(name)
    most = max_keys_for(members)
    if not 1 <= count <= most:
        raise InvalidOperation(f"a key set of {members} holders has 1..{most} keys")
    wanted = dict(get_wanted(state))
    if name in wanted or get_key_set(state, name) is not None:
        raise AlreadyExists(f"key set {name!r} exists")
    if len(wanted) >= MAX_KEY_SETS:
        raise LimitExceeded(f"at most {MAX_KEY_SETS} key sets")
    wanted[name] = count
    _set_wanted(state, list(wanted.items()))


def retire_key_set(state: State, name: str) -> None:
    """Stop holding a set: no more resharing; its record is deleted (the
    nodes erase their shares when they see it gone). Idempotent."""
    wanted = dict(get_wanted(state))
    wanted.pop(name, None)
    _set_wanted(state, list(wanted.items()))
    state.set_raw(key_set_key(name), None)


def get_key_set(state: State, name: str) -> KeySet | None:
    raw = state.get_raw(key_set_key(name))
    if raw is None:
        return None
    value = codec.decode(raw)
    ensure(isinstance(value, tuple) and len(value) == 5, "key set record has 5 fields")
    public_keys, threshold, members, epoch, ceremony_id = value
    return KeySet(
        name,
        tuple(check_bytes(k, "public key", 33) for k in public_keys),
        check_uint(threshold, "threshold"),
        tuple((i, key, tuple(shares)) for i, key, shares in members),
        check_uint(epoch, "epoch"),
        check_uint(ceremony_id, "ceremony id"),
    )


def set_key_set(state: State, key_set: KeySet) -> None:
    state.set_raw(key_set_key(key_set.name), codec.encode(key_set.to_value()))
