"""Transaction bodies of the mint, kinds 60-66.

Users:

- ``mint_deposit`` (60): lock ``sum(amounts)`` of the mint's asset in the
  reserve and ask for blind signatures on the blinded messages ``B_``
  (NUT-00), one per output ``[amount, B_]``, under the active keyset.
- ``mint_redeem_commit`` (61): the first step of a redemption or swap: the
  notes' ``[keyset epoch, amount, Y, C]`` (``Y = hash_to_curve(secret)``)
  and a 32-byte digest hiding the secrets, the target and a salt. It locks
  every ``Y``; the validators then evaluate ``k*Y``.
- ``mint_redeem_reveal`` (62): the second step, at a later height: the
  commitment's id, the secrets, the target (``[0, address]``: pay the
  amount out; ``[1, keyset epoch, [[amount, B_], ...]]``: new notes of the
  same value, a swap) and the salt.
- ``mint_rotate_keyset`` (63, governance action only): start a new keyset;
  the old one is redeemed until its grace period ends.

Validators (the key holders), each carrying many requests at once:

- ``mint_commit`` (64): round 1 of issuance, ``[[request id, round,
  commitments]]``, the commitments 259 bytes per output (wire.py);
- ``mint_respond`` (65): round 2, ``[[request id, round, responses]]``, 64
  bytes per output;
- ``mint_evaluate`` (66): ``[[Y, evaluation share]]`` for locked notes, 129
  bytes each.

Shapes and sizes only here (points must decode); the rules are in
ledger.features.mint.issue and ledger.features.mint.redeem, the layout in
docs/spec/mint.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from ledger.address import ADDRESS_SIZE
from ledger.fields import DecodeError, check_bytes, check_uint, ensure
from ledger.threshold.errors import ThresholdError
from ledger.threshold.group import ELEMENT_SIZE, decode_element

from .keysets import MAX_EXPONENT
from .wire import EVALUATION_SHARE_SIZE

MAX_OUTPUTS: Final = 64
MAX_INPUTS: Final = 64
MAX_ENTRIES: Final = 256
MAX_SECRET_BYTES: Final = 512
MAX_BLOB: Final = 64 * 1024
DIGEST_SIZE: Final = 32
SALT_SIZE: Final = 32
TARGET_ADDRESS: Final = 0
TARGET_SWAP: Final = 1
MAX_DENOMINATION: Final = 1 << MAX_EXPONENT


def check_point(value: object, name: str) -> bytes:
    """A 33-byte compressed point that decodes (not the identity). Raises DecodeError."""
    raw = check_bytes(value, name, ELEMENT_SIZE)
    try:
        decode_element(raw)
    except ThresholdError as exc:
        raise DecodeError(f"{name} is not a point: {exc}") from exc
    return raw


def check_denomination(value: object, name: str) -> int:
    """A power of two up to 2^MAX_EXPONENT (the keyset may allow fewer)."""
    amount = check_uint(value, name, MAX_DENOMINATION)
    ensure(amount > 0 and amount & (amount - 1) == 0, f"{name} must be a power of two")
    return amount


def check_outputs(value: object) -> tuple[tuple[int, bytes], ...]:
    """``[[amount, B_], ...]``: 1..MAX_OUTPUTS, no blinded message twice."""
    ensure(isinstance(value, tuple) and 1 <= len(value) <= MAX_OUTPUTS, "1-64 outputs")
    assert isinstance(value, tuple)
    outputs = []
    for item in value:
        ensure(isinstance(item, tuple) and len(item) == 2, "an output is [amount, B_]")
        outputs.append((check_denomination(item[0], "amount"), check_point(item[1], "B_")))
    ensure(len({b for _, b in outputs}) == len(outputs), "a blinded message appears twice")
    return tuple(outputs)


@dataclass(frozen=True, slots=True)
class MintDeposit:
    """Lock the outputs' value in the reserve; blind signatures on each B_."""

    KIND: ClassVar[int] = 60
    NAME: ClassVar[str] = "mint_deposit"
    keyset_epoch: int
    outputs: tuple[tuple[int, bytes], ...]

    def to_fields(self) -> tuple[Any, ...]:
        return (self.keyset_epoch, self.outputs)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MintDeposit:
        ensure(len(fields) == 2, "mint_deposit has 2 fields")
        return cls(check_uint(fields[0], "keyset_epoch"), check_outputs(fields[1]))

    @property
    def value(self) -> int:
        return sum(amount for amount, _ in self.outputs)


@dataclass(frozen=True, slots=True)
class NoteInput:
    """A note presented for redemption: its keyset, amount, Y and C."""

    keyset_epoch: int
    amount: int
    y: bytes
    c: bytes

    def to_value(self) -> tuple[Any, ...]:
        return (self.keyset_epoch, self.amount, self.y, self.c)


@dataclass(frozen=True, slots=True)
class MintRedeemCommit:
    """Lock notes for a redemption whose target stays hidden until the reveal."""

    KIND: ClassVar[int] = 61
    NAME: ClassVar[str] = "mint_redeem_commit"
    inputs: tuple[NoteInput, ...]
    digest: bytes

    def to_fields(self) -> tuple[Any, ...]:
        return (tuple(i.to_value() for i in self.inputs), self.digest)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MintRedeemCommit:
        ensure(len(fields) == 2, "mint_redeem_commit has 2 fields")
        items = fields[0]
        ensure(isinstance(items, tuple) and 1 <= len(items) <= MAX_INPUTS, "1-64 inputs")
        inputs = []
        for item in items:
            ensure(isinstance(item, tuple) and len(item) == 4, "an input is [epoch, amount, Y, C]")
            inputs.append(
                NoteInput(
                    check_uint(item[0], "keyset_epoch"),
                    check_denomination(item[1], "amount"),
                    check_point(item[2], "Y"),
                    check_point(item[3], "C"),
                )
            )
        ensure(len({i.y for i in inputs}) == len(inputs), "a note appears twice")
        return cls(tuple(inputs), check_bytes(fields[1], "digest", DIGEST_SIZE))

    @property
    def value(self) -> int:
        return sum(i.amount for i in self.inputs)


