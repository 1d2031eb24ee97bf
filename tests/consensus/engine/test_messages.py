"""Messages and wire envelopes: signing bytes, round trips, strict decoding."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.engine.certificate import CommitCertificate
from consensus.engine.messages import (
    PRECOMMIT_DOMAIN,
    PREVOTE_DOMAIN,
    MessageError,
    Step,
    sign_proposal,
)
from consensus.engine.wire import (
    CommitMessage,
    ProposalMessage,
    decode_message,
    encode_message,
)
from ledger import codec, crypto
from tests.consensus.conftest import CHAIN, Committee

HASH = bytes(range(32))


def test_vote_signing_bytes_are_domain_separated(committee: Committee) -> None:
    vote = committee.vote(0, Step.PREVOTE, 5, 2, HASH)
    assert vote.signing_digest(CHAIN) == crypto.signing_digest(PREVOTE_DOMAIN, CHAIN, (5, 2, HASH))
    public_key = committee.keys[0].public_key
    assert crypto.verify(public_key, PREVOTE_DOMAIN, CHAIN, (5, 2, HASH), vote.signature)
    # The same signature is no precommit and is bound to the chain.
    assert not crypto.verify(public_key, PRECOMMIT_DOMAIN, CHAIN, (5, 2, HASH), vote.signature)
    assert not crypto.verify(public_key, PREVOTE_DOMAIN, "other", (5, 2, HASH), vote.signature)


def test_nil_vote_signs_nil(committee: Committee) -> None:
    vote = committee.vote(1, Step.PRECOMMIT, 1, 0, None)
    assert vote.payload() == (1, 0, None)
    assert decode_message(encode_message(vote)) == vote


def test_round_trips(committee: Committee) -> None:
    proposal = sign_proposal(committee.keys[0], CHAIN, 3, 1, 0, HASH, committee.address(0))
    message = ProposalMessage(proposal, b"block")
    assert decode_message(encode_message(message)) == message
    certificate = CommitCertificate.from_precommits(
        [committee.vote(i, Step.PRECOMMIT, 3, 1, HASH) for i in range(3)]
    )
    commit = CommitMessage(certificate, b"block")
    assert decode_message(encode_message(commit)) == commit
    assert commit.height == 3


def test_proposal_wire_format_is_byte_exact(committee: Committee) -> None:
    proposal = sign_proposal(committee.keys[0], CHAIN, 3, 1, -1, HASH, committee.address(0))
    data = encode_message(ProposalMessage(proposal, b"B"))
    assert data == codec.encode((1, 3, 1, -1, HASH, committee.address(0), proposal.signature, b"B"))


@pytest.mark.parametrize(
    "value",
    [
        (9, 1),  # unknown tag
        (2, 4, 1, 0, HASH, b"\x00" * 20, b"\x00" * 64),  # step 4
        (2, 2, 0, 0, HASH, b"\x00" * 20, b"\x00" * 64),  # height 0
        (2, 2, 1, -1, HASH, b"\x00" * 20, b"\x00" * 64),  # negative round
        (2, 2, 1, 0, HASH[:31], b"\x00" * 20, b"\x00" * 64),  # short hash
        (2, 2, 1, 0, HASH, b"\x00" * 19, b"\x00" * 64),  # short address
        (2, 2, 1, 0, HASH, b"\x00" * 20, b"\x00" * 63),  # short signature
        (1, 1, 1, 1, HASH, b"\x00" * 20, b"\x00" * 64, b""),  # pol_round not below round
        (1, 1, 1, -2, HASH, b"\x00" * 20, b"\x00" * 64, b""),  # pol_round below -1
        (3, (1, 0, HASH, ()), b""),  # certificate without signatures
        (2, True, 1, 0, HASH, b"\x00" * 20, b"\x00" * 64),  # bool is not a step
        "text",
    ],
)
def test_invalid_message_values(value: object) -> None:
    with pytest.raises(MessageError):
        decode_message(codec.encode(value))


def test_invalid_non_canonical_bytes(committee: Committee) -> None:
    data = encode_message(committee.vote(0, Step.PREVOTE, 1, 0, None))
    with pytest.raises(MessageError):
        decode_message(data + b"\x00")
    with pytest.raises(MessageError):
        decode_message(b"")


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200))
def test_fuzz_random_bytes_raise_only_message_error(data: bytes) -> None:
    with contextlib.suppress(MessageError):
        decode_message(data)


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_fuzz_mutated_messages_raise_only_message_error(data: st.DataObject) -> None:
    committee = Committee.of([1, 1, 1, 1])
    proposal = sign_proposal(committee.keys[0], CHAIN, 3, 1, 0, HASH, committee.address(0))
    original = bytearray(encode_message(ProposalMessage(proposal, b"block")))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(original) - 1))
        original[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(original)))
    with contextlib.suppress(MessageError):
        decode_message(bytes(original[:cut]))
