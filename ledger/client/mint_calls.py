"""The mint's queries as ``Call``s (see ledger.client.calls): the sync and
async clients run the same ones."""

from __future__ import annotations

from .calls import Call, Height, _height, _optional
from .mint_results import MintInfo, MintIssue, MintKeys, MintKeysetInfo, MintRedemption


def get_mint_keys(keyset_id: str | None, height: Height) -> Call[tuple[MintKeys, ...]]:
    return Call(
        "ledger_getMintKeys",
        [keyset_id, _height(height)],
        lambda value: tuple(MintKeys.from_json(k) for k in value["keysets"]),
    )


def get_mint_keysets(height: Height) -> Call[tuple[MintKeysetInfo, ...]]:
    return Call(
        "ledger_getMintKeysets",
        [_height(height)],
        lambda value: tuple(MintKeysetInfo.from_json(k) for k in value["keysets"]),
    )


def check_note_states(ys: list[bytes]) -> Call[dict[bytes, str]]:
    """NUT-07: UNSPENT, PENDING or SPENT per Y."""
    return Call(
        "ledger_checkNoteStates",
        [[y.hex() for y in ys]],
        lambda value: {bytes.fromhex(s["Y"]): str(s["state"]) for s in value["states"]},
    )


def get_mint_issue(request_id: int, height: Height) -> Call[MintIssue | None]:
    return Call(
        "ledger_getMintIssue", [request_id, _height(height)], _optional(MintIssue.from_json)
    )


def get_mint_redemption(commitment_id: int, height: Height) -> Call[MintRedemption | None]:
    return Call(
        "ledger_getMintRedemption",
        [commitment_id, _height(height)],
        _optional(MintRedemption.from_json),
    )


def get_mint(height: Height) -> Call[MintInfo | None]:
    return Call("ledger_getMint", [_height(height)], _optional(MintInfo.from_json))
