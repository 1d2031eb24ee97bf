"""k-of-n policy accounts: funds that move only with k of n members' approval.

A policy account is an ordinary account address with no key behind it:

    address = derive_address("ledger/policy",
                             encode([members, threshold, limits]) || creator || nonce(8))

where ``creator`` is the creating transaction's sender address and ``nonce``
its nonce (genesis policies: 20 zero bytes and their index in the genesis
document). Anyone can send funds to it. It acts only through proposals:

1. a member proposes an action (the canonical encoding of a body of a kind
   some feature registers as a policy action) with an expiry height;
   proposing counts as approval;
2. members approve; approvals are kept per distinct member;
3. the approval that brings the count of *current* members' approvals to the
   threshold executes the action as the policy account, in that same
   transaction. If the action fails, that approving transaction fails and
   changes nothing: the proposal stays pending with its earlier approvals.
   A member's repeat approval adds nothing; it is accepted only to execute a
   proposal that already has enough approvals (after a threshold decrease);
4. an executed proposal is deleted before its action runs, so it can never
   execute twice; an unexecuted one is deleted at the end of its expiry block.

Members, threshold and spending limits change only by a ``policy_update``
action of the policy itself; it also drops removed members' approvals from
every pending proposal. Spending limits cap the net decrease of an asset's
balance caused by executed actions per window of blocks (windows are
``height // window``). The governance policy (flagged at genesis) may also
run ``validator_update`` (ledger.features.validators.schedule).

State records (docs/spec/policy.md):

    Pp || address             -> [members, threshold, limits, spending, pending ids,
                                  next proposal id, governance]
    Pq || address || id(8)    -> [proposer, action bytes, expires_at, approvals]
    Pe || height(8)           -> [[address, id], ...] proposals expiring at that height
    Pg                        -> the governance policy's address
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Final

from ledger import codec
from ledger.codec import CodecError
from ledger.context import BlockContext, Outcome
from ledger.exceptions import (
    AlreadyExists,
    Expired,
    InvalidOperation,
    LimitExceeded,
    NotAuthorized,
    UnknownRecord,
)
from ledger.features.policy.bodies import (
    GENESIS_CREATOR,
    ApproveProposal,
    CreatePolicy,
    ProposeAction,
    SpendingLimit,
    UpdatePolicy,
    check_limits,
    check_members,
    policy_address,
)
from ledger.fields import DecodeError, check_bytes, check_uint, ensure
from ledger.genesis import Genesis
from ledger.registry import RULES
from ledger.state import State, StateReader
from ledger.types import Body, Event, Transaction, decode_body

POLICY_PREFIX: Final = b"Pp"
PROPOSAL_PREFIX: Final = b"Pq"
PROPOSAL_EXPIRY_PREFIX: Final = b"Pe"
GOVERNANCE_KEY: Final = b"Pg"
MAX_PENDING_PROPOSALS: Final = 32


@dataclass(frozen=True, slots=True)
class Spending:
    """What left the account in one limit window: (asset, window index, amount)."""

    asset: str
    window_index: int
    spent: int


@dataclass(frozen=True, slots=True)
class Policy:
    address: bytes
    members: tuple[bytes, ...]  # ascending addresses
    threshold: int
    limits: tuple[SpendingLimit, ...] = ()
    spending: tuple[Spending, ...] = ()
    pending: tuple[int, ...] = ()  # open proposal ids, ascending
    next_proposal: int = 1
    governance: bool = False

    def to_value(self) -> tuple[Any, ...]:
        return (
            self.members,
            self.threshold,
            tuple(limit.to_value() for limit in self.limits),
            tuple((s.asset, s.window_index, s.spent) for s in self.spending),
            self.pending,
            self.next_proposal,
            self.governance,
        )


@dataclass(frozen=True, slots=True)
class Proposal:
    policy: bytes
    proposal_id: int
    proposer: bytes
    action: bytes  # canonical encoding of the action body
    expires_at: int
    approvals: tuple[bytes, ...]  # distinct member addresses, ascending

    def to_value(self) -> tuple[Any, ...]:
        return (self.proposer, self.action, self.expires_at, self.approvals)



# -- records -------------------------------------------------------------------


def get_policy(state: State, address: bytes) -> Policy | None:
    raw = state.get_raw(POLICY_PREFIX + address)
    if raw is None:
        return None
    value = codec.decode(raw)
    ensure(isinstance(value, tuple) and len(value) == 7, "policy record has 7 fields")
    members, threshold, limits, spending, pending, next_proposal, governance = value
    return Policy(
        address,
        check_members(members),
        check_uint(threshold, "threshold", len(members)),
        check_limits(limits),
        tuple(Spending(a, w, s) for a, w, s in spending),
        tuple(pending),
        check_uint(next_proposal, "next_proposal"),
        governance is True,
    )


def set_policy(state: State, policy: Policy) -> None:
    state.set_raw(POLICY_PREFIX + policy.address, codec.encode(policy.to_value()))


def proposal_key(policy: bytes, proposal_id: int) -> bytes:
    return PROPOSAL_PREFIX + policy + proposal_id.to_bytes(8, "big")


def get_proposal(state: State, policy: bytes, proposal_id: int) -> Proposal | None:
    raw = state.get_raw(proposal_key(policy, proposal_id))
    if raw is None:
        return None
    value = codec.decode(raw)
    ensure(isinstance(value, tuple) and len(value) == 4, "proposal record has 4 fields")
    proposer, action, expires_at, approvals = value
    return Proposal(
        policy,
        proposal_id,
        check_bytes(proposer, "proposer", 20),
        check_bytes(action, "action"),
        check_uint(expires_at, "expires_at"),
        tuple(approvals),
    )


def set_proposal(state: State, proposal: Proposal | None, key: bytes) -> None:
    state.set_raw(key, codec.encode(proposal.to_value()) if proposal is not None else None)


def expiry_key(height: int) -> bytes:
    return PROPOSAL_EXPIRY_PREFIX + height.to_bytes(8, "big")


def get_expiring(state: State, height: int) -> list[tuple[bytes, int]]:
    raw = state.get_raw(expiry_key(height))
    return [(address, pid) for address, pid in codec.decode(raw)] if raw is not None else []


def set_expiring(state: State, height: int, entries: list[tuple[bytes, int]]) -> None:
    state.set_raw(expiry_key(height), codec.encode(tuple(sorted(entries))) if entries else None)


def require_policy(state: State, address: bytes) -> Policy:
    policy = get_policy(state, address)
    if policy is None:
        raise UnknownRecord("no policy account at this address")
    return policy


def require_member(policy: Policy, actor: bytes) -> None:
    if actor not in policy.members:
        raise NotAuthorized("the sender is not a member of this policy")


def count_approvals(policy: Policy, proposal: Proposal) -> int:
    """Distinct approvals by the policy's *current* members."""
    return len(set(proposal.approvals) & set(policy.members))


