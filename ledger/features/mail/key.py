"""The mail key as the mix's rules see it: an ElGamal key on secp256k1 the
validators hold t-of-n, with its own epochs (a resharing keeps the public
key and changes the shares), surviving validator-set changes.

It is the threshold key set ``mail`` with one key
(ledger.features.threshold.key_sets): asked for at genesis
(``request_mail_key``), made by the validators' DKG and reshared whenever
the validator set changes, by the same ceremonies as the group key.
``mail_key(state)`` is the one place the mix reads it: the public key Y
every cell is encrypted to, the threshold t, each holder's identifier,
validator key and verification share Y_i, and the epoch of the shares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ledger.features.threshold.interface import get_key_set, request_key_set
from ledger.state import State
from ledger.threshold.group import Point, decode_element
from ledger.threshold.keys import PublicKeyPackage

MAIL_KEY_SET: Final = "mail"


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


def mail_key(state: State) -> MailKey | None:
    """The mail key, or None before the validators have made it."""
    held = get_key_set(state, MAIL_KEY_SET)
    if held is None:
        return None
    members = tuple(
        (identifier, key, decode_element(shares[0])) for identifier, key, shares in held.members
    )
    return MailKey(decode_element(held.public_keys[0]), held.threshold, members, held.epoch)


def request_mail_key(state: State, validators: int) -> None:
    """Ask the validators for the mail key (its DKG is requested at the end
    of the block). Raises ExecutionFailure if it is already asked for."""
    request_key_set(state, MAIL_KEY_SET, 1, validators)
