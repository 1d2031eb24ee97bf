"""Typed results of the mail queries (docs/spec/rpc.md, "Mail"), parsed
from the RPC's JSON like ledger.client.results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .results import _hex, _int, _opt, _str


@dataclass(frozen=True, slots=True)
class MailBatchInfo:
    """One batch of the mix (ledger_getMailBatch)."""

    batch_id: int
    status: str  # open, shuffling, decrypting, delivered, failed
    cells: int
    opened_at: int | None
    closed_at: int | None
    schedule: tuple[str, ...]  # shufflers in turn order (addresses)
    step: int
    turn: int
    shufflers: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...]  # (address, reason)
    shares_posted: int
    finished_at: int | None
    delivered: int
    undeliverable: int
    reason: str | None

    @classmethod
    def from_json(cls, value: Any) -> MailBatchInfo:
        return cls(
            batch_id=_int(value["id"]),
            status=_str(value["status"]),
            cells=_int(value["cells"]),
            opened_at=_opt(_int, value["openedAt"]),
            closed_at=_opt(_int, value["closedAt"]),
            schedule=tuple(_str(v["address"]) for v in value["schedule"]),
            step=_int(value["step"]),
            turn=_int(value["turn"]),
            shufflers=tuple(_str(v["address"]) for v in value["shufflers"]),
            skipped=tuple((_str(v["address"]), _str(v["reason"])) for v in value["skipped"]),
            shares_posted=_int(value["sharesPosted"]),
            finished_at=_opt(_int, value["finishedAt"]),
            delivered=_int(value["delivered"]),
            undeliverable=_int(value["undeliverable"]),
            reason=_opt(_str, value["reason"]),
        )


@dataclass(frozen=True, slots=True)
class MailKeyInfo:
    public_key: bytes
    threshold: int
    epoch: int
    holders: tuple[str, ...]  # validator addresses


@dataclass(frozen=True, slots=True)
class MailStatusInfo:
    """The mix (ledger_getMailStatus)."""

    mix_address: str
    cell_width: int
    message_capacity: int
    batch_cells: int
    batch_blocks: int
    retention_blocks: int
    postage_gas: int | None
    key: MailKeyInfo | None
    open_batch: MailBatchInfo | None
    in_flight: tuple[MailBatchInfo, ...]
    faults: tuple[dict[str, Any], ...]

    @classmethod
    def from_json(cls, value: Any) -> MailStatusInfo:
        key = value["key"]
        return cls(
            mix_address=_str(value["mixAddress"]),
            cell_width=_int(value["cellWidth"]),
            message_capacity=_int(value["messageCapacity"]),
            batch_cells=_int(value["batchCells"]),
            batch_blocks=_int(value["batchBlocks"]),
            retention_blocks=_int(value["retentionBlocks"]),
            postage_gas=_opt(_int, value["postageGas"]),
            key=None
            if key is None
            else MailKeyInfo(
                _hex(key["publicKey"]),
                _int(key["threshold"]),
                _int(key["epoch"]),
                tuple(_str(h["address"]) for h in key["holders"]),
            ),
            open_batch=_opt(MailBatchInfo.from_json, value["openBatch"]),
            in_flight=tuple(MailBatchInfo.from_json(b) for b in value["inFlight"]),
            faults=tuple(dict(f) for f in value["faults"]),
        )


@dataclass(frozen=True, slots=True)
class SealedLetterInfo:
    sequence: int
    batch_id: int
    delivered_at: int
    sealed: bytes


@dataclass(frozen=True, slots=True)
class MailLetters:
    """A page of a mailbox of the mix (ledger_getMailLetters)."""

    address: str
    received: int
    first_held: int
    letters: tuple[SealedLetterInfo, ...]

    @classmethod
    def from_json(cls, value: Any) -> MailLetters:
        return cls(
            _str(value["address"]),
            _int(value["received"]),
            _int(value["firstHeld"]),
            tuple(
                SealedLetterInfo(
                    _int(item["sequence"]),
                    _int(item["batch"]),
                    _int(item["deliveredAt"]),
                    _hex(item["sealed"]),
                )
                for item in value["letters"]
            ),
        )
