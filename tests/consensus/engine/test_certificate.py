"""Commit certificates: encode, decode, verify, and every way to be invalid."""

from __future__ import annotations

import pytest

from consensus.engine.certificate import (
    CommitCertificate,
    CommitSignature,
    InvalidCertificate,
    check_certificate_for,
    decode_certificate,
    encode_certificate,
    verify_certificate,
)
from consensus.engine.messages import Step
from ledger import codec
from tests.consensus.conftest import CHAIN, Committee, key

HASH = b"\x11" * 32


def certificate(committee: Committee, signers: list[int], chain: str = CHAIN) -> CommitCertificate:
    return CommitCertificate.from_precommits(
        [committee.vote(i, Step.PRECOMMIT, 7, 2, HASH, chain) for i in signers]
    )


def test_valid_certificate_verifies_and_round_trips(committee: Committee) -> None:
    cert = certificate(committee, [2, 0, 1])
    assert [s.validator for s in cert.signatures] == sorted(s.validator for s in cert.signatures)
    verify_certificate(cert, committee.validator_set, CHAIN)
    check_certificate_for(cert, 7, HASH)
    data = encode_certificate(cert)
    assert data == codec.encode(
        (7, 2, HASH, tuple((s.validator, s.signature) for s in cert.signatures))
    )
    assert decode_certificate(data) == cert


def test_invalid_insufficient_power(committee: Committee) -> None:
    with pytest.raises(InvalidCertificate, match="need 3"):
        verify_certificate(certificate(committee, [0, 1]), committee.validator_set, CHAIN)


def test_invalid_weighted_power() -> None:
    committee = Committee.of([5, 1, 1, 1])  # total 8: quorum 6
    heavy = next(i for i in range(4) if committee.validator_set.validators[i].power == 5)
    light = next(i for i in range(4) if i != heavy)
    verify_certificate(certificate(committee, [heavy, light]), committee.validator_set, CHAIN)
    others = [i for i in range(4) if i != heavy]
    with pytest.raises(InvalidCertificate):
        verify_certificate(certificate(committee, others), committee.validator_set, CHAIN)


def test_invalid_wrong_chain_id(committee: Committee) -> None:
    cert = certificate(committee, [0, 1, 2], chain="other-chain")
    with pytest.raises(InvalidCertificate, match="invalid signature"):
        verify_certificate(cert, committee.validator_set, CHAIN)


def test_invalid_duplicated_signer(committee: Committee) -> None:
    cert = certificate(committee, [0, 1])
    doubled = CommitCertificate(7, 2, HASH, (*cert.signatures, cert.signatures[1]))
    with pytest.raises(InvalidCertificate, match="duplicated"):
        verify_certificate(doubled, committee.validator_set, CHAIN)
    with pytest.raises(InvalidCertificate, match="ascending"):
        decode_certificate(encode_certificate(doubled))


def test_invalid_bad_signature(committee: Committee) -> None:
    cert = certificate(committee, [0, 1, 2])
    first = cert.signatures[0]
    forged = CommitSignature(first.validator, bytes(64 - 1) + b"\x01")
    bad = CommitCertificate(7, 2, HASH, (forged, *cert.signatures[1:]))
    with pytest.raises(InvalidCertificate, match="invalid signature"):
        verify_certificate(bad, committee.validator_set, CHAIN)


def test_invalid_unknown_validator(committee: Committee) -> None:
    stranger = Committee.of([1] * 6)  # keys 4 and 5 are not in the committee
    votes = [committee.vote(i, Step.PRECOMMIT, 7, 2, HASH) for i in range(2)]
    outsider_key = key(5)
    outsider = next(i for i in range(6) if stranger.keys[i].public_key == outsider_key.public_key)
    votes.append(stranger.vote(outsider, Step.PRECOMMIT, 7, 2, HASH))
    cert = CommitCertificate.from_precommits(votes)
    with pytest.raises(InvalidCertificate, match="not in the validator set"):
        verify_certificate(cert, committee.validator_set, CHAIN)


def test_invalid_wrong_height_or_hash(committee: Committee) -> None:
    cert = certificate(committee, [0, 1, 2])
    with pytest.raises(InvalidCertificate, match="height"):
        check_certificate_for(cert, 8, HASH)
    with pytest.raises(InvalidCertificate, match="block"):
        check_certificate_for(cert, 7, b"\x22" * 32)
    # A certificate moved to another height or round no longer verifies.
    moved = CommitCertificate(8, 2, HASH, cert.signatures)
    with pytest.raises(InvalidCertificate):
        verify_certificate(moved, committee.validator_set, CHAIN)
    rehashed = CommitCertificate(7, 2, b"\x22" * 32, cert.signatures)
    with pytest.raises(InvalidCertificate):
        verify_certificate(rehashed, committee.validator_set, CHAIN)


@pytest.mark.parametrize(
    "value",
    [
        (7, 2, HASH),
        (7, 2, HASH, ()),
        (0, 2, HASH, ((b"\x01" * 20, b"\x02" * 64),)),
        (7, 2, HASH[:5], ((b"\x01" * 20, b"\x02" * 64),)),
        (7, 2, HASH, ((b"\x01" * 20, b"\x02" * 63),)),
        (7, 2, HASH, ((b"\x01" * 20,),)),
    ],
)
def test_invalid_encodings(value: object) -> None:
    with pytest.raises(InvalidCertificate):
        decode_certificate(codec.encode(value))
    with pytest.raises(InvalidCertificate):
        decode_certificate(b"\xc1")
