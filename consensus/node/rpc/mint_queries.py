"""The RPC queries of the mint.

``MintQueries.methods()`` lists, for the method table of
consensus.node.rpc.methods:

- ``ledger_getMintKeysets``: every keyset (NUT-02's shape: ``{keysets:
  [{id, unit, active, input_fee_ppk, ...}]}``);
- ``ledger_getMintKeys``: the public keys of every redeemable keyset, or of
  one keyset id (NUT-01's shape: ``{keysets: [{id, unit, keys: {amount:
  pubkey}}]}``);
- ``ledger_checkNoteStates``: NUT-07's shape, ``{states: [{Y, state,
  witness}]}``, state UNSPENT, PENDING or SPENT;
- ``ledger_getMintIssue``: an issuance request with its blind signatures;
- ``ledger_getMintRedemption``: a redemption commitment;
- ``ledger_getMint``: the settings, the books and the reserve.

docs/spec/rpc.md describes the answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ledger.features.mint import rpc_json as mint_forms
from ledger.features.mint.queries import (
    issue_request,
    mint_books,
    mint_config,
    mint_keysets,
    note_state,
    redemption_commitment,
)
from ledger.rpc_errors import InvalidParams
from ledger.state import StateReader

from . import json_format as jf
from .asset_queries import parse_id
from .dispatch import Method, Param

MAX_NOTE_STATES: Final = 1000


def parse_ys(value: object, name: str = "Ys") -> tuple[bytes, ...]:
    """1..MAX_NOTE_STATES points Y, hex, 33 bytes each."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_NOTE_STATES:
        raise InvalidParams(f"{name}: a list of 1-{MAX_NOTE_STATES} hex points", {"param": name})
    return tuple(jf.parse_hex(item, name, 33) for item in value)


def parse_keyset_id(value: object, name: str = "id") -> str:
    if not isinstance(value, str) or not 16 <= len(value) <= 66:
        raise InvalidParams(f"{name}: a keyset id", {"param": name})
    return value


class MintQueries:
    """The mint's query handlers; ``state_at(height)`` gives the state after a
    block (None: the latest) and raises BlockNotFound above the tip."""

    def __init__(self, state_at: Callable[[int | None], StateReader]) -> None:
        self.state_at = state_at

    def methods(self) -> list[Method]:
        height = Param("height", jf.parse_height, required=False)
        return [
            Method.of("ledger_getMintKeysets", self.get_keysets, height),
            Method.of(
                "ledger_getMintKeys",
                self.get_keys,
                Param("id", parse_keyset_id, required=False),
                height,
            ),
            Method.of("ledger_checkNoteStates", self.check_note_states, Param("Ys", parse_ys)),
            Method.of(
                "ledger_getMintIssue",
                self.get_issue,
                Param("id", lambda v: parse_id(v, "id")),
                height,
            ),
            Method.of(
                "ledger_getMintRedemption",
                self.get_redemption,
                Param("id", lambda v: parse_id(v, "id")),
                height,
            ),
            Method.of("ledger_getMint", self.get_mint, height),
        ]

    def get_keysets(self, height: int | None) -> dict[str, Any]:
        state = self.state_at(height)
        config = mint_config(state)
        if config is None:
            return {"keysets": []}
        _, keysets = mint_keysets(state)
        return {"keysets": [mint_forms.keyset_info_json(k, config.unit) for k in keysets]}

    def get_keys(self, keyset_id: str | None, height: int | None) -> dict[str, Any]:
        state = self.state_at(height)
        config = mint_config(state)
        if config is None:
            return {"keysets": []}
        _, keysets = mint_keysets(state)
        chosen = [
            k
            for k in keysets
            if k.redeemable and (keyset_id is None or k.keyset_id.startswith(keyset_id))
        ]
        return {"keysets": [mint_forms.keyset_keys_json(k, config.unit) for k in chosen]}

    def check_note_states(self, ys: tuple[bytes, ...]) -> dict[str, Any]:
        state = self.state_at(None)
        return {
            "states": [{"Y": y.hex(), "state": note_state(state, y), "witness": None} for y in ys]
        }

    def get_issue(self, request_id: int, height: int | None) -> dict[str, Any] | None:
        request = issue_request(self.state_at(height), request_id)
        return mint_forms.issue_request_json(request) if request is not None else None

    def get_redemption(self, commitment_id: int, height: int | None) -> dict[str, Any] | None:
        commitment = redemption_commitment(self.state_at(height), commitment_id)
        return mint_forms.commitment_json(commitment) if commitment is not None else None

    def get_mint(self, height: int | None) -> dict[str, Any] | None:
        state = self.state_at(height)
        config = mint_config(state)
        books = mint_books(state)
        if config is None or books is None:
            return None
        active, _ = mint_keysets(state)
        return {
            "asset": config.asset,
            "unit": config.unit,
            "maxExponent": config.max_exponent,
            "activeKeysetEpoch": active or None,
            "issueTimeoutBlocks": config.issue_timeout_blocks,
            "roundBlocks": config.round_blocks,
            "lockWindowBlocks": config.lock_window_blocks,
            "revealBlocks": config.reveal_blocks,
            "keysetGraceBlocks": config.keyset_grace_blocks,
            **mint_forms.books_json(books),
        }
