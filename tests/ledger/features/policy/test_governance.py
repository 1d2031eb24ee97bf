"""The bank and governance at genesis; validator-set changes in force at H+2."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from ledger.client.devnet import (
    DEVNET_BANK_BALANCE,
    DEVNET_CREDITS_PER_BLOCK,
    account_key,
    devnet_genesis_document,
    validator_key,
)
from ledger.crypto import SigningKey, sha256
from ledger.exceptions import (
    AlreadyExists,
    InvalidOperation,
    LimitExceeded,
    NotAuthorized,
    UnknownRecord,
)
from ledger.features.bank.assets import supply
from ledger.features.bank.bodies import Transfer
from ledger.features.policy.accounts import governance_address, pending_proposals, policy_info
from ledger.features.policy.bodies import (
    ApproveProposal,
    ProposeAction,
    UpdatePolicy,
    encode_action,
)
from ledger.features.validators import schedule as validators_module
from ledger.features.validators.bodies import UpdateValidator
from ledger.features.validators.schedule import (
    Validator,
    sorted_validator_set,
    validator_set_for_height,
)
from ledger.genesis import parse_genesis
from ledger.state import SCHEDULE_KEY, VALIDATORS_KEY
from ledger.types import Body, Transaction
from tests.hypothesis_profiles import examples
from tests.ledger.memory_chain import MemoryChain, events_of

GOVERNORS = ("dave", "erin", "frank", "grace")
NEW_KEY = SigningKey(sha256(b"governance test: a new validator"))


def address(name: str) -> bytes:
    from ledger.address import address_of

    return address_of(account_key(name).public_key)


def devnet_chain() -> MemoryChain:
    return MemoryChain(parse_genesis(devnet_genesis_document()))


def govern(chain: MemoryChain, action: Body, approvers: tuple[str, ...] = GOVERNORS[:3]) -> Any:
    """Propose ``action`` from the governance policy and approve it; the last block's result."""
    governance = chain.genesis.policy("governance").address
    proposal = ProposeAction(governance, encode_action(action), chain.height + 100)
    receipt = chain.submit(account_key(approvers[0]), proposal)
    assert receipt.status == 0, receipt.error
    proposal_id = dict(receipt.events[0].attributes)["proposal_id"]
    result = None
    for name in approvers[1:]:
        result = chain.run(
            [chain.sign(account_key(name), ApproveProposal(governance, proposal_id))]
        )
    return result


def test_devnet_genesis_creates_the_bank_and_governance() -> None:
    chain = devnet_chain()
    bank, governance = chain.genesis.policy("bank"), chain.genesis.policy("governance")
    bank_info = policy_info(chain.reader, bank.address)
    assert bank_info is not None and bank_info.threshold == 2 and not bank_info.governance
    assert set(bank_info.members) == {address(n) for n in ("alice", "bob", "carol")}
    assert chain.balance(bank.address) == DEVNET_BANK_BALANCE
    governance_info = policy_info(chain.reader, governance.address)
    assert governance_info is not None and governance_info.threshold == 3
    assert set(governance_info.members) == {address(n) for n in GOVERNORS}
    assert governance_info.governance
    assert governance_address(chain.reader) == governance.address
    assert len(validator_set_for_height(chain.reader, 1)) == 4


def test_bank_withdrawal_needs_two_of_three_officers() -> None:
    chain = devnet_chain()
    bank = chain.genesis.policy("bank").address
    customer = address("heidi")
    before = chain.balance(customer)
    action = encode_action(Transfer("coin", 5 * 10**18, customer))
    chain.submit(account_key("alice"), ProposeAction(bank, action, chain.height + 50))
    assert chain.balance(customer) == before
    receipt = chain.submit(account_key("carol"), ApproveProposal(bank, 1))
    assert receipt.status == 0
    assert chain.balance(customer) == before + 5 * 10**18
    assert chain.balance(bank) == DEVNET_BANK_BALANCE - 5 * 10**18


def test_rotating_a_bank_officer() -> None:
    chain = devnet_chain()
    bank = chain.genesis.policy("bank").address
    officers = tuple(sorted(address(n) for n in ("alice", "bob", "heidi")))
    action = encode_action(UpdatePolicy(officers, 2))
    chain.submit(account_key("alice"), ProposeAction(bank, action, chain.height + 50))
    chain.submit(account_key("bob"), ApproveProposal(bank, 1))
    info = policy_info(chain.reader, bank)
    assert info is not None and info.members == officers
    withdrawal = encode_action(Transfer("coin", 1, address("erin")))
    assert chain.submit(account_key("carol"), ProposeAction(bank, withdrawal, 99)).status == 21
    assert chain.submit(account_key("heidi"), ProposeAction(bank, withdrawal, 99)).status == 0


