"""NUT-00 and NUT-12 for one key holder: properties on random inputs, the
edge cases, and a cross-check of every operation against a second
implementation on python-ecdsa (ledger.threshold.group_reference)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.features.mint import bdhke, curve, dleq
from ledger.threshold import group, group_reference
from ledger.threshold.errors import InvalidEncoding, InvalidParameters
from ledger.threshold.group import FIELD_PRIME, GENERATOR, IDENTITY, ORDER, Point

scalars = st.integers(min_value=1, max_value=ORDER - 1)
messages = st.binary(max_size=64)


# -- A second implementation, on python-ecdsa -----------------------------------


def reference_hash_to_curve(message: bytes) -> Point:
    """NUT-00 hash_to_curve with the on-curve test done by python-ecdsa's side."""
    msg_hash = hashlib.sha256(bdhke.DOMAIN_SEPARATOR + message).digest()
    counter = 0
    while True:
        candidate = hashlib.sha256(msg_hash + counter.to_bytes(4, "little")).digest()
        try:
            return group_reference.decode_element(b"\x02" + candidate)
        except InvalidEncoding:
            counter += 1


def reference_uncompressed(p: Point) -> bytes:
    x = int.from_bytes(p.sec[1:], "big")
    y = pow((x**3 + 7) % FIELD_PRIME, (FIELD_PRIME + 1) // 4, FIELD_PRIME)
    if y & 1 != p.sec[0] & 1:
        y = FIELD_PRIME - y
    return b"\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big")


def reference_verify(mint_key: Point, blinded: Point, signature: Point, e: int, s: int) -> bool:
    """NUT-12 verification in python-ecdsa arithmetic."""
    r1 = group_reference.point_add(
        group_reference.base_mul(s), group_reference.point_mul(mint_key, -e)
    )
    r2 = group_reference.point_add(
        group_reference.point_mul(blinded, s), group_reference.point_mul(signature, -e)
    )
    text = "".join(reference_uncompressed(p).hex() for p in (r1, r2, mint_key, signature))
    return hashlib.sha256(text.encode()).digest() == e.to_bytes(32, "big")


@settings(max_examples=30, deadline=None)
@given(message=messages, r=scalars, k=scalars)
def test_matches_python_ecdsa_reference(message: bytes, r: int, k: int) -> None:
    y = bdhke.hash_to_curve(message)
    assert y == reference_hash_to_curve(message)
    blinded = bdhke.blind_message(message, r)
    assert blinded == group_reference.point_add(y, group_reference.base_mul(r))
    signature, proof = dleq.prove_blind_signature(k, blinded)
    assert signature == group_reference.point_mul(blinded, k)
    assert reference_verify(
        group_reference.base_mul(k), blinded, signature, proof.challenge, proof.response
    )
    assert curve.encode_uncompressed(y) == reference_uncompressed(y)
    unblinded = bdhke.unblind_signature(signature, r, group.base_mul(k))
    assert unblinded == group_reference.point_mul(y, k)


@settings(max_examples=30, deadline=None)
@given(a=scalars, b=scalars, p_scalar=scalars, q_scalar=scalars)
def test_linear_combination_matches_group(a: int, b: int, p_scalar: int, q_scalar: int) -> None:
    p, q = group.base_mul(p_scalar), group.base_mul(q_scalar)
    expected = group.point_add(group.point_mul(p, a), group.point_mul(q, -b))
    assert curve.linear_combination(((p, a), (q, -b))) == expected
    assert curve.linear_combination(((GENERATOR, a), (q, b))) == group.point_add(
        group.base_mul(a), group.point_mul(q, b)
    )
    uncompressed = curve.linear_combination_uncompressed(((p, a), (q, -b)))
    assert uncompressed == (None if expected.is_identity() else reference_uncompressed(expected))


def test_linear_combination_identity_cases() -> None:
    p = group.base_mul(5)
    assert curve.linear_combination(()) == IDENTITY
    assert curve.linear_combination(((p, 3), (p, -3))) == IDENTITY
    assert curve.linear_combination(((p, 0), (IDENTITY, 7))) == IDENTITY
    assert curve.linear_combination_uncompressed(((p, 1), (p, ORDER - 1))) is None
    with pytest.raises(InvalidEncoding):
        curve.encode_uncompressed(IDENTITY)