def decode_action(policy: Policy, action: bytes) -> Body:
    """The action body a proposal carries. Raises InvalidOperation, NotAuthorized."""
    try:
        body = decode_body(codec.decode(action))
    except (CodecError, DecodeError) as exc:
        raise InvalidOperation(f"malformed action: {exc}") from exc
    if body.KIND not in RULES.actions:
        raise InvalidOperation(f"kind {body.KIND} cannot be a policy action")
    if body.KIND in RULES.governance_actions and not policy.governance:
        raise NotAuthorized(f"only the governance policy may run {body.NAME}")
    return body


# -- transactions ----------------------------------------------------------------


def execute_create_policy(state: State, tx: Transaction, ctx: BlockContext) -> Outcome:
    """Create the policy account derived from the body and the sender's nonce."""
    body = tx.body
    assert isinstance(body, CreatePolicy)
    address = policy_address(body.members, body.threshold, body.limits, tx.sender_address, tx.nonce)
    if get_policy(state, address) is not None:
        raise AlreadyExists("a policy account already exists at this address")
    set_policy(state, Policy(address, body.members, body.threshold, body.limits))
    attributes = (
        ("address", address),
        ("creator", tx.sender_address),
        ("members", len(body.members)),
        ("threshold", body.threshold),
    )
    return Outcome(events=(Event("policy_created", attributes),))


