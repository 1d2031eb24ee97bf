"""The mail feature's JSON in the RPC API (docs/spec/rpc.md): the mix's
status, a batch, a mailbox, and the JSON forms of its two bodies.
Conventions: ledger.json_forms."""

from __future__ import annotations

from typing import Any

from ledger.address import address_of, encode_address
from ledger.features.mail.bodies import MIX_ADDRESS, MailDecrypt, MailShuffle
from ledger.features.mail.key import MailKey
from ledger.features.mail.params import message_capacity
from ledger.features.mail.queries import MailStatus
from ledger.features.mail.records import Batch, MailboxLetter


def shuffle_json(body: MailShuffle) -> dict[str, Any]:
    return {"batch": str(body.batch_id), "step": body.step, "shuffle": body.shuffle.hex()}


def decrypt_json(body: MailDecrypt) -> dict[str, Any]:
    return {"batch": str(body.batch_id), "epoch": str(body.epoch), "share": body.share.hex()}


def validator_json(public_key: bytes) -> dict[str, str]:
    """A validator named by its key and its address."""
    return {"publicKey": public_key.hex(), "address": encode_address(address_of(public_key))}


def mail_key_json(key: MailKey) -> dict[str, Any]:
    return {
        "publicKey": key.public_key.sec.hex(),
        "threshold": key.threshold,
        "epoch": key.epoch,
        "holders": [
            {"identifier": i, **validator_json(k), "verificationShare": share.sec.hex()}
            for i, k, share in key.members
        ],
    }


def batch_json(batch: Batch) -> dict[str, Any]:
    """One batch (ledger_getMailBatch)."""
    return {
        "id": batch.batch_id,
        "status": batch.status_name,
        "cells": batch.cells,
        "openedAt": batch.opened_at or None,
        "closedAt": batch.closed_at or None,
        "schedule": [{**validator_json(k), "power": str(p)} for k, p in batch.schedule],
        "step": batch.step,
        "turn": batch.turn,
        "turnStartedAt": batch.turn_started or None,
        "shufflers": [validator_json(k) for k in batch.shufflers],
        "skipped": [{**validator_json(k), "reason": r} for k, r in batch.skipped],
        "decryptingSince": batch.decrypting_since or None,
        "sharesPosted": len(batch.share_ids),
        "finishedAt": batch.finished_at or None,
        "delivered": batch.delivered,
        "undeliverable": batch.undeliverable,
        "reason": batch.reason or None,
    }


def status_json(status: MailStatus) -> dict[str, Any]:
    """The mix's settings and state (ledger_getMailStatus)."""
    config = status.config
    return {
        "mixAddress": encode_address(MIX_ADDRESS),
        "cellWidth": config.cell_width,
        "messageCapacity": message_capacity(config.cell_width),
        "batchCells": config.batch_cells,
        "batchBlocks": config.batch_blocks,
        "shuffleTimeoutBlocks": config.shuffle_timeout_blocks,
        "decryptionTimeoutBlocks": config.decryption_timeout_blocks,
        "retentionBlocks": config.retention_blocks,
        "gasPerTerm": str(config.gas_per_term),
        "maxBatchesInFlight": config.max_batches_in_flight,
        "mailboxCapacity": config.mailbox_capacity,
        "postageGas": None if status.postage_gas is None else str(status.postage_gas),
        "key": None if status.key is None else mail_key_json(status.key),
        "openBatch": None if status.open_batch is None else batch_json(status.open_batch),
        "inFlight": [batch_json(b) for b in status.in_flight],
        "faults": [
            {
                **validator_json(k),
                "badShuffles": f.bad_shuffles,
                "timeouts": f.timeouts,
                "badShares": f.bad_shares,
                "lastHeight": f.last_height,
            }
            for k, f in status.faults
        ],
    }


def letters_json(
    address: bytes, letters: list[tuple[int, MailboxLetter]], next_sequence: int, first: int
) -> dict[str, Any]:
    """A page of a mailbox (ledger_getMailLetters): the sealed letters, which
    only the recipient's key opens."""
    return {
        "address": encode_address(address),
        "received": next_sequence,
        "firstHeld": first,
        "letters": [
            {
                "sequence": sequence,
                "batch": letter.batch_id,
                "deliveredAt": letter.delivered_at,
                "sealed": letter.sealed.hex(),
            }
            for sequence, letter in letters
        ],
    }
