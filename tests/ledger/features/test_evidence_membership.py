"""Evidence is checked against the validator set of its own height (issue 13
section 5): a validator that equivocates and then leaves the set is still
recorded; a validator that was not yet in the set is not; evidence older
than MAX_EVIDENCE_AGE blocks is refused with a typed error (Expired's
status). Runs the real transition on the devnet genesis, with governance
changing the set as an operator would."""

from __future__ import annotations

import pytest

from consensus.engine.evidence import duplicate_vote, encode_evidence
from consensus.engine.messages import Step, sign_vote
from ledger import codec
from ledger.address import address_of
from ledger.client.devnet import account_key, validator_key
from ledger.crypto import SigningKey
from ledger.exceptions import Expired, UnknownRecord
from ledger.features.evidence import equivocation
from ledger.features.evidence.bodies import RecordEvidence
from ledger.features.evidence.equivocation import EvidenceTooOld
from ledger.features.validators import schedule
from ledger.features.validators.bodies import UpdateValidator
from ledger.features.validators.schedule import membership_key, validator_set_at
from tests.ledger.features.policy.test_governance import NEW_KEY, devnet_chain, govern
from tests.ledger.memory_chain import MemoryChain

REPORTER = account_key("alice")


def double_precommit(chain: MemoryChain, key: SigningKey, height: int) -> RecordEvidence:
    accused = address_of(key.public_key)
    a, b = (
        sign_vote(key, chain.genesis.chain_id, Step.PRECOMMIT, height, 0, value, accused)
        for value in (b"\x01" * 32, None)
    )
    return RecordEvidence(encode_evidence(duplicate_vote(a, b)))


def members(chain: MemoryChain, height: int) -> set[bytes]:
    return {v.address for v in validator_set_at(chain.state(), height)}


def remove_validator_1(chain: MemoryChain) -> int:
    """Governance removes val-1; the first height without it."""
    leaver = validator_key(1)
    govern(chain, UpdateValidator(leaver.public_key, 0, "val-1"))
    gone = chain.height + 2
    chain.skip_to(gone)
    assert address_of(leaver.public_key) not in members(chain, gone)
    return gone


def test_invalid_evidence_against_a_validator_that_has_left_is_recorded() -> None:
    chain = devnet_chain()
    chain.skip_to(3)
    evidence = double_precommit(chain, validator_key(1), 2)  # while it was a member
    gone = remove_validator_1(chain)
    chain.skip_to(gone + 3)
    receipt = chain.submit(REPORTER, evidence)
    assert receipt.status == 0, receipt.error
    recorded = dict(receipt.events[0].attributes)
    assert recorded["validator"] == address_of(validator_key(1).public_key)
    assert recorded["height"] == 2
    # Its membership is on record: heights 1 up to (not including) ``gone``.
    stored = chain.record(membership_key(address_of(validator_key(1).public_key)))
    assert stored == (validator_key(1).public_key, ((1, gone),))


def test_invalid_evidence_from_after_it_left_is_refused() -> None:
    chain = devnet_chain()
    gone = remove_validator_1(chain)
    chain.skip_to(gone + 2)
    receipt = chain.submit(REPORTER, double_precommit(chain, validator_key(1), gone + 1))
    assert receipt.status == UnknownRecord.status
    assert "not in the validator set of height" in receipt.error


def test_invalid_a_newcomer_is_accountable_only_from_its_first_height() -> None:
    chain = devnet_chain()
    chain.skip_to(2)
    govern(chain, UpdateValidator(NEW_KEY.public_key, 1, "newcomer"))
    first = chain.height + 2
    chain.skip_to(first + 1)
    assert address_of(NEW_KEY.public_key) in members(chain, first)
    before = chain.submit(REPORTER, double_precommit(chain, NEW_KEY, first - 1))
    assert before.status == UnknownRecord.status, before.error
    after = chain.submit(REPORTER, double_precommit(chain, NEW_KEY, first))
    assert after.status == 0, after.error
    stored = chain.record(membership_key(address_of(NEW_KEY.public_key)))
    assert stored == (NEW_KEY.public_key, ((first, None),))


def test_invalid_evidence_older_than_the_maximum_age_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(equivocation, "MAX_EVIDENCE_AGE", 6)
    chain = devnet_chain()
    chain.skip_to(3)
    at_limit = double_precommit(chain, validator_key(2), 2)
    too_old = double_precommit(chain, validator_key(3), 1)
    chain.skip_to(7)  # block 8 carries both: height 2 is 6 blocks back, height 1 is 7
    result = chain.run(
        [
            chain.sign(REPORTER, at_limit),
            chain.sign(REPORTER, too_old, nonce=chain.nonce(address_of(REPORTER.public_key)) + 1),
        ]
    )
    assert chain.height == 8
    accepted, receipt = result.receipts
    assert accepted.status == 0, accepted.error
    assert receipt.status == Expired.status
    assert "more than 6 blocks old" in receipt.error
    assert issubclass(EvidenceTooOld, Expired)


def test_membership_records_older_than_the_window_are_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Bounded: a leaver's record goes once its last interval is out of the
    window (when its record is next written); an open interval stays."""
    monkeypatch.setattr(schedule, "MEMBERSHIP_HISTORY_BLOCKS", 3)
    chain = devnet_chain()
    gone = remove_validator_1(chain)
    leaver = address_of(validator_key(1).public_key)
    assert chain.record(membership_key(leaver)) == (validator_key(1).public_key, ((1, gone),))
    chain.skip_to(gone + 5)
    govern(chain, UpdateValidator(validator_key(1).public_key, 1, "val-1"))  # it comes back
    back = chain.height + 2
    chain.skip_to(back)
    raw = chain.state().get_raw(membership_key(leaver))
    assert raw is not None
    assert codec.decode(raw) == (validator_key(1).public_key, ((back, None),))
