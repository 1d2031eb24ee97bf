"""The mail feature's JSON in the RPC API (docs/spec/rpc.md): the mix's
status, a batch, a mailbox, and the JSON forms of its two bodies.
Conventions: ledger.json_forms."""

from __future__ import annotations

from typing import Any

from ledger.address import address_of, encode_address
from ledger.features.mail.bodies import MailDecrypt, MailShuffle


def shuffle_json(body: MailShuffle) -> dict[str, Any]:
    return {"batch": str(body.batch_id), "step": body.step, "shuffle": body.shuffle.hex()}


def decrypt_json(body: MailDecrypt) -> dict[str, Any]:
    return {"batch": str(body.batch_id), "epoch": str(body.epoch), "share": body.share.hex()}


def validator_json(public_key: bytes) -> dict[str, str]:
    """A validator named by its key and its address."""
    return {"publicKey": public_key.hex(), "address": encode_address(address_of(public_key))}
