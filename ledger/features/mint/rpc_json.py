"""The mint's JSON in the RPC API (docs/spec/rpc.md): keysets in NUT-01's
and NUT-02's shapes, note states in NUT-07's, issuance requests with their
blind signatures, redemption commitments, the books, and the JSON forms of
the user bodies. Conventions: ledger.json_forms (amounts in keysets follow
NUT-01: the keys map's keys are amounts as decimal strings)."""

from __future__ import annotations

from typing import Any

from ledger.address import encode_address

from .bodies import MintDeposit, MintRedeemCommit, MintRedeemReveal, RedeemTarget
from .queries import MintBooks
from .records import (
    COMMITMENT_STATUS,
    ISSUE_STATUS,
    KEYSET_STATUS,
    RESERVE_ADDRESS,
    ChainKeyset,
    Commitment,
    IssueRequest,
)

ORIGINS = {0: "deposit", 1: "swap"}


def keyset_info_json(keyset: ChainKeyset, unit: str) -> dict[str, Any]:
    """One entry of ledger_getMintKeysets (NUT-02's shape, plus our fields)."""
    return {
        "id": keyset.keyset_id or None,
        "unit": unit,
        "active": keyset.status == 1,
        "input_fee_ppk": 0,
        "epoch": keyset.epoch,
        "status": KEYSET_STATUS[keyset.status],
        "keySet": keyset.key_set,
        "createdAt": keyset.created_at,
        "expiresAt": keyset.expires_at or None,
    }


def keyset_keys_json(keyset: ChainKeyset, unit: str) -> dict[str, Any]:
    """One entry of ledger_getMintKeys (NUT-01's shape)."""
    return {
        "id": keyset.keyset_id,
        "unit": unit,
        "active": keyset.status == 1,
        "keys": {str(1 << i): key.hex() for i, key in enumerate(keyset.public_keys)},
    }


def issue_request_json(request: IssueRequest) -> dict[str, Any]:
    return {
        "id": request.request_id,
        "owner": encode_address(request.owner),
        "origin": ORIGINS[request.origin],
        "keysetEpoch": request.keyset_epoch,
        "value": str(request.value),
        "outputs": [{"amount": str(a), "B_": b.hex()} for a, b in request.outputs],
        "status": ISSUE_STATUS[request.status],
        "createdAt": request.created_at,
        "expiresAt": request.expires_at,
        "round": request.round,
        "committed": sorted(i for i, _ in request.commitments),
        "responded": sorted(i for i, _ in request.responses),
        "excluded": list(request.excluded),
        "signatures": [
            {"C_": sig[:33].hex(), "dleq": {"e": sig[33:65].hex(), "s": sig[65:97].hex()}}
            for sig in request.signatures
        ],
        "completedAt": request.completed_at or None,
    }


def target_json(target: RedeemTarget) -> dict[str, Any]:
    if target.kind == 0:
        return {"kind": "address", "address": encode_address(target.address)}
    return {
        "kind": "swap",
        "keysetEpoch": target.keyset_epoch,
        "outputs": [{"amount": str(a), "B_": b.hex()} for a, b in target.outputs],
    }


def commitment_json(commitment: Commitment) -> dict[str, Any]:
    return {
        "id": commitment.commitment_id,
        "sender": encode_address(commitment.sender),
        "notes": [
            {"keysetEpoch": n.keyset_epoch, "amount": str(n.amount), "Y": n.y.hex()}
            for n in commitment.inputs
        ],
        "value": str(commitment.value),
        "height": commitment.height,
        "status": COMMITMENT_STATUS[commitment.status],
        "revealUntil": commitment.expires_at,
        "target": target_json(commitment.target) if commitment.target else None,
        "won": str(commitment.won),
        "settledAt": commitment.settled_at or None,
        "issueRequestId": commitment.issue_request or None,
    }


def books_json(books: MintBooks) -> dict[str, Any]:
    return {
        "reserveAddress": encode_address(RESERVE_ADDRESS),
        "reserve": str(books.reserve),
        "issued": str(books.books.issued),
        "redeemed": str(books.books.redeemed),
        "outstanding": str(books.books.outstanding),
        "inFlight": str(books.books.in_flight),
    }


def deposit_json(body: MintDeposit) -> dict[str, Any]:
    return {
        "keysetEpoch": body.keyset_epoch,
        "value": str(body.value),
        "outputs": [{"amount": str(a), "B_": b.hex()} for a, b in body.outputs],
    }


def redeem_commit_json(body: MintRedeemCommit) -> dict[str, Any]:
    return {
        "notes": [
            {"keysetEpoch": n.keyset_epoch, "amount": str(n.amount), "Y": n.y.hex(), "C": n.c.hex()}
            for n in body.inputs
        ],
        "digest": body.digest.hex(),
    }


def redeem_reveal_json(body: MintRedeemReveal) -> dict[str, Any]:
    return {
        "commitmentId": body.commitment_id,
        "secrets": list(body.secrets),
        "target": target_json(body.target),
        "salt": body.salt.hex(),
    }