def propose_action(state: State, actor: bytes, body: ProposeAction, ctx: BlockContext) -> Outcome:
    """Record a proposal with the proposer's approval; execute it at once if
    that already meets the threshold (1-of-n)."""
    policy = require_policy(state, body.policy)
    require_member(policy, actor)
    if body.expires_at < ctx.height:
        raise Expired(f"expires_at {body.expires_at} is before the current height")
    decode_action(policy, body.action)
    if len(policy.pending) >= MAX_PENDING_PROPOSALS:
        raise LimitExceeded(f"a policy has at most {MAX_PENDING_PROPOSALS} pending proposals")
    proposal = Proposal(
        policy.address, policy.next_proposal, actor, body.action, body.expires_at, (actor,)
    )
    policy = replace(
        policy,
        pending=(*policy.pending, proposal.proposal_id),
        next_proposal=policy.next_proposal + 1,
    )
    set_policy(state, policy)
    set_expiring(
        state,
        proposal.expires_at,
        [*get_expiring(state, proposal.expires_at), (policy.address, proposal.proposal_id)],
    )
    attributes = (
        ("expires_at", proposal.expires_at),
        ("policy", policy.address),
        ("proposal_id", proposal.proposal_id),
        ("proposer", actor),
    )
    events = (Event("proposal_created", attributes),)
    return Outcome(events=events + settle_proposal(state, policy, proposal, ctx))


def approve_proposal(
    state: State, actor: bytes, body: ApproveProposal, ctx: BlockContext
) -> Outcome:
    """Add the member's approval; the k-th distinct current member's approval executes."""
    policy = require_policy(state, body.policy)
    proposal = get_proposal(state, body.policy, body.proposal_id)
    if proposal is None:
        raise UnknownRecord(f"no pending proposal {body.proposal_id} (executed, expired or never)")
    require_member(policy, actor)
    if proposal.expires_at < ctx.height:
        raise Expired(f"proposal {proposal.proposal_id} expired at {proposal.expires_at}")
    if actor in proposal.approvals:
        # A repeat approval counts nothing; it only executes a proposal that
        # already has enough approvals after a threshold decrease.
        if count_approvals(policy, proposal) < policy.threshold:
            raise AlreadyExists("this member already approved the proposal")
        return Outcome(events=settle_proposal(state, policy, proposal, ctx))
    proposal = replace(proposal, approvals=tuple(sorted((*proposal.approvals, actor))))
    attributes = (
        ("member", actor),
        ("policy", policy.address),
        ("proposal_id", proposal.proposal_id),
    )
    events = (Event("proposal_approved", attributes),)
    return Outcome(events=events + settle_proposal(state, policy, proposal, ctx))


def settle_proposal(
    state: State, policy: Policy, proposal: Proposal, ctx: BlockContext
) -> tuple[Event, ...]:
    """Store the proposal, or, with enough approvals, delete it and run its action."""
    if count_approvals(policy, proposal) < policy.threshold:
        set_proposal(state, proposal, proposal_key(policy.address, proposal.proposal_id))
        return ()
    # Unlist first: the action can then never see or execute this proposal again.
    policy = unlist_proposal(state, policy, proposal)
    action = decode_action(policy, proposal.action)
    account = state.get_account(policy.address)
    before = {limit.asset: account.balance(limit.asset) for limit in policy.limits}
    outcome = RULES.actions[action.KIND](state, policy.address, action, ctx)
    if before:
        record_spending(state, policy.address, before, ctx.height)
    attributes = (
        ("kind", action.KIND),
        ("policy", policy.address),
        ("proposal_id", proposal.proposal_id),
    )
    return (Event("proposal_executed", attributes), *outcome.events)


def unlist_proposal(state: State, policy: Policy, proposal: Proposal) -> Policy:
    """Delete the proposal record and its pending and expiry entries; the updated policy."""
    entry = (policy.address, proposal.proposal_id)
    set_proposal(state, None, proposal_key(*entry))
    policy = replace(policy, pending=tuple(p for p in policy.pending if p != proposal.proposal_id))
    set_policy(state, policy)
    expiring = get_expiring(state, proposal.expires_at)
    set_expiring(state, proposal.expires_at, [e for e in expiring if e != entry])
    return policy


