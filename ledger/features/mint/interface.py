"""What the client (the wallet) and other features may use of the mint: the
Cashu primitives a wallet runs (hash_to_curve, blinding, unblinding, NUT-12
checks, amount splitting, tokens), the digest a redemption commits to, and
the chain's records and read-only views. Everything else in
ledger.features.mint is its own."""

from __future__ import annotations

from ledger.features.mint.bdhke import (
    blind_message,
    hash_to_curve,
    random_blinding_factor,
    secret_point,
    unblind_signature,
)
from ledger.features.mint.dleq import DleqProof, verify_blind_signature_proof, verify_note_proof
from ledger.features.mint.keysets import Keyset, keyset_id_v1, split_amount
from ledger.features.mint.records import RESERVE_ADDRESS
from ledger.features.mint.redeem import redemption_digest
from ledger.features.mint.tokens import (
    Note,
    NoteDleq,
    Token,
    decode_token,
    encode_token_v3,
    encode_token_v4,
)

__all__ = [
    "RESERVE_ADDRESS",
    "DleqProof",
    "Keyset",
    "Note",
    "NoteDleq",
    "Token",
    "blind_message",
    "decode_token",
    "encode_token_v3",
    "encode_token_v4",
    "hash_to_curve",
    "keyset_id_v1",
    "random_blinding_factor",
    "redemption_digest",
    "secret_point",
    "split_amount",
    "unblind_signature",
    "verify_blind_signature_proof",
    "verify_note_proof",
]
