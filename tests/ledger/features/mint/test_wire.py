"""The ceremony messages' binary encodings: round trips of real messages,
and every malformed field refused with InvalidEncoding."""

from __future__ import annotations

import pytest

from ledger.features.mint import bdhke, issuance, wire
from ledger.threshold.errors import InvalidEncoding
from ledger.threshold.group import ORDER, RandomBytes
from ledger.threshold.keys import trusted_dealer_keygen

CONTEXT = b"wire"


def test_round_trips_and_rejections(rng: RandomBytes) -> None:
    keys, public = trusted_dealer_keygen(777, 3, 2, rng)
    blinded = bdhke.blind_message(b"note", 3)
    rounds = [issuance.issuance_commit(k, blinded, CONTEXT, rng) for k in keys[:2]]
    commitments = [c for _, c in rounds]
    responses = [
        issuance.issuance_respond(k, n, blinded, commitments, CONTEXT)
        for k, (n, _) in zip(keys[:2], rounds, strict=True)
    ]
    signed = issuance.aggregate_issuance(public, blinded, commitments, responses, CONTEXT)
    cases = [
        (commitments[0].share, wire.encode_evaluation_share, wire.decode_evaluation_share, 129),
        (commitments[1], wire.encode_issuance_commitment, wire.decode_issuance_commitment, 259),
        (responses[0], wire.encode_issuance_response, wire.decode_issuance_response, 64),
        (signed, wire.encode_blind_signature, wire.decode_blind_signature, 97),
    ]
    for value, encode, decode, size in cases:
        data = encode(value)
        assert len(data) == size
        assert decode(data) == value
        for bad in (data[:-1], data + b"\x00", b""):
            with pytest.raises(InvalidEncoding):
                decode(bad)
    share = wire.encode_evaluation_share(commitments[0].share)
    order = ORDER.to_bytes(32, "big")
    for bad in (
        bytes(32) + share[32:],  # identifier zero
        order + share[32:],  # identifier not below the order
        share[:32] + b"\x04" + share[33:],  # bad point prefix
        share[:65] + order + share[97:],  # challenge out of range
        share[:97] + order,  # response out of range
    ):
        with pytest.raises(InvalidEncoding):
            wire.decode_evaluation_share(bad)
    signature = wire.encode_blind_signature(signed)
    wire.decode_blind_signature(signature[:33] + b"\xff" * 32 + signature[65:])  # e: any 32 bytes
    with pytest.raises(InvalidEncoding):
        wire.decode_blind_signature(signature[:65] + order)