def test_a_new_validator_is_in_force_two_blocks_after_the_change() -> None:
    chain = devnet_chain()
    before = validator_set_for_height(chain.reader, chain.height + 1)
    result = govern(chain, UpdateValidator(NEW_KEY.public_key, 25, "val-new"))
    change_height = chain.height
    (event,) = events_of(result, "validator_update")
    assert event["activation_height"] == change_height + 2
    assert validator_set_for_height(chain.reader, change_height + 1) == before
    after = validator_set_for_height(chain.reader, change_height + 2)
    assert len(after) == 5 and Validator(NEW_KEY.public_key, 25, "val-new") in after
    assert after == sorted_validator_set(list(after))
    chain.run([])  # change_height + 1: still the old set
    assert chain.balance(Validator(NEW_KEY.public_key, 25, "").address, "cpu") == 0
    chain.run([])  # change_height + 2: the new validator earns credits
    share = DEVNET_CREDITS_PER_BLOCK * 25 // 65
    assert chain.balance(Validator(NEW_KEY.public_key, 25, "").address, "cpu") in (share, share + 1)
    assert len(chain.record(SCHEDULE_KEY)) == 1
    assert chain.record(VALIDATORS_KEY) == tuple(v.to_value() for v in after)


def test_governance_removes_a_validator_and_changes_power() -> None:
    chain = devnet_chain()
    removed = validator_key(3).public_key
    govern(chain, UpdateValidator(removed, 0, "val-3"))
    govern(chain, UpdateValidator(validator_key(0).public_key, 40, "val-0"))
    latest = validator_set_for_height(chain.reader, chain.height + 2)
    assert removed not in {v.public_key for v in latest}
    assert {v.name: v.power for v in latest} == {"val-0": 40, "val-1": 10, "val-2": 10}


def test_two_changes_in_one_block_share_one_activation() -> None:
    chain = devnet_chain()
    governance = chain.genesis.policy("governance").address
    for action in (
        UpdateValidator(NEW_KEY.public_key, 5, "a"),
        UpdateValidator(validator_key(1).public_key, 0, "val-1"),
    ):
        proposal = ProposeAction(governance, encode_action(action), 100)
        chain.run([chain.sign(account_key(n), proposal) for n in GOVERNORS[:1]])
    ids = [p.proposal_id for p in pending_proposals(chain.reader, governance)]
    approvals = []
    for name in GOVERNORS[1:3]:
        nonce = chain.nonce(address(name))
        for offset, proposal_id in enumerate(ids):
            body = ApproveProposal(governance, proposal_id)
            approvals.append(chain.sign(account_key(name), body, nonce=nonce + offset))
    result = chain.run(approvals)
    assert [r.status for r in result.receipts] == [0, 0, 0, 0]
    schedule = chain.record(SCHEDULE_KEY)
    assert [height for height, _ in schedule] == [1, chain.height + 2]
    assert len(validator_set_for_height(chain.reader, chain.height + 2)) == 4


def test_invalid_validator_updates_fail_the_approval() -> None:
    chain = devnet_chain()
    unknown = UpdateValidator(NEW_KEY.public_key, 0, "nobody")
    assert _last_status(govern(chain, unknown)) == UnknownRecord.status
    taken = UpdateValidator(NEW_KEY.public_key, 5, "val-1")
    assert _last_status(govern(chain, taken)) == AlreadyExists.status
    assert len(validator_set_for_height(chain.reader, chain.height + 2)) == 4


def test_invalid_removal_of_the_last_validator() -> None:
    chain = devnet_chain()
    for index in range(3):
        govern(chain, UpdateValidator(validator_key(index).public_key, 0, f"val-{index}"))
    last = UpdateValidator(validator_key(3).public_key, 0, "val-3")
    assert _last_status(govern(chain, last)) == InvalidOperation.status
    assert len(validator_set_for_height(chain.reader, chain.height + 2)) == 1


def test_invalid_validator_beyond_the_maximum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validators_module, "MAX_VALIDATORS", 4)
    chain = devnet_chain()
    added = UpdateValidator(NEW_KEY.public_key, 5, "five")
    assert _last_status(govern(chain, added)) == LimitExceeded.status


def test_invalid_lookup_of_a_pruned_height() -> None:
    chain = devnet_chain()
    govern(chain, UpdateValidator(NEW_KEY.public_key, 5, "a"))
    chain.skip_to(chain.height + 3)
    with pytest.raises(LookupError):
        validator_set_for_height(chain.reader, 1)


