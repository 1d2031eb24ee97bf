"""Transaction bodies of the policy kinds (tags 28-31): creating a k-of-n
policy account, proposing and approving its actions, and the update a
policy runs on itself; the address a policy account gets and the bytes a
proposal carries.

Each body is a frozen dataclass with a tag (``KIND``), a name and a fixed
field order; ``from_fields`` checks shapes and ranges and raises
``DecodeError``. The rules are in ledger.features.policy.accounts, the byte
layout in docs/spec/policy.md.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any, ClassVar, Final

from ledger import codec
from ledger.address import check_address, derive_address
from ledger.fields import check_amount, check_asset, check_bytes, check_uint, ensure
from ledger.types import Body

POLICY_DOMAIN: Final = "ledger/policy"
GENESIS_CREATOR: Final = bytes(20)
MAX_POLICY_MEMBERS: Final = 20
MAX_SPENDING_LIMITS: Final = 8
MAX_LIMIT_WINDOW: Final = (1 << 32) - 1
MAX_ACTION_SIZE: Final = 8 * 1024


@dataclass(frozen=True, slots=True)
class SpendingLimit:
    """At most ``amount`` of ``asset`` leaves the account per window of ``window`` blocks."""

    asset: str
    amount: int
    window: int

    def to_value(self) -> tuple[Any, ...]:
        return (self.asset, self.amount, self.window)


def check_members(value: object) -> tuple[bytes, ...]:
    """1-20 member addresses in strictly ascending byte order."""
    ensure(isinstance(value, tuple), "members must be an array")
    assert isinstance(value, tuple)
    ensure(1 <= len(value) <= MAX_POLICY_MEMBERS, f"a policy has 1-{MAX_POLICY_MEMBERS} members")
    members = tuple(check_address(member, "member") for member in value)
    ensure(
        all(a < b for a, b in itertools.pairwise(members)),
        "members must be sorted ascending without repeats",
    )
    return members


def check_limits(value: object) -> tuple[SpendingLimit, ...]:
    """0-8 spending limits ``[asset, amount, window]`` sorted by asset without repeats."""
    ensure(isinstance(value, tuple), "limits must be an array")
    assert isinstance(value, tuple)
    ensure(len(value) <= MAX_SPENDING_LIMITS, f"at most {MAX_SPENDING_LIMITS} spending limits")
    limits = []
    for item in value:
        ensure(isinstance(item, tuple) and len(item) == 3, "a limit is [asset, amount, window]")
        asset, amount, window = item
        window = check_uint(window, "window", MAX_LIMIT_WINDOW)
        ensure(window >= 1, "window must be at least 1 block")
        limits.append(SpendingLimit(check_asset(asset), check_amount(amount, "limit"), window))
    assets = [limit.asset for limit in limits]
    ensure(
        all(a < b for a, b in itertools.pairwise(assets)),
        "limits must be sorted by asset without repeats",
    )
    return tuple(limits)


def check_threshold(value: object, members: tuple[bytes, ...]) -> int:
    threshold = check_uint(value, "threshold", len(members))
    ensure(threshold >= 1, "threshold must be in [1, number of members]")
    return threshold


@dataclass(frozen=True, slots=True)
class CreatePolicy:
    """Create a k-of-n policy account (its address is derived: see
    ledger.features.policy.accounts)."""

    KIND: ClassVar[int] = 28
    NAME: ClassVar[str] = "policy_create"
    members: tuple[bytes, ...]
    threshold: int
    limits: tuple[SpendingLimit, ...] = ()

    def to_fields(self) -> tuple[Any, ...]:
        return (self.members, self.threshold, tuple(limit.to_value() for limit in self.limits))

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> CreatePolicy:
        ensure(len(fields) == 3, "policy_create has 3 fields")
        members = check_members(fields[0])
        return cls(members, check_threshold(fields[1], members), check_limits(fields[2]))


@dataclass(frozen=True, slots=True)
class ProposeAction:
    """A member proposes ``action`` (a canonical encoded body) from ``policy``;
    proposing counts as the proposer's approval."""

    KIND: ClassVar[int] = 29
    NAME: ClassVar[str] = "policy_propose"
    policy: bytes
    action: bytes
    expires_at: int

    def to_fields(self) -> tuple[Any, ...]:
        return (self.policy, self.action, self.expires_at)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ProposeAction:
        ensure(len(fields) == 3, "policy_propose has 3 fields")
        policy, action, expires_at = fields
        return cls(
            check_address(policy, "policy"),
            check_bytes(action, "action", max_size=MAX_ACTION_SIZE),
            check_uint(expires_at, "expires_at"),
        )


@dataclass(frozen=True, slots=True)
class ApproveProposal:
    """A member approves a pending proposal; the k-th approval executes it."""

    KIND: ClassVar[int] = 30
    NAME: ClassVar[str] = "policy_approve"
    policy: bytes
    proposal_id: int

    def to_fields(self) -> tuple[Any, ...]:
        return (self.policy, self.proposal_id)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> ApproveProposal:
        ensure(len(fields) == 2, "policy_approve has 2 fields")
        return cls(check_address(fields[0], "policy"), check_uint(fields[1], "proposal_id"))


@dataclass(frozen=True, slots=True)
class UpdatePolicy:
    """Replace the acting policy's members, threshold and limits.
    Only valid as a policy action (a transaction carrying it is rejected)."""

    KIND: ClassVar[int] = 31
    NAME: ClassVar[str] = "policy_update"
    members: tuple[bytes, ...]
    threshold: int
    limits: tuple[SpendingLimit, ...] = ()

    def to_fields(self) -> tuple[Any, ...]:
        return (self.members, self.threshold, tuple(limit.to_value() for limit in self.limits))

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> UpdatePolicy:
        ensure(len(fields) == 3, "policy_update has 3 fields")
        members = check_members(fields[0])
        return cls(members, check_threshold(fields[1], members), check_limits(fields[2]))

def policy_address(
    members: tuple[bytes, ...],
    threshold: int,
    limits: tuple[SpendingLimit, ...],
    creator: bytes,
    nonce: int,
) -> bytes:
    """The address of a policy created by ``creator`` with transaction nonce ``nonce``."""
    policy = codec.encode((members, threshold, tuple(limit.to_value() for limit in limits)))
    return derive_address(POLICY_DOMAIN, policy + creator + nonce.to_bytes(8, "big"))


def encode_action(body: Body) -> bytes:
    """The bytes a proposal carries for ``body``."""
    return codec.encode((body.KIND, *body.to_fields()))
