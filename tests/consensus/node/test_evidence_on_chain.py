"""Equivocation detected by consensus is recorded on chain (body kind 2).

The evidence is produced with consensus's own signing and encoding and
checked by the ledger's independent verifier, so the two stay in step.
"""

from __future__ import annotations

from dataclasses import replace

from consensus.engine.evidence import duplicate_proposal, duplicate_vote, encode_evidence
from consensus.engine.messages import Step, sign_proposal, sign_vote
from ledger.address import address_of
from ledger.crypto import SigningKey
from ledger.exceptions import AlreadyExists, InvalidOperation, UnknownRecord
from ledger.features.evidence.bodies import RecordEvidence
from tests.ledger.memory_chain import CHAIN, VALIDATOR_KEYS, MemoryChain, make_genesis

ACCUSED = VALIDATOR_KEYS[1]
ACCUSED_ADDRESS = address_of(ACCUSED.public_key)


def _double_precommit(height: int = 1, round: int = 0) -> bytes:
    a = sign_vote(ACCUSED, CHAIN, Step.PRECOMMIT, height, round, b"\x01" * 32, ACCUSED_ADDRESS)
    b = sign_vote(ACCUSED, CHAIN, Step.PRECOMMIT, height, round, None, ACCUSED_ADDRESS)
    return encode_evidence(duplicate_vote(a, b))


def _chain() -> MemoryChain:
    chain = MemoryChain(make_genesis(powers=(1, 1, 1, 1)))
    chain.skip_to(2)
    return chain


def test_a_double_vote_is_recorded_once_with_an_event() -> None:
    chain = _chain()
    receipt = chain.submit(0, RecordEvidence(_double_precommit()))
    assert receipt.status == 0, receipt.error
    (event,) = receipt.events
    assert event.kind == "evidence"
    assert dict(event.attributes)["validator"] == ACCUSED_ADDRESS
    again = chain.submit(0, RecordEvidence(_double_precommit()))
    assert again.status == AlreadyExists.status


def test_a_double_proposal_is_recorded() -> None:
    chain = _chain()
    a = sign_proposal(ACCUSED, CHAIN, 2, 0, -1, b"\x02" * 32, ACCUSED_ADDRESS)
    b = sign_proposal(ACCUSED, CHAIN, 2, 0, -1, b"\x03" * 32, ACCUSED_ADDRESS)
    receipt = chain.submit(0, RecordEvidence(encode_evidence(duplicate_proposal(a, b))))
    assert receipt.status == 0, receipt.error


def test_invalid_evidence_changes_nothing() -> None:
    chain = _chain()
    a = sign_vote(ACCUSED, CHAIN, Step.PREVOTE, 1, 0, b"\x01" * 32, ACCUSED_ADDRESS)
    b = sign_vote(ACCUSED, CHAIN, Step.PREVOTE, 1, 0, b"\x02" * 32, ACCUSED_ADDRESS)
    forged = replace(b, signature=a.signature)
    other_chain = sign_vote(ACCUSED, "other-chain", Step.PREVOTE, 1, 0, None, ACCUSED_ADDRESS)
    stranger_key = SigningKey(b"\x07" * 32)
    stranger = address_of(stranger_key.public_key)
    s1 = sign_vote(stranger_key, CHAIN, Step.PREVOTE, 1, 0, None, stranger)
    s2 = sign_vote(stranger_key, CHAIN, Step.PREVOTE, 1, 0, b"\x05" * 32, stranger)
    future = _double_precommit(height=50)
    cases = [
        (encode_evidence(duplicate_vote(a, forged)), InvalidOperation),
        (encode_evidence(duplicate_vote(a, other_chain)), InvalidOperation),
        (encode_evidence(duplicate_vote(s1, s2)), UnknownRecord),
        (future, InvalidOperation),
        (b"\x93\x01\x02\x03", InvalidOperation),
        (b"not msgpack", InvalidOperation),
    ]
    for evidence, failure in cases:
        receipt = chain.submit(0, RecordEvidence(evidence))
        assert receipt.status == failure.status, (evidence, receipt.error)
    assert not any(key.startswith(b"e") for key in chain.reader.values)