def test_validator_credits_conserve_every_other_asset() -> None:
    chain = devnet_chain()
    coin = supply(chain.reader, "coin")
    chain.skip_to(3)
    assert supply(chain.reader, "coin") == coin
    assert supply(chain.reader, "cpu") == 8 * 10**12 + 3 * DEVNET_CREDITS_PER_BLOCK
    assert chain.holdings() == chain.supplies()


def _last_status(result: Any) -> int:
    return int(result.receipts[-1].status)


@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 5), st.integers(0, 30)), max_size=3),
        min_size=1,
        max_size=6,
    )
)
@settings(max_examples=examples(20), deadline=None)
def test_the_set_for_every_height_is_the_one_scheduled_two_blocks_before(
    blocks: list[list[tuple[int, int]]],
) -> None:
    """A 1-of-1 governance policy applies random changes; at every height the
    set read from the state two blocks back matches a model."""
    document = devnet_genesis_document()
    document["policies"][1]["members"] = document["policies"][1]["members"][:1]
    document["policies"][1]["threshold"] = 1
    chain = MemoryChain(parse_genesis(document), verify=False)
    governance = chain.genesis.policy("governance").address
    keys = [validator_key(i).public_key for i in range(6)]
    model = {v.public_key: v.power for v in validator_set_for_height(chain.reader, 1)}
    in_force = {1: dict(model)}
    for ops in blocks:
        nonce = chain.nonce(address("dave"))
        txs = []
        for i, (index, power) in enumerate(ops):
            action = UpdateValidator(keys[index], power, f"val-{index}")
            proposal = ProposeAction(governance, encode_action(action), chain.height + 10)
            txs.append(chain.sign(account_key("dave"), proposal, nonce=nonce + i))
        result = chain.run(txs)
        for receipt, (index, power) in zip(result.receipts, ops, strict=True):
            if receipt.status != 0:
                continue
            if power:
                model[keys[index]] = power
            else:
                del model[keys[index]]
        in_force[chain.height + 2] = dict(model)
        for height in (chain.height + 1, chain.height + 2):
            expected = next(in_force[h] for h in sorted(in_force, reverse=True) if h <= height)
            got = validator_set_for_height(chain.reader, height)
            assert {v.public_key: v.power for v in got} == expected
        assert len(chain.record(SCHEDULE_KEY)) <= 2


OUTSIDERS = ("alice", "heidi")
NOT_A_MEMBER = NotAuthorized.status
UNKNOWN_PROPOSAL = 10_000
approve_pending = st.tuples(st.just("approve pending"), st.integers(0, 7))  # by a new governor
governance_step = st.one_of(
    st.tuples(st.just("propose"), st.integers(0, 3), st.integers(0, 5), st.integers(1, 30)),
    approve_pending,
    approve_pending,  # weighted: a proposal needs two of these to execute
    approve_pending,
    st.tuples(st.just("approve"), st.integers(0, 3), st.integers(0, 7)),
    st.tuples(st.just("outsider"), st.sampled_from(OUTSIDERS), st.integers(0, 7), st.booleans()),
    st.tuples(st.just("replay"), st.integers(0, 63)),
    st.tuples(st.just("forged"), st.integers(0, 3), st.integers(0, 7)),
    st.tuples(st.just("other chain"), st.integers(0, 3), st.integers(0, 7)),
)


class GovernanceBook:
    """What the 3-of-4 governance must do, by docs/spec/policy.md alone: the
    pending proposals with their approvers, the validator set in force from
    each height, and the transactions the chain included."""

    def __init__(self, chain: MemoryChain) -> None:
        self.chain = chain
        self.governance = chain.genesis.policy("governance").address
        self.keys = [validator_key(i).public_key for i in range(6)]
        self.validators = {v.public_key: v.power for v in validator_set_for_height(chain.reader, 1)}
        self.in_force = {1: dict(self.validators)}
        self.pending: dict[int, tuple[int, int, set[str]]] = {}  # id -> key index, power, approvers
        self.made: list[int] = []  # every proposal id, in order
        self.included: list[Any] = []

    def proposal_id(self, pick: int) -> int:
        return self.made[pick] if pick < len(self.made) else UNKNOWN_PROPOSAL + pick

    def run(self, tx: Any) -> int | None:
        """One block with ``tx``; the receipt's status, or None if not admitted."""
        result = self.chain.run([tx])
        if not result.receipts:
            return None
        self.included.append(tx)
        return int(result.receipts[0].status)

    def approve(self, name: str, proposal_id: int) -> int:
        """The status the approval must get; executes the proposal at 3 approvers."""
        if proposal_id not in self.pending:
            return UnknownRecord.status
        index, power, approvers = self.pending[proposal_id]
        if name in approvers:
            event("a repeated approval")
            return AlreadyExists.status
        approvers.add(name)
        if len(approvers) == 3:
            event("a proposal executed")
            del self.pending[proposal_id]
            self.validators[self.keys[index]] = power
            self.in_force[self.chain.height + 3] = dict(self.validators)  # block height + 2
        return 0

    def check(self) -> None:
        chain = self.chain
        for height in (chain.height + 1, chain.height + 2):
            expected = next(
                self.in_force[h] for h in sorted(self.in_force, reverse=True) if h <= height
            )
            got = validator_set_for_height(chain.reader, height)
            assert {v.public_key: v.power for v in got} == expected, height
        pending = pending_proposals(chain.reader, self.governance)
        assert {p.proposal_id: len(p.approvals) for p in pending} == {
            pid: len(approvers) for pid, (_, _, approvers) in self.pending.items()
        }