@dataclass(frozen=True, slots=True)
class RedeemTarget:
    """Where a redemption goes: an address (``kind`` 0) or new notes (1)."""

    kind: int
    address: bytes = b""
    keyset_epoch: int = 0
    outputs: tuple[tuple[int, bytes], ...] = ()

    def to_value(self) -> tuple[Any, ...]:
        if self.kind == TARGET_ADDRESS:
            return (TARGET_ADDRESS, self.address)
        return (TARGET_SWAP, self.keyset_epoch, self.outputs)

    @classmethod
    def from_value(cls, value: object) -> RedeemTarget:
        ensure(isinstance(value, tuple) and len(value) >= 2, "a target is an array")
        assert isinstance(value, tuple)
        if value[0] == TARGET_ADDRESS and len(value) == 2:
            return cls(TARGET_ADDRESS, check_bytes(value[1], "address", ADDRESS_SIZE))
        ensure(value[0] == TARGET_SWAP and len(value) == 3, "target [0, address] or [1, ...]")
        return cls(
            TARGET_SWAP,
            keyset_epoch=check_uint(value[1], "keyset_epoch"),
            outputs=check_outputs(value[2]),
        )


@dataclass(frozen=True, slots=True)
class MintRedeemReveal:
    """Open a redemption commitment: the secrets, the target and the salt."""

    KIND: ClassVar[int] = 62
    NAME: ClassVar[str] = "mint_redeem_reveal"
    commitment_id: int
    secrets: tuple[str, ...]
    target: RedeemTarget
    salt: bytes

    def to_fields(self) -> tuple[Any, ...]:
        return (self.commitment_id, self.secrets, self.target.to_value(), self.salt)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MintRedeemReveal:
        ensure(len(fields) == 4, "mint_redeem_reveal has 4 fields")
        secrets = fields[1]
        ensure(isinstance(secrets, tuple) and 1 <= len(secrets) <= MAX_INPUTS, "1-64 secrets")
        for secret in secrets:
            ensure(isinstance(secret, str), "a secret is text")
            ensure(0 < len(secret.encode("utf-8")) <= MAX_SECRET_BYTES, "a secret's size")
        return cls(
            check_uint(fields[0], "commitment_id"),
            tuple(secrets),
            RedeemTarget.from_value(fields[2]),
            check_bytes(fields[3], "salt", SALT_SIZE),
        )


@dataclass(frozen=True, slots=True)
class MintRotateKeyset:
    """Governance: make a new keyset the active one; the old one expires later."""

    KIND: ClassVar[int] = 63
    NAME: ClassVar[str] = "mint_rotate_keyset"

    def to_fields(self) -> tuple[Any, ...]:
        return ()

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MintRotateKeyset:
        ensure(len(fields) == 0, "mint_rotate_keyset has no fields")
        return cls()


def _check_entries(value: object, what: str) -> tuple[tuple[int, int, bytes], ...]:
    ensure(isinstance(value, tuple) and 1 <= len(value) <= MAX_ENTRIES, f"1-256 {what}")
    assert isinstance(value, tuple)
    entries = []
    for item in value:
        ensure(isinstance(item, tuple) and len(item) == 3, f"{what}: [request, round, data]")
        entries.append(
            (
                check_uint(item[0], "request"),
                check_uint(item[1], "round"),
                check_bytes(item[2], "data", max_size=MAX_BLOB),
            )
        )
    return tuple(entries)


@dataclass(frozen=True, slots=True)
class MintCommit:
    """A key holder's round-1 commitments for issuance requests."""

    KIND: ClassVar[int] = 64
    NAME: ClassVar[str] = "mint_commit"
    entries: tuple[tuple[int, int, bytes], ...]

    def to_fields(self) -> tuple[Any, ...]:
        return (self.entries,)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MintCommit:
        ensure(len(fields) == 1, "mint_commit has 1 field")
        return cls(_check_entries(fields[0], "commitments"))


@dataclass(frozen=True, slots=True)
class MintRespond:
    """A chosen key holder's round-2 responses for issuance requests."""

    KIND: ClassVar[int] = 65
    NAME: ClassVar[str] = "mint_respond"
    entries: tuple[tuple[int, int, bytes], ...]

    def to_fields(self) -> tuple[Any, ...]:
        return (self.entries,)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MintRespond:
        ensure(len(fields) == 1, "mint_respond has 1 field")
        return cls(_check_entries(fields[0], "responses"))


@dataclass(frozen=True, slots=True)
class MintEvaluate:
    """A key holder's evaluation shares k_i*Y for locked notes."""

    KIND: ClassVar[int] = 66
    NAME: ClassVar[str] = "mint_evaluate"
    entries: tuple[tuple[bytes, bytes], ...]

    def to_fields(self) -> tuple[Any, ...]:
        return (self.entries,)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MintEvaluate:
        ensure(len(fields) == 1, "mint_evaluate has 1 field")
        value = fields[0]
        ensure(isinstance(value, tuple) and 1 <= len(value) <= MAX_ENTRIES, "1-256 shares")
        entries = []
        for item in value:
            ensure(isinstance(item, tuple) and len(item) == 2, "a share is [Y, share]")
            entries.append(
                (
                    check_bytes(item[0], "Y", ELEMENT_SIZE),
                    check_bytes(item[1], "share", EVALUATION_SHARE_SIZE),
                )
            )
        return cls(tuple(entries))
