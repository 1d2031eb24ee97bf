"""RFC 9591 FROST(secp256k1, SHA-256) vectors: every intermediate and final
value, through both group backends where points are involved."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.threshold import frost, group, group_reference
from ledger.threshold.group import RandomBytes
from ledger.threshold.keys import KeyPackage, derive_public_key_package, secret_share_shard
from ledger.threshold.polynomial import interpolate_constant
from ledger.threshold.vss import vss_commit

Vector = dict[str, Any]


def _scalar(hex_string: str) -> int:
    return group.decode_scalar(bytes.fromhex(hex_string))


def _setup(v: Vector) -> tuple[dict[int, KeyPackage], bytes]:
    inputs = v["inputs"]
    secret = _scalar(inputs["group_secret_key"])
    coefficients = [_scalar(c) for c in inputs["share_polynomial_coefficients"]]
    max_participants = int(v["config"]["MAX_PARTICIPANTS"])
    public = derive_public_key_package(
        vss_commit([secret, *coefficients]), range(1, max_participants + 1)
    )
    shares = secret_share_shard(secret, coefficients, max_participants)
    keys = {i: KeyPackage(i, s, public) for i, s in shares}
    return keys, bytes.fromhex(inputs["message"])


def _replay(chunks: list[bytes]) -> RandomBytes:
    """A random source that hands out the given chunks in order."""

    def take(size: int) -> bytes:
        assert len(chunks[0]) == size
        return chunks.pop(0)

    return take


def _round_one(
    v: Vector, keys: dict[int, KeyPackage]
) -> tuple[dict[int, frost.SigningNonces], list[frost.SigningCommitment]]:
    nonces: dict[int, frost.SigningNonces] = {}
    commitments = []
    for out in v["round_one_outputs"]["outputs"]:
        randomness = [
            bytes.fromhex(out["hiding_nonce_randomness"]),
            bytes.fromhex(out["binding_nonce_randomness"]),
        ]
        n, c = frost.commit(keys[out["identifier"]], _replay(randomness))
        assert randomness == []
        nonces[out["identifier"]] = n
        commitments.append(c)
    return nonces, commitments


def test_config_is_the_secp256k1_ciphersuite(frost_vector: Vector) -> None:
    assert frost_vector["config"]["group"] == "secp256k1"
    assert frost_vector["config"]["hash"] == "SHA-256"
    participants = frost_vector["inputs"]["participant_list"]
    assert len(participants) == int(frost_vector["config"]["NUM_PARTICIPANTS"])


def test_group_key_and_participant_shares(frost_vector: Vector) -> None:
    inputs = frost_vector["inputs"]
    keys, _ = _setup(frost_vector)
    expected = {
        p["identifier"]: _scalar(p["participant_share"]) for p in inputs["participant_shares"]
    }
    assert {i: k.secret_share for i, k in keys.items()} == expected
    secret = _scalar(inputs["group_secret_key"])
    for backend in (group, group_reference):
        assert backend.base_mul(secret).sec.hex() == inputs["group_public_key"]
    assert keys[1].group_public_key.sec.hex() == inputs["group_public_key"]
    # Any MIN_PARTICIPANTS shares give the secret back.
    assert interpolate_constant([(1, expected[1]), (3, expected[3])]) == secret


def test_round_one_nonces_and_commitments(frost_vector: Vector) -> None:
    keys, _ = _setup(frost_vector)
    nonces, commitments = _round_one(frost_vector, keys)
    for out, commitment in zip(
        frost_vector["round_one_outputs"]["outputs"], commitments, strict=True
    ):
        n = nonces[out["identifier"]]
        assert n.hiding == _scalar(out["hiding_nonce"])
        assert n.binding == _scalar(out["binding_nonce"])
        assert commitment.hiding.sec.hex() == out["hiding_nonce_commitment"]
        assert commitment.binding.sec.hex() == out["binding_nonce_commitment"]
        assert group_reference.base_mul(n.hiding) == commitment.hiding
        assert group_reference.base_mul(n.binding) == commitment.binding


def test_binding_factors(frost_vector: Vector) -> None:
    keys, message = _setup(frost_vector)
    _, commitments = _round_one(frost_vector, keys)
    group_key = keys[1].group_public_key
    inputs = frost.binding_factor_inputs(group_key, commitments, message)
    factors = frost.compute_binding_factors(group_key, commitments, message)
    for out in frost_vector["round_one_outputs"]["outputs"]:
        assert inputs[out["identifier"]].hex() == out["binding_factor_input"]
        assert factors[out["identifier"]] == _scalar(out["binding_factor"])


def test_round_two_signature_shares(frost_vector: Vector) -> None:
    keys, message = _setup(frost_vector)
    nonces, commitments = _round_one(frost_vector, keys)
    public = keys[1].public
    for out in frost_vector["round_two_outputs"]["outputs"]:
        i = out["identifier"]
        share = frost.sign(keys[i], nonces[i], message, commitments)
        assert share == frost.SignatureShare(i, _scalar(out["sig_share"]))
        assert frost.verify_signature_share(share, commitments, public, message)


def test_final_signature(frost_vector: Vector) -> None:
    keys, message = _setup(frost_vector)
    _, commitments = _round_one(frost_vector, keys)
    shares = [
        frost.SignatureShare(o["identifier"], _scalar(o["sig_share"]))
        for o in frost_vector["round_two_outputs"]["outputs"]
    ]
    signature = frost.aggregate(commitments, message, keys[1].public, shares)
    expected = frost_vector["final_output"]["sig"]
    assert frost.encode_signature(signature).hex() == expected
    group_key = bytes.fromhex(frost_vector["inputs"]["group_public_key"])
    assert frost.verify_signature(group_key, message, bytes.fromhex(expected))


def test_final_signature_equation_on_reference_backend(frost_vector: Vector) -> None:
    signature = frost.decode_signature(bytes.fromhex(frost_vector["final_output"]["sig"]))
    group_key = group.decode_element(bytes.fromhex(frost_vector["inputs"]["group_public_key"]))
    message = bytes.fromhex(frost_vector["inputs"]["message"])
    challenge = frost.compute_challenge(signature.commitment, group_key, message)
    rhs = group_reference.point_add(
        signature.commitment, group_reference.point_mul(group_key, challenge)
    )
    assert group_reference.base_mul(signature.response) == rhs


@pytest.mark.parametrize("flip", [0, 1, 32, 33, 64])
def test_invalid_vector_signature_with_a_flipped_bit(frost_vector: Vector, flip: int) -> None:
    signature = bytearray.fromhex(frost_vector["final_output"]["sig"])
    signature[flip] ^= 0x01
    group_key = bytes.fromhex(frost_vector["inputs"]["group_public_key"])
    message = bytes.fromhex(frost_vector["inputs"]["message"])
    assert not frost.verify_signature(group_key, message, bytes(signature))