@given(st.lists(governance_step, min_size=4, max_size=16))
@example(
    [  # every attack against one proposal, then its third approval: it executes
        ("propose", 0, 4, 7),
        ("approve pending", 0),
        ("forged", 2, 0),
        ("other chain", 2, 0),
        ("approve", 1, 0),  # erin again
        ("outsider", "alice", 0, False),
        ("replay", 1),
        ("approve pending", 0),
        ("replay", 2),
        ("approve", 0, 0),  # executed: no longer pending
    ]
)
@settings(max_examples=examples(20), deadline=None)
def test_only_three_distinct_governors_change_the_validator_set(
    steps: list[tuple[Any, ...]],
) -> None:
    """Honest proposals and approvals mixed with attacks: a non-member
    proposing or approving (21), a governor approving twice (22), an
    approval of a proposal that is not pending (20), an included
    transaction sent again (its nonce is spent), an approval whose signature
    was made for another proposal, one signed for another chain (neither is
    admitted). Only a third distinct governor's approval changes the set,
    in force two blocks later, exactly as the book says."""
    book = GovernanceBook(MemoryChain(parse_genesis(devnet_genesis_document()), verify=False))
    chain, governance = book.chain, book.governance
    for step in steps:
        kind = step[0]
        event(kind)
        if kind == "propose":
            _, who, index, power = step
            action = UpdateValidator(book.keys[index], power, f"val-{index}")
            body = ProposeAction(governance, encode_action(action), chain.height + 1000)
            assert book.run(chain.sign(account_key(GOVERNORS[who]), body)) == 0
            proposal_id = len(book.made) + 1
            book.made.append(proposal_id)
            book.pending[proposal_id] = (index, power, {GOVERNORS[who]})
        elif kind == "approve":
            _, who, pick = step
            proposal_id = book.proposal_id(pick)
            tx = chain.sign(account_key(GOVERNORS[who]), ApproveProposal(governance, proposal_id))
            expected = book.approve(GOVERNORS[who], proposal_id)
            assert book.run(tx) == expected, step
        elif kind == "approve pending":
            if not book.pending:
                chain.run([])
            else:
                proposal_id = sorted(book.pending)[step[1] % len(book.pending)]
                approvers = book.pending[proposal_id][2]
                name = next(n for n in GOVERNORS if n not in approvers)
                tx = chain.sign(account_key(name), ApproveProposal(governance, proposal_id))
                expected = book.approve(name, proposal_id)
                assert book.run(tx) == expected, step
        elif kind == "outsider":
            _, name, pick, propose = step
            action = encode_action(UpdateValidator(book.keys[0], 99, "val-0"))
            body: Body = (
                ProposeAction(governance, action, chain.height + 1000)
                if propose or book.proposal_id(pick) not in book.pending
                else ApproveProposal(governance, book.proposal_id(pick))
            )
            assert book.run(chain.sign(account_key(name), body)) == NOT_A_MEMBER
        elif kind == "replay":
            if book.included:
                assert book.run(book.included[step[1] % len(book.included)]) is None
            else:
                chain.run([])
        else:
            _, who, pick = step
            key = account_key(GOVERNORS[who])
            approval = ApproveProposal(governance, book.proposal_id(pick))
            if kind == "forged":  # signed for the next proposal id, sent for this one
                signed = chain.sign(key, ApproveProposal(governance, approval.proposal_id + 1))
                tx = dataclasses.replace(signed, body=approval, _cache={})
            else:
                nonce = chain.nonce(address(GOVERNORS[who]))
                tx = Transaction("another-chain", key.public_key, nonce, 1000, approval).signed(key)
            assert book.run(tx) is None
        book.check()
