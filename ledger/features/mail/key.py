"""The mail key as the mix's rules see it: an ElGamal key on secp256k1 the
validators hold t-of-n, with its own epochs (a resharing keeps the public
key and changes the shares), surviving validator-set changes.

``mail_key(state)`` is the one place the mix reads it: the public key Y
every cell is encrypted to, the threshold t, each holder's identifier,
validator key and verification share Y_i, and the epoch of the shares.
The record is ``mk`` (``[public key, threshold, [[id, validator key,
verification share], ...], epoch]``), written by ``set_mail_key``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from ledger import codec
from ledger.fields import check_bytes, check_uint, ensure
from ledger.state import State
from ledger.threshold.group import Point, decode_element
from ledger.threshold.keys import PublicKeyPackage

MAIL_KEY_KEY: Final = b"mk"


@dataclass(frozen=True, slots=True)
class MailKey:
    """The mail key's public data in one epoch."""

    public_key: Point
    threshold: int
    members: tuple[tuple[int, bytes, Point], ...]  # (identifier, validator key, Y_i)
    epoch: int

    def identifier_of(self, validator_key: bytes) -> int | None:
        """The identifier of the holder with this validator key, if any."""
        for identifier, key, _ in self.members:
            if key == validator_key:
                return identifier
        return None

    def public_package(self) -> PublicKeyPackage:
        """The threshold library's view of it (to verify decryption shares)."""
        shares = {identifier: share for identifier, _, share in self.members}
        return PublicKeyPackage(self.public_key, self.threshold, shares)

    def to_value(self) -> tuple[Any, ...]:
        members = tuple((i, key, share.sec) for i, key, share in self.members)
        return (self.public_key.sec, self.threshold, members, self.epoch)


def mail_key_from_value(value: object) -> MailKey:
    """Raises DecodeError (or the threshold library's InvalidEncoding for a point)."""
    ensure(isinstance(value, tuple) and len(value) == 4, "mail key record has 4 fields")
    assert isinstance(value, tuple)
    public, threshold, members, epoch = value
    ensure(isinstance(members, tuple), "members is an array")
    return MailKey(
        decode_element(check_bytes(public, "public key", 33)),
        check_uint(threshold, "threshold"),
        tuple(
            (
                check_uint(i, "identifier"),
                check_bytes(key, "validator key", 33),
                decode_element(check_bytes(share, "verification share", 33)),
            )
            for i, key, share in members
        ),
        check_uint(epoch, "epoch"),
    )


def mail_key(state: State) -> MailKey | None:
    """The mail key, or None before the validators have made it."""
    raw = state.get_raw(MAIL_KEY_KEY)
    return None if raw is None else mail_key_from_value(codec.decode(raw))


def set_mail_key(state: State, key: MailKey) -> None:
    """Adopt a (new epoch of the) mail key."""
    state.set_raw(MAIL_KEY_KEY, codec.encode(key.to_value()))