@settings(max_examples=25, deadline=None)
@given(secret=st.text(max_size=40), r=scalars, k=scalars)
def test_blind_sign_unblind_verify(secret: str, r: int, k: int) -> None:
    message = secret.encode("utf-8")
    blinded = bdhke.blind_message(message, r)
    signature, proof = dleq.prove_blind_signature(k, blinded)
    mint_key = group.base_mul(k)
    note = bdhke.unblind_signature(signature, r, mint_key)
    assert note == group.point_mul(bdhke.secret_point(secret), k)
    other = k + 1 if k + 1 < ORDER else 1
    assert bdhke.verify_signature(k, message, note)
    assert not bdhke.verify_signature(other, message, note)
    assert not bdhke.verify_signature(k, message + b"x", note)
    assert dleq.verify_blind_signature_proof(mint_key, blinded, signature, proof)
    assert dleq.verify_note_proof(mint_key, message, note, proof, r)
    other_key = group.base_mul(other)
    assert not dleq.verify_blind_signature_proof(other_key, blinded, signature, proof)
    assert not dleq.verify_note_proof(mint_key, message, note, proof, r + 1 if r + 1 < ORDER else 1)


def test_a_proof_for_a_wrong_signature_fails() -> None:
    k, blinded = 77, bdhke.blind_message(b"note", 5)
    signature, proof = dleq.prove_blind_signature(k, blinded)
    wrong = group.point_add(signature, GENERATOR)
    assert not dleq.verify_blind_signature_proof(group.base_mul(k), blinded, wrong, proof)
    # A proof made honestly for the wrong key does not carry over either.
    wrong_signature, wrong_proof = dleq.prove_blind_signature(k + 1, blinded)
    assert not dleq.verify_blind_signature_proof(
        group.base_mul(k), blinded, wrong_signature, wrong_proof
    )


def test_identity_inputs_are_refused() -> None:
    with pytest.raises(InvalidParameters):
        bdhke.sign_blinded_message(5, IDENTITY)
    with pytest.raises(InvalidParameters):
        bdhke.sign_blinded_message(0, GENERATOR)
    with pytest.raises(InvalidParameters):
        bdhke.blind_message(b"x", 0)
    with pytest.raises(InvalidParameters):
        bdhke.blind_message(b"x", ORDER)
    with pytest.raises(InvalidParameters):
        dleq.prove_blind_signature(5, IDENTITY)
    with pytest.raises(InvalidEncoding):
        dleq.hash_e(IDENTITY, GENERATOR)
    proof = dleq.DleqProof(1, 1)
    for points in ((IDENTITY, GENERATOR, GENERATOR), (GENERATOR, IDENTITY, GENERATOR)):
        assert not dleq.verify_blind_signature_proof(*points, proof)
    assert not dleq.verify_blind_signature_proof(GENERATOR, GENERATOR, IDENTITY, proof)
    assert not bdhke.verify_signature(5, b"x", IDENTITY)
    assert not dleq.verify_note_proof(GENERATOR, b"x", IDENTITY, proof, 1)
    assert not dleq.verify_note_proof(GENERATOR, b"x", GENERATOR, proof, 0)


def test_degenerate_proof_that_makes_r1_the_identity_fails() -> None:
    # s*G - e*A is the identity when s = e*a: the hash cannot take it, so it fails.
    a = 3
    e = 5
    proof = dleq.DleqProof(e, e * a % ORDER)
    assert not dleq.verify_blind_signature_proof(
        group.base_mul(a), GENERATOR, group.base_mul(a), proof
    )


def test_dleq_proof_ranges() -> None:
    dleq.DleqProof(2**256 - 1, ORDER - 1)
    with pytest.raises(InvalidEncoding):
        dleq.DleqProof(2**256, 1)
    with pytest.raises(InvalidEncoding):
        dleq.DleqProof(1, ORDER)
    with pytest.raises(InvalidEncoding):
        dleq.DleqProof(-1, 1)
