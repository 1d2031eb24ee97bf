"""Typed results of the mint's queries: ``ledger_getMintKeys`` (NUT-01),
``ledger_getMintKeysets`` (NUT-02), ``ledger_checkNoteStates`` (NUT-07),
``ledger_getMintIssue``, ``ledger_getMintRedemption`` and ``ledger_getMint``
(docs/spec/rpc.md). Amounts become ints, hex becomes bytes, addresses stay
bech32m text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .results import _hex, _int, _opt, _str


@dataclass(frozen=True, slots=True)
class MintKeys:
    """A keyset's public keys (NUT-01): ``keys[i]`` is the key of amount 2^i."""

    keyset_id: str
    unit: str
    active: bool
    keys: tuple[bytes, ...]

    def key_for(self, amount: int) -> bytes:
        """The public key of ``amount``. Raises KeyError if it has none."""
        index = amount.bit_length() - 1
        if amount <= 0 or amount != 1 << index or index >= len(self.keys):
            raise KeyError(f"keyset {self.keyset_id} has no key for {amount}")
        return self.keys[index]

    @classmethod
    def from_json(cls, value: Any) -> MintKeys:
        by_amount = {_int(amount): _hex(key) for amount, key in value["keys"].items()}
        ordered = tuple(by_amount[1 << i] for i in range(len(by_amount)))
        return cls(_str(value["id"]), _str(value["unit"]), bool(value["active"]), ordered)


@dataclass(frozen=True, slots=True)
class MintKeysetInfo:
    """A keyset as ``ledger_getMintKeysets`` lists it (NUT-02, plus the chain's
    epoch, status and lifetime)."""

    keyset_id: str | None  # None while its keys are being made
    unit: str
    active: bool
    epoch: int
    status: str  # pending, active, retiring, expired
    created_at: int
    expires_at: int | None

    @classmethod
    def from_json(cls, value: Any) -> MintKeysetInfo:
        return cls(
            _opt(_str, value["id"]),
            _str(value["unit"]),
            bool(value["active"]),
            _int(value["epoch"]),
            _str(value["status"]),
            _int(value["createdAt"]),
            _opt(_int, value["expiresAt"]),
        )


@dataclass(frozen=True, slots=True)
class MintIssue:
    """An issuance request (a deposit or a swap) and, once issued, its blind
    signatures as 97-byte ``C_ || e || s``."""

    request_id: int
    owner: str
    origin: str  # deposit, swap
    keyset_epoch: int
    value: int
    outputs: tuple[tuple[int, bytes], ...]  # (amount, B_)
    status: str  # issuing, issued, refunded
    round: int
    committed: tuple[int, ...]  # holders (identifiers) whose round-1 commitments this round took
    responded: tuple[int, ...]  # holders whose round-2 responses arrived
    excluded: tuple[int, ...]
    signatures: tuple[bytes, ...]
    created_at: int
    expires_at: int
    completed_at: int | None

    @classmethod
    def from_json(cls, value: Any) -> MintIssue:
        return cls(
            _int(value["id"]),
            _str(value["owner"]),
            _str(value["origin"]),
            _int(value["keysetEpoch"]),
            _int(value["value"]),
            tuple((_int(o["amount"]), _hex(o["B_"])) for o in value["outputs"]),
            _str(value["status"]),
            _int(value["round"]),
            tuple(_int(i) for i in value["committed"]),
            tuple(_int(i) for i in value["responded"]),
            tuple(_int(i) for i in value["excluded"]),
            tuple(
                _hex(s["C_"]) + _hex(s["dleq"]["e"]) + _hex(s["dleq"]["s"])
                for s in value["signatures"]
            ),
            _int(value["createdAt"]),
            _int(value["expiresAt"]),
            _opt(_int, value["completedAt"]),
        )


@dataclass(frozen=True, slots=True)
class MintRedemption:
    """A redemption commitment: its notes' Y, status (committed, revealed,
    settled, expired), what it won, and the issuance a settled swap opened."""

    commitment_id: int
    sender: str
    ys: tuple[bytes, ...]
    value: int
    height: int
    status: str
    reveal_until: int
    won: int
    settled_at: int | None
    issue_request_id: int | None

    @classmethod
    def from_json(cls, value: Any) -> MintRedemption:
        return cls(
            _int(value["id"]),
            _str(value["sender"]),
            tuple(_hex(n["Y"]) for n in value["notes"]),
            _int(value["value"]),
            _int(value["height"]),
            _str(value["status"]),
            _int(value["revealUntil"]),
            _int(value["won"]),
            _opt(_int, value["settledAt"]),
            _opt(_int, value["issueRequestId"]),
        )


@dataclass(frozen=True, slots=True)
class MintInfo:
    """The mint's settings, its books and its reserve (``ledger_getMint``)."""

    asset: str
    unit: str
    max_exponent: int
    active_keyset_epoch: int | None
    issue_timeout_blocks: int
    round_blocks: int
    lock_window_blocks: int
    reveal_blocks: int
    keyset_grace_blocks: int
    reserve_address: str
    reserve: int
    issued: int
    redeemed: int
    outstanding: int
    in_flight: int

    @classmethod
    def from_json(cls, value: Any) -> MintInfo:
        return cls(
            _str(value["asset"]),
            _str(value["unit"]),
            _int(value["maxExponent"]),
            _opt(_int, value["activeKeysetEpoch"]),
            _int(value["issueTimeoutBlocks"]),
            _int(value["roundBlocks"]),
            _int(value["lockWindowBlocks"]),
            _int(value["revealBlocks"]),
            _int(value["keysetGraceBlocks"]),
            _str(value["reserveAddress"]),
            _int(value["reserve"]),
            _int(value["issued"]),
            _int(value["redeemed"]),
            _int(value["outstanding"]),
            _int(value["inFlight"]),
        )