def record_spending(state: State, address: bytes, before: dict[str, int], height: int) -> None:
    """Charge each limited asset's net outflow to its window. Raises LimitExceeded."""
    policy = get_policy(state, address)
    assert policy is not None
    spending = {s.asset: s for s in policy.spending}
    for limit in policy.limits:
        outflow = before.get(limit.asset, 0) - state.get_account(address).balance(limit.asset)
        if outflow <= 0:
            continue
        window = height // limit.window
        current = spending.get(limit.asset)
        spent = current.spent if current is not None and current.window_index == window else 0
        if spent + outflow > limit.amount:
            raise LimitExceeded(
                f"{limit.asset}: {spent + outflow} would exceed the limit of {limit.amount} "
                f"per {limit.window} blocks"
            )
        spending[limit.asset] = Spending(limit.asset, window, spent + outflow)
    set_policy(state, replace(policy, spending=tuple(spending[a] for a in sorted(spending))))


# -- actions only a policy account can run ---------------------------------------


def update_policy(state: State, actor: bytes, body: UpdatePolicy, ctx: BlockContext) -> Outcome:
    """Replace members, threshold and limits; removed members' approvals are dropped."""
    policy = get_policy(state, actor)
    if policy is None:
        raise NotAuthorized("only a policy account can update itself")
    limited = {limit.asset for limit in body.limits}
    updated = replace(
        policy,
        members=body.members,
        threshold=body.threshold,
        limits=body.limits,
        spending=tuple(s for s in policy.spending if s.asset in limited),
    )
    set_policy(state, updated)
    for proposal_id in policy.pending:
        proposal = get_proposal(state, actor, proposal_id)
        assert proposal is not None, "pending list names a missing proposal"
        approvals = tuple(a for a in proposal.approvals if a in body.members)
        if approvals != proposal.approvals:
            set_proposal(
                state, replace(proposal, approvals=approvals), proposal_key(actor, proposal_id)
            )
    attributes = (
        ("members", len(body.members)),
        ("policy", actor),
        ("threshold", body.threshold),
    )
    return Outcome(events=(Event("policy_updated", attributes),))



def expire_proposals(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """End-of-block step: delete the proposals whose expiry is this height."""
    events = []
    for address, proposal_id in get_expiring(state, ctx.height):
        policy = get_policy(state, address)
        assert policy is not None, "expiry index names a missing policy"
        set_proposal(state, None, proposal_key(address, proposal_id))
        pending = tuple(p for p in policy.pending if p != proposal_id)
        set_policy(state, replace(policy, pending=pending))
        attributes = (("policy", address), ("proposal_id", proposal_id))
        events.append(Event("proposal_expired", attributes))
    set_expiring(state, ctx.height, [])
    return tuple(events)


# -- genesis ---------------------------------------------------------------------


def create_genesis_policy(
    state: State,
    index: int,
    members: tuple[bytes, ...],
    threshold: int,
    governance: bool,
) -> bytes:
    """Write the policy record of the genesis document's ``index``-th policy; its address."""
    address = policy_address(members, threshold, (), GENESIS_CREATOR, index)
    set_policy(state, Policy(address, members, threshold, governance=governance))
    if governance:
        state.set_raw(GOVERNANCE_KEY, address)
    return address


def create_genesis_policies(state: State, genesis: Genesis) -> None:
    """Genesis step: the policy records of the document's policies, in order."""
    for index, policy in enumerate(genesis.policies):
        create_genesis_policy(state, index, policy.members, policy.threshold, policy.governance)


# -- queries (for the RPC layer) -------------------------------------------------


def policy_info(reader: StateReader, address: bytes) -> Policy | None:
    """The policy account at ``address`` in committed state, or None."""
    return get_policy(State(reader), address)


def pending_proposals(reader: StateReader, address: bytes) -> tuple[Proposal, ...]:
    """The policy's pending proposals, by id (empty for an unknown policy)."""
    state = State(reader)
    policy = get_policy(state, address)
    if policy is None:
        return ()
    proposals = (get_proposal(state, address, pid) for pid in policy.pending)
    return tuple(p for p in proposals if p is not None)


def governance_address(reader: StateReader) -> bytes | None:
    """The governance policy's address, if genesis created one."""
    return State(reader).get_raw(GOVERNANCE_KEY)
