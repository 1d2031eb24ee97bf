"""The mail queries as ``Call``s (see ledger.client.calls), and the public
key lookup a sender needs to seal a letter to an address."""

from __future__ import annotations

from typing import Any

from .calls import Address, Call, Height, _height, _optional, address_text
from .mail_results import MailBatchInfo, MailLetters, MailStatusInfo
from .results import _hex, _str


def get_mail_status(height: Height) -> Call[MailStatusInfo | None]:
    return Call("ledger_getMailStatus", [_height(height)], _optional(MailStatusInfo.from_json))


def get_mail_batch(batch_id: int, height: Height) -> Call[MailBatchInfo | None]:
    return Call(
        "ledger_getMailBatch", [batch_id, _height(height)], _optional(MailBatchInfo.from_json)
    )


def get_mail_letters(address: Address, start: int, limit: int, height: Height) -> Call[MailLetters]:
    return Call(
        "ledger_getMailLetters",
        [address_text(address), start, limit, _height(height)],
        MailLetters.from_json,
    )


def _public_key_of(address: str) -> Any:
    def parse(value: Any) -> bytes | None:
        for entry in value["transactions"]:
            if _str(entry["from"]) == address:
                return _hex(entry["publicKey"])
        return None

    return parse


def find_public_key(address: Address) -> Call[bytes | None]:
    """The public key of ``address`` as its newest transactions show it (a
    transaction carries its signer's key), or None if it has sent none the
    node has indexed."""
    text = address_text(address)
    return Call("ledger_getAccountHistory", [text, None, 100], _public_key_of(text))
