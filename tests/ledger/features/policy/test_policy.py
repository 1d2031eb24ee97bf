"""k-of-n policy accounts: create, propose, approve, execute, expire, update."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.exceptions import (
    AlreadyExists,
    Expired,
    InvalidOperation,
    LimitExceeded,
    NotAuthorized,
    TxRejected,
    UnknownRecord,
)
from ledger.features.bank.bodies import IssueAsset, MintAsset, Transfer
from ledger.features.barter.bodies import CreateOffer
from ledger.features.barter.offers import offers_of
from ledger.features.policy import accounts as policy
from ledger.features.policy.accounts import pending_proposals, policy_info
from ledger.features.policy.bodies import (
    ApproveProposal,
    CreatePolicy,
    ProposeAction,
    SpendingLimit,
    UpdatePolicy,
    encode_action,
    policy_address,
)
from ledger.features.validators.bodies import UpdateValidator
from ledger.fields import DecodeError
from ledger.transition import check_transaction, read_params
from ledger.types import Body, decode_body, encode_body
from tests.ledger.memory_chain import (
    ADDRS,
    CHAIN,
    FUNDED,
    VALIDATOR_KEYS,
    MemoryChain,
    events_of,
    make_genesis,
    members_text,
)

FAR = 10_000
SINK = ADDRS[23]  # receives withdrawals; never a member or a signer


def members(*indexes: int) -> tuple[bytes, ...]:
    return tuple(sorted(ADDRS[i] for i in indexes))


def chain_with_policy(
    indexes: tuple[int, ...] = (0, 1, 2), threshold: int = 2, limits: tuple[SpendingLimit, ...] = ()
) -> tuple[MemoryChain, bytes]:
    """A chain with a policy created by account 5 and funded with 1,000,000 coin."""
    chain = MemoryChain(make_genesis(accounts=8))
    body = CreatePolicy(members(*indexes), threshold, limits)
    receipt = chain.submit(5, body)
    assert receipt.status == 0
    address = dict(receipt.events[0].attributes)["address"]
    assert chain.submit(5, Transfer("coin", 1_000_000, address)).status == 0
    return chain, address


def propose(address: bytes, action: Body, expires_at: int = FAR) -> ProposeAction:
    return ProposeAction(address, encode_action(action), expires_at)


def withdraw(amount: int = 100, recipient: bytes = SINK) -> Transfer:
    return Transfer("coin", amount, recipient)


def test_create_derives_the_address_from_the_policy_creator_and_nonce() -> None:
    chain = MemoryChain(make_genesis())
    body = CreatePolicy(members(0, 1, 2), 2)
    receipt = chain.submit(3, body)
    expected = policy_address(body.members, 2, (), ADDRS[3], 0)
    assert dict(receipt.events[0].attributes)["address"] == expected
    info = policy_info(chain.reader, expected)
    assert info is not None and info.members == members(0, 1, 2) and info.threshold == 2
    assert info.pending == () and info.next_proposal == 1 and not info.governance
    # The same policy again from the same creator gets a new address (new nonce).
    again = chain.submit(3, body)
    assert dict(again.events[0].attributes)["address"] != expected


def test_a_transfer_executes_in_the_block_of_the_kth_approval_and_not_before() -> None:
    chain, address = chain_with_policy()
    receipt = chain.submit(0, propose(address, withdraw(300)))
    assert receipt.status == 0 and [e.kind for e in receipt.events] == ["proposal_created"]
    assert chain.balance(SINK) == 0
    (pending,) = pending_proposals(chain.reader, address)
    assert pending.proposal_id == 1 and pending.approvals == (ADDRS[0],)
    receipt = chain.submit(2, ApproveProposal(address, 1))
    kinds = [e.kind for e in receipt.events]
    assert receipt.status == 0 and kinds == ["proposal_approved", "proposal_executed", "transfer"]
    assert chain.balance(SINK) == 300
    assert chain.balance(address) == 1_000_000 - 300
    assert pending_proposals(chain.reader, address) == ()


def test_one_of_one_executes_when_proposed() -> None:
    chain, address = chain_with_policy((4,), 1)
    receipt = chain.submit(4, propose(address, withdraw(5)))
    assert [e.kind for e in receipt.events] == ["proposal_created", "proposal_executed", "transfer"]
    assert chain.balance(SINK) == 5


def test_invalid_proposal_or_approval_by_a_non_member() -> None:
    chain, address = chain_with_policy()
    assert chain.submit(3, propose(address, withdraw())).status == NotAuthorized.status
    chain.submit(0, propose(address, withdraw()))
    assert chain.submit(3, ApproveProposal(address, 1)).status == NotAuthorized.status
    assert chain.balance(SINK) == 0


def test_invalid_second_approval_by_the_same_member() -> None:
    chain, address = chain_with_policy((0, 1, 2), 3)
    chain.submit(0, propose(address, withdraw()))
    assert chain.submit(1, ApproveProposal(address, 1)).status == 0
    assert chain.submit(1, ApproveProposal(address, 1)).status == AlreadyExists.status
    assert chain.submit(0, ApproveProposal(address, 1)).status == AlreadyExists.status
    assert chain.balance(SINK) == 0


def test_invalid_approval_after_execution_so_nothing_executes_twice() -> None:
    chain, address = chain_with_policy()
    chain.submit(0, propose(address, withdraw(300)))
    chain.submit(1, ApproveProposal(address, 1))
    assert chain.submit(2, ApproveProposal(address, 1)).status == UnknownRecord.status
    assert chain.balance(SINK) == 300


def test_invalid_replay_of_an_approval_transaction() -> None:
    chain, address = chain_with_policy((0, 1, 2), 3)
    chain.submit(0, propose(address, withdraw()))
    tx = chain.sign(1, ApproveProposal(address, 1))
    chain.run([tx])
    state = chain.state()
    with pytest.raises(TxRejected):
        check_transaction(state, tx, CHAIN, read_params(state))
    assert chain.run([tx]).receipts == ()


def test_proposal_expires_at_the_end_of_its_height() -> None:
    chain, address = chain_with_policy((0, 1, 2), 3)
    chain.submit(0, propose(address, withdraw(), expires_at=chain.height + 3))
    expiry = chain.height + 2
    chain.skip_to(expiry - 1)
    assert chain.submit(1, ApproveProposal(address, 1)).status == 0  # at its expiry height
    assert [e.kind for e in chain.block_events] == ["proposal_expired"]
    assert pending_proposals(chain.reader, address) == ()
    assert chain.submit(2, ApproveProposal(address, 1)).status == UnknownRecord.status
    assert chain.balance(SINK) == 0


def test_invalid_proposal_that_expired_already() -> None:
    chain, address = chain_with_policy()
    receipt = chain.submit(0, propose(address, withdraw(), expires_at=chain.height))
    assert receipt.status == Expired.status


def test_a_failing_action_fails_the_kth_approval_and_keeps_the_proposal() -> None:
    chain, address = chain_with_policy()
    chain.submit(0, propose(address, withdraw(2_000_000)))
    receipt = chain.submit(1, ApproveProposal(address, 1))
    assert receipt.status == 2  # the policy holds 1,000,000
    (pending,) = pending_proposals(chain.reader, address)
    assert pending.approvals == (ADDRS[0],)
    chain.submit(5, Transfer("coin", 1_000_000, address))
    assert chain.submit(1, ApproveProposal(address, 1)).status == 0
    assert chain.balance(SINK) == 2_000_000


def test_members_and_threshold_change_only_through_a_proposal() -> None:
    chain, address = chain_with_policy()
    direct = chain.sign(0, UpdatePolicy(members(0), 1))
    state = chain.state()
    with pytest.raises(TxRejected, match="not executable"):
        check_transaction(state, direct, CHAIN, read_params(state))
    chain.submit(0, propose(address, UpdatePolicy(members(1, 2, 3), 3)))
    receipt = chain.submit(1, ApproveProposal(address, 1))
    assert [e.kind for e in receipt.events][-1] == "policy_updated"
    info = policy_info(chain.reader, address)
    assert info is not None and info.members == members(1, 2, 3) and info.threshold == 3
    assert chain.submit(0, propose(address, withdraw())).status == NotAuthorized.status


def test_removed_members_approvals_no_longer_count() -> None:
    chain, address = chain_with_policy()
    chain.submit(0, propose(address, withdraw(7)))  # 1: approved by 0
    chain.submit(1, propose(address, UpdatePolicy(members(1, 2, 3), 2)))  # 2
    chain.submit(2, ApproveProposal(address, 2))  # executes: 0 is out
    proposal_1 = pending_proposals(chain.reader, address)[0]
    assert proposal_1.approvals == ()
    assert chain.submit(1, ApproveProposal(address, 1)).status == 0
    assert chain.balance(SINK) == 0  # one current approval of two
    assert chain.submit(3, ApproveProposal(address, 1)).status == 0
    assert chain.balance(SINK) == 7


def test_a_repeat_approval_executes_after_a_threshold_decrease() -> None:
    chain, address = chain_with_policy((0, 1, 2), 3)
    chain.submit(0, propose(address, withdraw(9)))  # 1: approved by 0
    chain.submit(1, ApproveProposal(address, 1))  # 1: approved by 0 and 1
    chain.submit(2, propose(address, UpdatePolicy(members(0, 1, 2), 2)))  # 2
    chain.submit(0, ApproveProposal(address, 2))
    chain.submit(1, ApproveProposal(address, 2))  # executes: the threshold is now 2
    assert chain.balance(SINK) == 0  # proposal 1 meets it but has not run yet
    receipt = chain.submit(1, ApproveProposal(address, 1))
    assert receipt.status == 0 and receipt.events[0].kind == "proposal_executed"
    assert chain.balance(SINK) == 9


def test_spending_limit_caps_outflow_per_window() -> None:
    limit = SpendingLimit("coin", 500, 100)
    chain, address = chain_with_policy((4,), 1, (limit,))
    assert chain.submit(4, propose(address, withdraw(300))).status == 0
    assert chain.submit(4, propose(address, withdraw(201))).status == LimitExceeded.status
    assert chain.submit(4, propose(address, withdraw(200))).status == 0
    assert chain.balance(SINK) == 500
    chain.skip_to(100)  # the next window starts at height 100
    assert chain.submit(4, propose(address, withdraw(500))).status == 0
    assert chain.balance(SINK) == 1_000


def test_a_policy_can_issue_mint_and_offer_as_itself() -> None:
    chain, address = chain_with_policy((4,), 1)
    for action in (
        IssueAsset("bank.bond", 0, 1_000),
        MintAsset("bank.bond", 600, address),
        CreateOffer("bank.bond", 100, "coin", 1, 10, FAR),
    ):
        assert chain.submit(4, propose(address, action)).status == 0
    (offer,) = offers_of(chain.reader, address)
    assert offer.maker == address and chain.balance(address, "bank.bond") == 500
    assert chain.holdings() == chain.supplies()


@pytest.mark.parametrize(
    "action, status",
    [
        (encode_action(CreatePolicy(members(0), 1)), InvalidOperation.status),
        (encode_action(ApproveProposal(ADDRS[0], 1)), InvalidOperation.status),
        (b"\xc1", InvalidOperation.status),
        (codec.encode((99, 1)), InvalidOperation.status),
        (codec.encode((1, "coin", -1, ADDRS[0])), InvalidOperation.status),
        (
            encode_action(UpdateValidator(VALIDATOR_KEYS[1].public_key, 5, "v")),
            NotAuthorized.status,
        ),
    ],
)
def test_invalid_proposed_actions(action: bytes, status: int) -> None:
    chain, address = chain_with_policy((4,), 1)
    assert chain.submit(4, ProposeAction(address, action, FAR)).status == status
    assert policy_info(chain.reader, address).next_proposal == 1  # type: ignore[union-attr]


def test_invalid_proposal_or_approval_for_a_missing_policy() -> None:
    chain, _ = chain_with_policy()
    assert chain.submit(0, propose(ADDRS[9], withdraw())).status == UnknownRecord.status
    assert chain.submit(0, ApproveProposal(ADDRS[9], 1)).status == UnknownRecord.status


def test_invalid_proposal_beyond_the_pending_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(policy, "MAX_PENDING_PROPOSALS", 2)
    chain, address = chain_with_policy((0, 1, 2), 3)
    chain.submit(0, propose(address, withdraw()))
    chain.submit(0, propose(address, withdraw()))
    assert chain.submit(0, propose(address, withdraw())).status == LimitExceeded.status


def test_genesis_policies_from_addresses_or_public_keys() -> None:
    from ledger.genesis import parse_genesis
    from tests.ledger.memory_chain import KEYS

    doc_policy = {
        "name": "bank",
        "members": [*members_text([1, 0]), KEYS[2].public_key.hex()],
        "threshold": 2,
        "balances": {"coin": "500"},
    }
    genesis = make_genesis(policies=[doc_policy])
    bank = genesis.policy("bank")
    assert bank.members == members(0, 1, 2)
    assert bank.address == policy_address(members(0, 1, 2), 2, (), policy.GENESIS_CREATOR, 0)
    chain = MemoryChain(genesis)
    assert chain.balance(bank.address) == 500
    assert chain.supplies()["coin"] == 6 * FUNDED + 500
    document = {**_genesis_document(), "policies": [doc_policy, {**doc_policy, "name": "x"}]}
    assert len(parse_genesis(document).policies) == 2


def _genesis_document() -> dict[str, Any]:
    return {
        "chain_id": CHAIN,
        "genesis_time": "2026-01-01T00:00:00Z",
        "validators": [{"name": "v", "public_key": VALIDATOR_KEYS[0].public_key.hex(), "power": 1}],
    }


@pytest.mark.parametrize(
    "policy_doc, message",
    [
        ({"members": [], "threshold": 1}, r"policies\[0\].members"),
        ({"members": ["lg1xyz"], "threshold": 1}, r"policies\[0\].members\[0\]"),
        ({"members": ["02ff"], "threshold": 1}, r"policies\[0\].members\[0\]"),
        ({"members": members_text([0, 0]), "threshold": 1}, "duplicate member"),
        ({"members": members_text([0, 1]), "threshold": 3}, r"policies\[0\].threshold"),
        ({"members": members_text([0]), "threshold": 0}, r"policies\[0\].threshold"),
        ({"members": members_text([0]), "threshold": 1, "governance": 1}, "governance"),
        ({"members": members_text([0]), "threshold": 1, "extra": 1}, "unknown field"),
        ({"members": members_text(list(range(21))), "threshold": 1}, "1-20 members"),
    ],
)
def test_invalid_genesis_policies(policy_doc: dict[str, Any], message: str) -> None:
    from ledger.genesis import GenesisError, parse_genesis

    document = {**_genesis_document(), "policies": [{"name": "p", **policy_doc}]}
    with pytest.raises(GenesisError, match=message):
        parse_genesis(document)


def test_invalid_genesis_with_two_governance_policies() -> None:
    from ledger.genesis import GenesisError, parse_genesis

    one = {"members": members_text([0]), "threshold": 1, "governance": True}
    document = {**_genesis_document(), "policies": [{"name": "a", **one}, {"name": "b", **one}]}
    with pytest.raises(GenesisError, match="at most one governance"):
        parse_genesis(document)


@pytest.mark.parametrize(
    "value",
    [
        (28, (), 1, ()),
        (28, tuple(reversed(members(0, 1))), 1, ()),
        (28, (ADDRS[0], ADDRS[0]), 1, ()),
        (28, members(0, 1), 0, ()),
        (28, members(0, 1), 3, ()),
        (28, tuple(sorted(ADDRS[:21])), 1, ()),
        (28, members(0), 1, (("coin", 5, 0),)),
        (28, members(0), 1, (("disk", 5, 1), ("coin", 5, 1))),
        (29, ADDRS[0], b"\x00" * 9000, 1),
        (30, ADDRS[0][:19], 1),
        (32, VALIDATOR_KEYS[0].public_key, 1, ""),
        (32, b"\x02" + bytes(32), 1, "v"),
        (32, VALIDATOR_KEYS[0].public_key, (1 << 60) + 1, "v"),
    ],
)
def test_invalid_policy_bodies_do_not_decode(value: tuple[object, ...]) -> None:
    with pytest.raises(DecodeError):
        decode_body(value)


def test_policy_bodies_round_trip() -> None:
    limits = (SpendingLimit("coin", 5, 10),)
    for body in (
        CreatePolicy(members(0, 1), 2, limits),
        propose(ADDRS[1], withdraw()),
        ApproveProposal(ADDRS[1], 3),
        UpdatePolicy(members(3), 1),
        UpdateValidator(VALIDATOR_KEYS[0].public_key, 0, "val"),
    ):
        assert decode_body(encode_body(body)) == body


# -- the model-based property ----------------------------------------------------


@dataclass
class PolicyModel:
    """What the rules say should happen, tracked beside the chain."""

    members: set[bytes]
    threshold: int
    approvals: dict[int, set[bytes]] = field(default_factory=dict)  # pending proposals
    actions: dict[int, Body] = field(default_factory=dict)
    next_id: int = 1
    executed: list[int] = field(default_factory=list)
    withdrawn: int = 0

    def count(self, proposal_id: int) -> int:
        return len(self.approvals[proposal_id] & self.members)

    def settle(self, proposal_id: int) -> None:
        if self.count(proposal_id) < self.threshold:
            return
        action = self.actions.pop(proposal_id)
        del self.approvals[proposal_id]
        self.executed.append(proposal_id)
        if isinstance(action, Transfer):
            self.withdrawn += action.amount
        if isinstance(action, UpdatePolicy):
            self.members = set(action.members)
            self.threshold = action.threshold
            for approvals in self.approvals.values():
                approvals &= self.members

    def propose(self, actor: bytes, action: Body) -> int:
        if actor not in self.members:
            return NotAuthorized.status
        proposal_id = self.next_id
        self.next_id += 1
        self.approvals[proposal_id] = {actor}
        self.actions[proposal_id] = action
        self.settle(proposal_id)
        return 0

    def approve(self, actor: bytes, proposal_id: int) -> int:
        if proposal_id not in self.approvals:
            return UnknownRecord.status
        if actor not in self.members:
            return NotAuthorized.status
        if actor in self.approvals[proposal_id]:
            if self.count(proposal_id) < self.threshold:
                return AlreadyExists.status
            self.settle(proposal_id)
            return 0
        self.approvals[proposal_id].add(actor)
        self.settle(proposal_id)
        return 0


POOL = 22  # accounts that may be members or outsiders
INDEX_OF = {address: i for i, address in enumerate(ADDRS)}


def _pick_actor(model: PolicyModel, choice: int) -> int:
    """Mostly a current member (two in three), otherwise any account of the pool."""
    if choice < 2 * POOL:
        current = sorted(model.members)
        return INDEX_OF[current[choice % len(current)]]
    return choice % POOL


policy_op = st.one_of(
    st.tuples(st.just("approve"), st.integers(0, 3 * POOL - 1), st.integers(1, 8)),
    st.tuples(st.just("approve"), st.integers(0, 3 * POOL - 1), st.integers(1, 8)),
    st.tuples(st.just("approve"), st.integers(0, 3 * POOL - 1), st.integers(1, 8)),
    st.tuples(st.just("withdraw"), st.integers(0, 3 * POOL - 1), st.integers(1, 1_000)),
    st.tuples(
        st.just("update"),
        st.integers(0, 3 * POOL - 1),
        st.sets(st.integers(0, POOL - 1), min_size=1, max_size=20),
        st.integers(1, 20),
    ),
)


@st.composite
def policy_shapes(draw: st.DrawFn) -> tuple[list[int], int]:
    size = draw(st.integers(1, 20))
    indexes = draw(st.permutations(range(POOL)))[:size]
    return list(indexes), draw(st.integers(1, size))


@given(policy_shapes(), st.lists(st.lists(policy_op, min_size=1, max_size=12), max_size=6))
@example((list(range(20)), 15), [[("withdraw", 0, 5)], [("approve", i, 1) for i in range(1, 20)]])
@example(([3], 1), [[("withdraw", 0, 5), ("withdraw", 3 * POOL - 1, 5)]])
@settings(max_examples=50, deadline=None)
def test_policy_executes_exactly_at_k_distinct_current_members(
    shape: tuple[list[int], int], blocks: list[list[tuple[Any, ...]]]
) -> None:
    indexes, threshold = shape
    genesis = make_genesis(
        accounts=POOL,
        balances={"coin": FUNDED},
        policies=[
            {
                "name": "p",
                "members": members_text(indexes),
                "threshold": threshold,
                "balances": {"coin": str(FUNDED)},
            }
        ],
    )
    chain = MemoryChain(genesis, verify=False)
    address = genesis.policy("p").address
    model = PolicyModel({ADDRS[i] for i in indexes}, threshold)
    nonces = dict.fromkeys(range(POOL), 0)
    for ops in blocks:
        txs, expected = [], []
        executed_before = len(model.executed)
        for op in ops:
            actor = _pick_actor(model, op[1])
            if op[0] == "approve":
                pending = sorted(model.approvals)
                proposal_id = pending[op[2] % len(pending)] if pending and op[2] < 7 else op[2]
                body: Body = ApproveProposal(address, proposal_id)
                expected.append(model.approve(ADDRS[actor], proposal_id))
            else:
                if op[0] == "withdraw":
                    action: Body = withdraw(op[2])
                else:
                    new_members = tuple(sorted(ADDRS[i] for i in op[2]))
                    action = UpdatePolicy(new_members, min(op[3], len(new_members)))
                body = propose(address, action)
                expected.append(model.propose(ADDRS[actor], action))
            txs.append(chain.sign(actor, body, nonce=nonces[actor]))
            nonces[actor] += 1
        result = chain.run(txs)
        assert [r.status for r in result.receipts] == expected
        executed = [e["proposal_id"] for e in events_of(result, "proposal_executed")]
        assert executed == model.executed[executed_before:]
        info = policy_info(chain.reader, address)
        assert info is not None
        assert set(info.members) == model.members and info.threshold == model.threshold
        on_chain = {
            p.proposal_id: set(p.approvals) for p in pending_proposals(chain.reader, address)
        }
        assert on_chain == model.approvals
    assert chain.balance(SINK) == model.withdrawn
    assert chain.holdings() == chain.supplies()
    event(f"executed proposals: {min(len(model.executed), 3)}+")
    event(f"membership changed: {model.members != {ADDRS[i] for i in indexes}}")
