"""FROST signing beyond the RFC vector: random t-of-n ceremonies, and every
bad input raising a typed error that names the culprit."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from ledger.threshold import frost
from ledger.threshold.errors import (
    InvalidCommitment,
    InvalidEncoding,
    InvalidParameters,
    InvalidRandomness,
    InvalidShare,
)
from ledger.threshold.group import IDENTITY, ORDER, RandomBytes, base_mul, encode_element
from ledger.threshold.keys import KeyPackage, PublicKeyPackage, trusted_dealer_keygen
from ledger.threshold.polynomial import derive_interpolating_value, interpolate_constant
from tests.hypothesis_profiles import examples

from .inprocess import seeded_rng, sign

MESSAGE = b"transfer 10 coin to alice, nonce 7"


@settings(max_examples=examples(25), deadline=None)
@given(data=st.data(), n=st.integers(min_value=1, max_value=8), seed=st.integers(0, 2**32))
def test_random_subsets_sign_and_verify(data: st.DataObject, n: int, seed: int) -> None:
    t = data.draw(st.integers(min_value=1, max_value=n), label="threshold")
    rng = seeded_rng(seed)
    keys, public = trusted_dealer_keygen(random.Random(seed).randrange(1, ORDER), n, t, rng)
    size = data.draw(st.integers(min_value=t, max_value=n), label="signers")
    signers = data.draw(st.permutations(keys), label="order")[:size]
    message = data.draw(st.binary(max_size=64), label="message")
    signature = sign(signers, message, rng)
    group_key = encode_element(public.group_public_key)
    assert frost.verify_signature(group_key, message, signature)
    assert not frost.verify_signature(group_key, message + b"\x00", signature)


ATTACKS = ("wrong share", "wrong commitment", "replayed nonce", "replayed share")


@settings(max_examples=examples(25), deadline=None)
@given(
    data=st.data(),
    n=st.integers(min_value=1, max_value=6),
    seed=st.integers(0, 2**32),
    attack=st.sampled_from(ATTACKS),
)
def test_a_cheating_signer_or_coordinator_is_caught_and_named(
    data: st.DataObject, n: int, seed: int, attack: str
) -> None:
    """In a random t-of-n signing one party cheats against one member:
    a wrong signature share; the coordinator putting another commitment in
    the member's place; the member made to sign with nonces of an earlier
    round; a share of an earlier signing sent again. Each is refused with a
    typed error that names exactly that member, and no signature comes out."""
    event(attack)
    t = data.draw(st.integers(min_value=1, max_value=n), label="threshold")
    rng = seeded_rng(seed)
    keys, public = trusted_dealer_keygen(random.Random(seed).randrange(1, ORDER), n, t, rng)
    size = data.draw(st.integers(min_value=t, max_value=n), label="signers")
    signers = sorted(data.draw(st.permutations(keys), label="order")[:size], key=_identifier)
    message = data.draw(st.binary(max_size=64), label="message")
    position = data.draw(st.integers(0, size - 1), label="member concerned")
    member = signers[position]
    nonces, commitments = _round1(signers, rng)
    named: tuple[int, ...]
    if attack == "wrong share":
        shares = _shares(signers, nonces, commitments, message)
        offset = data.draw(st.integers(1, ORDER - 1), label="offset")
        shares[position] = frost.SignatureShare(
            member.identifier, (shares[position].share + offset) % ORDER
        )
        assert not frost.verify_signature_share(shares[position], commitments, public, message)
        with pytest.raises(InvalidShare) as share_caught:
            frost.aggregate(commitments, message, public, shares)
        named = share_caught.value.identifiers
    elif attack == "wrong commitment":
        _, other = frost.commit(member, rng)
        part = data.draw(st.sampled_from(["hiding", "binding", "both"]), label="part")
        forged = (
            dataclasses.replace(other, identifier=member.identifier)
            if part == "both"
            else dataclasses.replace(commitments[position], **{part: getattr(other, part)})
        )
        tampered = [*commitments[:position], forged, *commitments[position + 1 :]]
        with pytest.raises(InvalidCommitment) as refused:
            frost.sign(member, nonces[position], message, tampered)
        assert refused.value.identifiers == (member.identifier,)
        # The others sign the tampered list; the member's share on the true
        # one does not fit it, so the aggregator names the member.
        shares = [
            frost.sign(k, nn, message, commitments if k is member else tampered)
            for k, nn in zip(signers, nonces, strict=True)
        ]
        with pytest.raises(InvalidShare) as share_caught:
            frost.aggregate(tampered, message, public, shares)
        named = share_caught.value.identifiers
    elif attack == "replayed nonce":
        earlier, _ = frost.commit(member, rng)
        with pytest.raises(InvalidCommitment) as refused:
            frost.sign(member, earlier, message, commitments)
        named = refused.value.identifiers
    else:
        earlier_nonces, earlier_commitments = _round1(signers, rng)
        replayed = frost.sign(
            member, earlier_nonces[position], message + b"!", earlier_commitments
        )
        shares = _shares(signers, nonces, commitments, message)
        shares[position] = replayed
        with pytest.raises(InvalidShare) as share_caught:
            frost.aggregate(commitments, message, public, shares)
        named = share_caught.value.identifiers
    assert named == (member.identifier,)


def _identifier(key: KeyPackage) -> int:
    return key.identifier


@pytest.fixture
def setup(rng: RandomBytes) -> tuple[list[KeyPackage], PublicKeyPackage]:
    return trusted_dealer_keygen(0xC0FFEE, 5, 3, rng)


def _round1(
    keys: list[KeyPackage], rng: RandomBytes
) -> tuple[list[frost.SigningNonces], list[frost.SigningCommitment]]:
    pairs = [frost.commit(k, rng) for k in keys]
    return [n for n, _ in pairs], [c for _, c in pairs]


def _shares(
    keys: list[KeyPackage],
    nonces: list[frost.SigningNonces],
    commitments: list[frost.SigningCommitment],
    message: bytes = MESSAGE,
) -> list[frost.SignatureShare]:
    return [frost.sign(k, n, message, commitments) for k, n in zip(keys, nonces, strict=True)]


def test_trusted_dealer_shares_interpolate_to_the_secret(
    setup: tuple[list[KeyPackage], PublicKeyPackage],
) -> None:
    keys, public = setup
    points = [(k.identifier, k.secret_share) for k in keys[1:4]]
    assert interpolate_constant(points) == 0xC0FFEE
    assert public.group_public_key == base_mul(0xC0FFEE)
    # Two shares (below the threshold) give a different value.
    assert interpolate_constant(points[:2]) != 0xC0FFEE


def test_signing_with_more_than_threshold(
    setup: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = setup
    signature = sign(keys, MESSAGE, rng)
    assert frost.verify_signature(encode_element(public.group_public_key), MESSAGE, signature)
    decoded = frost.decode_signature(signature)
    assert frost.verify_signature_point(public.group_public_key, MESSAGE, decoded)
    assert not frost.verify_signature_point(IDENTITY, MESSAGE, decoded)
    bad_response = dataclasses.replace(decoded, response=ORDER)
    assert not frost.verify_signature_point(public.group_public_key, MESSAGE, bad_response)


def test_invalid_share_names_the_cheating_signer(
    setup: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = setup
    signers = keys[:3]
    nonces, commitments = _round1(signers, rng)
    shares = _shares(signers, nonces, commitments)
    shares[1] = frost.SignatureShare(shares[1].identifier, (shares[1].share + 1) % ORDER)
    assert not frost.verify_signature_share(shares[1], commitments, public, MESSAGE)
    assert frost.verify_signature_share(shares[0], commitments, public, MESSAGE)
    with pytest.raises(InvalidShare) as caught:
        frost.aggregate(commitments, MESSAGE, public, shares)
    assert caught.value.identifiers == (signers[1].identifier,)


def test_invalid_shares_from_two_cheaters_are_both_named(
    setup: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = setup
    signers = keys[1:5]
    nonces, commitments = _round1(signers, rng)
    shares = _shares(signers, nonces, commitments)
    shares[0] = frost.SignatureShare(shares[0].identifier, 0)
    shares[3] = frost.SignatureShare(shares[3].identifier, ORDER)  # out of range
    with pytest.raises(InvalidShare) as caught:
        frost.aggregate(commitments, MESSAGE, public, shares)
    assert caught.value.identifiers == (2, 5)


def test_invalid_share_copied_from_another_signer(
    setup: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = setup
    signers = keys[:3]
    nonces, commitments = _round1(signers, rng)
    shares = _shares(signers, nonces, commitments)
    shares[2] = frost.SignatureShare(3, shares[0].share)
    with pytest.raises(InvalidShare) as caught:
        frost.aggregate(commitments, MESSAGE, public, shares)
    assert caught.value.identifiers == (3,)
    assert "3" in str(caught.value)


def test_invalid_shares_for_a_different_message(
    setup: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = setup
    signers = keys[:3]
    nonces, commitments = _round1(signers, rng)
    shares = _shares(signers, nonces, commitments, message=b"another message")
    with pytest.raises(InvalidShare) as caught:
        frost.aggregate(commitments, MESSAGE, public, shares)
    assert caught.value.identifiers == (1, 2, 3)


def test_invalid_signature_for_wrong_message_or_key(
    setup: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = setup
    signature = sign(keys[:3], MESSAGE, rng)
    group_key = encode_element(public.group_public_key)
    assert not frost.verify_signature(group_key, b"", signature)
    assert not frost.verify_signature(encode_element(base_mul(2)), MESSAGE, signature)


def test_invalid_tampered_commitment_list(
    setup: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = setup
    signers = keys[:3]
    nonces, commitments = _round1(signers, rng)
    shares = _shares(signers, nonces, commitments)
    tampered = list(commitments)
    tampered[2] = dataclasses.replace(tampered[2], binding=base_mul(5))
    # The coordinator swapped signer 3's commitment after the fact: shares no
    # longer match the list, and signer 3's own check refuses to sign on it.
    with pytest.raises(InvalidShare):
        frost.aggregate(tampered, MESSAGE, public, shares)
    with pytest.raises(InvalidCommitment) as caught:
        frost.sign(signers[2], nonces[2], MESSAGE, tampered)
    assert caught.value.identifiers == (3,)


def test_invalid_commitment_lists(
    setup: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = setup
    signers = keys[:3]
    nonces, commitments = _round1(signers, rng)
    cases: list[tuple[list[frost.SigningCommitment], type[Exception]]] = [
        (list(reversed(commitments)), InvalidCommitment),  # unsorted
        ([commitments[0], commitments[0], commitments[1], commitments[2]], InvalidParameters),
        (commitments[:2], InvalidParameters),  # too few signers
        ([*commitments, dataclasses.replace(commitments[0], identifier=9)], InvalidParameters),
        ([dataclasses.replace(commitments[0], identifier=0), *commitments[1:]], InvalidParameters),
        (
            [*commitments[:2], dataclasses.replace(commitments[2], hiding=IDENTITY)],
            InvalidCommitment,
        ),
        ([], InvalidParameters),
    ]
    for bad, error in cases:
        with pytest.raises(error):
            frost.sign(signers[0], nonces[0], MESSAGE, bad)
        with pytest.raises(error):
            frost.aggregate(bad, MESSAGE, public, [])


def test_invalid_signer_not_in_commitment_list(
    setup: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = setup
    _, commitments = _round1(keys[:3], rng)
    outsider_nonces, _ = frost.commit(keys[4], rng)
    with pytest.raises(InvalidParameters):
        frost.sign(keys[4], outsider_nonces, MESSAGE, commitments)
    with pytest.raises(InvalidParameters):
        frost.verify_signature_share(frost.SignatureShare(5, 1), commitments, public, MESSAGE)


def test_invalid_share_sets_in_aggregate(
    setup: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = setup
    signers = keys[:3]
    nonces, commitments = _round1(signers, rng)
    shares = _shares(signers, nonces, commitments)
    for bad in (shares[:2], [*shares, shares[0]], [*shares, frost.SignatureShare(4, 1)]):
        with pytest.raises(InvalidParameters):
            frost.aggregate(commitments, MESSAGE, public, bad)
    assert frost.aggregate(commitments, MESSAGE, public, list(reversed(shares)))


def test_invalid_nonce_randomness(setup: tuple[list[KeyPackage], PublicKeyPackage]) -> None:
    keys, _ = setup
    with pytest.raises(InvalidRandomness):
        frost.nonce_generate(keys[0].secret_share, b"\x00" * 31)
    with pytest.raises(InvalidRandomness):
        frost.commit(keys[0], lambda n: b"\x00" * (n + 1))


def test_same_randomness_different_secret_gives_different_nonces(
    setup: tuple[list[KeyPackage], PublicKeyPackage],
) -> None:
    keys, _ = setup
    randomness = b"\x07" * 32
    assert frost.nonce_generate(keys[0].secret_share, randomness) != frost.nonce_generate(
        keys[1].secret_share, randomness
    )


def test_encodings_round_trip(
    setup: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, _ = setup
    nonces, commitment = frost.commit(keys[0], rng)
    assert frost.decode_signing_nonces(frost.encode_signing_nonces(nonces)) == nonces
    encoded = frost.encode_signing_commitment(commitment)
    assert len(encoded) == frost.COMMITMENT_SIZE
    assert frost.decode_signing_commitment(encoded) == commitment
    share = frost.SignatureShare(3, 12345)
    assert frost.decode_signature_share(frost.encode_signature_share(share)) == share


def test_invalid_message_encodings(
    setup: tuple[list[KeyPackage], PublicKeyPackage], rng: RandomBytes
) -> None:
    keys, public = setup
    signature = sign(keys[:3], MESSAGE, rng)
    group_key = encode_element(public.group_public_key)
    order_bytes = ORDER.to_bytes(32, "big")
    bad_signatures = [
        signature[:-1],
        signature + b"\x00",
        b"\x00" * 33 + signature[33:],  # identity R
        b"\x04" + signature[1:],
        signature[:33] + order_bytes,  # z not reduced
        b"",
    ]
    for bad in bad_signatures:
        with pytest.raises(InvalidEncoding):
            frost.decode_signature(bad)
        assert not frost.verify_signature(group_key, MESSAGE, bad)
    for bad_key in (b"", b"\x00", group_key[:32], b"\x04" + group_key[1:]):
        assert not frost.verify_signature(bad_key, MESSAGE, signature)
    commitment = frost.encode_signing_commitment(frost.commit(keys[0], rng)[1])
    for bad in (
        commitment[:-1],
        bytes(32) + commitment[32:],
        commitment[:32] + bytes(66),
        order_bytes + commitment[32:],
    ):
        with pytest.raises(InvalidEncoding):
            frost.decode_signing_commitment(bad)
    for bad in (bytes(63), bytes(64), bytes(32) + (1).to_bytes(32, "big"), order_bytes * 2):
        with pytest.raises(InvalidEncoding):
            frost.decode_signature_share(bad)
        with pytest.raises(InvalidEncoding):
            frost.decode_signing_nonces(bad)
    with pytest.raises(InvalidEncoding):
        frost.encode_signature(frost.Signature(IDENTITY, 1))
    with pytest.raises(InvalidEncoding):
        frost.encode_signature(frost.Signature(base_mul(1), ORDER))


def test_invalid_key_packages(setup: tuple[list[KeyPackage], PublicKeyPackage]) -> None:
    keys, public = setup
    with pytest.raises(InvalidShare) as caught:
        KeyPackage(2, keys[0].secret_share, public)
    assert caught.value.identifiers == (2,)
    with pytest.raises(InvalidParameters):
        KeyPackage(9, keys[0].secret_share, public)
    with pytest.raises(InvalidParameters):
        PublicKeyPackage(public.group_public_key, 6, public.verification_shares)
    with pytest.raises(InvalidParameters):
        PublicKeyPackage(IDENTITY, 3, public.verification_shares)
    with pytest.raises(InvalidParameters):
        PublicKeyPackage(public.group_public_key, 1, {0: base_mul(1)})


def test_invalid_trusted_dealer_parameters(rng: RandomBytes) -> None:
    for secret, n, t in ((5, 3, 4), (5, 3, 0), (ORDER, 3, 2), (0, 3, 2)):
        with pytest.raises(InvalidParameters):
            trusted_dealer_keygen(secret, n, t, rng)


def test_invalid_interpolation_sets() -> None:
    with pytest.raises(InvalidParameters):
        derive_interpolating_value([1, 2, 3], 4)
    with pytest.raises(InvalidParameters):
        derive_interpolating_value([1, 2, 2], 1)
    with pytest.raises(InvalidParameters):
        derive_interpolating_value([0, 1], 1)
    with pytest.raises(InvalidParameters):
        interpolate_constant([(1, 5), (1, 6)])
