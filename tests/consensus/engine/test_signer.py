"""The double-sign guard and its persisted state."""

from __future__ import annotations

import pytest

from consensus.engine.messages import Step
from consensus.engine.signer import (
    DoubleSignError,
    Signer,
    SignerState,
    SignerStateError,
    decode_signer_state,
)
from ledger import crypto
from tests.consensus.conftest import CHAIN, key

A = b"\xaa" * 32
B = b"\xbb" * 32


def test_refuses_a_second_message_for_the_same_step() -> None:
    signer = Signer(key(0), CHAIN)
    vote = signer.sign_vote(Step.PREVOTE, 1, 0, A)
    with pytest.raises(DoubleSignError, match="different message"):
        signer.sign_vote(Step.PREVOTE, 1, 0, B)
    with pytest.raises(DoubleSignError):
        signer.sign_vote(Step.PREVOTE, 1, 0, None)
    # The same message again is fine: the same signature comes back.
    assert signer.sign_vote(Step.PREVOTE, 1, 0, A) == vote


def test_refuses_to_go_back() -> None:
    signer = Signer(key(0), CHAIN)
    signer.sign_vote(Step.PRECOMMIT, 2, 1, A)
    for height, round_, step in [
        (2, 1, Step.PREVOTE),
        (2, 0, Step.PRECOMMIT),
        (1, 5, Step.PRECOMMIT),
    ]:
        with pytest.raises(DoubleSignError):
            signer.sign_vote(step, height, round_, A)
    with pytest.raises(DoubleSignError):
        signer.sign_proposal(2, 1, -1, A)
    signer.sign_proposal(2, 2, -1, B)
    signer.sign_vote(Step.PREVOTE, 3, 0, None)


def test_signatures_verify() -> None:
    signer = Signer(key(3), CHAIN)
    proposal = signer.sign_proposal(4, 0, -1, A)
    assert crypto.verify_digest(
        signer.public_key, proposal.signing_digest(CHAIN), proposal.signature
    )


def test_state_survives_a_restart() -> None:
    signer = Signer(key(0), CHAIN)
    vote = signer.sign_vote(Step.PREVOTE, 5, 3, A)
    restored = Signer(key(0), CHAIN, decode_signer_state(signer.state.encode()))
    with pytest.raises(DoubleSignError):
        restored.sign_vote(Step.PREVOTE, 5, 3, B)
    assert restored.sign_vote(Step.PREVOTE, 5, 3, A) == vote
    restored.sign_vote(Step.PRECOMMIT, 5, 3, A)


@pytest.mark.parametrize(
    "data", [b"", b"\x90", SignerState().encode()[:-1], b"\x95\xff\x00\x00\xc4\x00\xc4\x00"]
)
def test_invalid_state_bytes(data: bytes) -> None:
    with pytest.raises(SignerStateError):
        decode_signer_state(data)
