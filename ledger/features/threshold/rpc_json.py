"""The threshold key's JSON in the RPC API (docs/spec/rpc.md): the group key
and its members, and a ceremony. The threshold bodies have no JSON form of
their own (they render as their fields). Conventions: ledger.json_forms."""

from __future__ import annotations

from typing import Any

from ledger.address import address_of, encode_address
from ledger.features.threshold.ceremonies import Ceremony, Group


def threshold_group_json(group: Group) -> dict[str, Any]:
    """The validators' threshold key (ledger_getThresholdKey)."""
    return {
        "publicKey": group.public_key.hex(),
        "address": encode_address(group.address),
        "threshold": group.threshold,
        "epoch": group.epoch,
        "ceremonyId": group.ceremony_id,
        "members": [
            {
                "identifier": identifier,
                "validator": encode_address(address_of(key)),
                "publicKey": key.hex(),
                "verificationShare": share.hex(),
            }
            for identifier, key, share in group.members
        ],
    }


def ceremony_json(ceremony: Ceremony) -> dict[str, Any]:
    """One threshold ceremony (ledger_getCeremonies)."""
    return {
        "id": ceremony.ceremony_id,
        "kind": ceremony.kind_name,
        "status": ceremony.status_name,
        "requestedAt": ceremony.requested_at,
        "expiresAt": ceremony.expires_at,
        "completedAt": ceremony.completed_at or None,
        "requester": encode_address(ceremony.requester) if ceremony.requester else None,
        "epoch": ceremony.epoch,
        "threshold": ceremony.threshold,
        "participants": [encode_address(address_of(k)) for k in ceremony.participants],
        "message": ceremony.message.hex(),
        "transaction": ceremony.transaction.hex() or None,
        "result": ceremony.result.hex() or None,
        "reports": len(ceremony.reports),
        "keySet": ceremony.key_set,
        "keys": ceremony.key_count,
    }
