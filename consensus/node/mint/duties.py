"""A key holder's part in the mint, as a pure state machine: the committed
state's pending work and this validator's key shares in, transaction bodies
out (consensus.node.mint.service signs and submits them).

For each issuance request whose round is open to it, the holder makes its
round-1 commitments (one per output: ``issuance_commit``) and keeps their
nonces **in memory only**; once the chain has closed the round's list with
it on it, it answers (``issuance_respond``), taking the nonces out of memory
first: a nonce is never used twice, and a restart loses it (the round then
times out without this holder, and a new round uses fresh nonces). Before a
commitment leaves the node the service records the (request, round)
durably, and after a restart the holder sits those rounds out, so even a
broken random source cannot make it answer two challenges with one nonce.

For each locked note past its lock window whose secret a claim has
revealed, it publishes its evaluation share ``k_i*Y`` with a proof
(``evaluate``), once per key set epoch.

Only ``t`` holders need to commit to a round. Each round has ``t``
**preferred** holders (the available ones in identifier order, starting at
``request id + round`` modulo their number): they commit at once; the others
commit only if the round's list is still open two blocks after it started
(a preferred holder is down or slow). This saves a quarter of the costliest
step on a 3-of-4 devnet, at the price of two blocks when a preferred
holder is absent.

A pass does every response first (they finish requests), then commitments
for at most ``MAX_COMMIT_OUTPUTS`` outputs and evaluations of at most
``MAX_EVALUATIONS`` notes, oldest first; what is left waits for the next
pass. A request too close to its refund to finish gets no new commitment:
when deposits come faster than the validators sign, the work goes to the
requests that can still be issued, and the others are refunded. Bodies are
batched: at most ``MAX_ENTRIES`` entries and about ``MAX_BODY_BYTES`` of
data per transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from ledger.features.mint.bodies import MAX_ENTRIES, MintCommit, MintEvaluate, MintRespond
from ledger.features.mint.evaluation import evaluate
from ledger.features.mint.issuance import (
    IssuanceNonce,
    issuance_commit,
    issuance_respond,
)
from ledger.features.mint.issue import issue_context
from ledger.features.mint.queries import PendingWork
from ledger.features.mint.records import ISSUING, LOCKED, ChainKeyset, IssueRequest, Lock
from ledger.features.mint.redeem import evaluation_context
from ledger.features.mint.wire import (
    ISSUANCE_COMMITMENT_SIZE,
    decode_issuance_commitment,
    encode_evaluation_share,
    encode_issuance_commitment,
    encode_issuance_response,
)
from ledger.features.threshold.key_sets import KeySet
from ledger.threshold.errors import ThresholdError
from ledger.threshold.group import RandomBytes, decode_element
from ledger.threshold.keys import KeyPackage

MAX_BODY_BYTES: Final = 48 * 1024
MAX_COMMIT_OUTPUTS: Final = 256  # per pass: short passes answer sooner
MAX_EVALUATIONS: Final = 256  # per pass
PREFERRED_HEAD_START: Final = 2  # blocks before the other holders commit too
MIN_BLOCKS_LEFT: Final = 4  # no commitment to a request this close to its refund

Body = MintCommit | MintRespond | MintEvaluate
SharesOf = Callable[[str], tuple[KeySet, tuple[KeyPackage, ...]] | None]
KeysetOf = Callable[[int], ChainKeyset | None]


@dataclass
class MintDuties:
    """One key holder's memory between blocks (see the module docstring)."""

    chain_id: str
    me: bytes  # the validator's public key
    rng: RandomBytes
    lock_window_blocks: int
    sat_out: set[tuple[int, int]] = field(default_factory=set)  # (request, round) committed
    nonces: dict[tuple[int, int], list[IssuanceNonce]] = field(default_factory=dict)
    evaluated: set[tuple[bytes, int]] = field(default_factory=set)  # (Y, holders epoch)

    def work(
        self, height: int, pending: PendingWork, keyset_of: KeysetOf, shares_of: SharesOf
    ) -> tuple[list[tuple[int, int]], list[Body]]:
        """The (request, round) pairs to record as committed before sending,
        and the bodies to submit, for the state at ``height``."""
        commits: list[tuple[int, int, bytes]] = []
        responses: list[tuple[int, int, bytes]] = []
        live = set()
        to_commit = []
        for request in pending.requests:
            live.add((request.request_id, request.round))
            held = self._held(request.keyset_epoch, keyset_of, shares_of)
            if held is None or request.status != ISSUING:
                continue
            keyset, holders, keys = held
            if holders.epoch != request.holders_epoch:
                continue
            step = self._step_request(request, holders, height)
            if step == "respond":
                answer = self._respond(request, keyset, keys)
                if answer is not None:
                    responses.append(answer)
            elif step == "commit":
                to_commit.append((request, keyset, keys))
        budget = MAX_COMMIT_OUTPUTS
        for request, keyset, keys in to_commit:
            if len(request.outputs) > budget:
                break
            budget -= len(request.outputs)
            commits.append(self._commit(request, keyset, keys))
        for stale in [k for k in self.nonces if k not in live]:
            del self.nonces[stale]  # the round is over: these nonces are never used
        self.sat_out &= live
        evaluations = self._evaluations(height, pending.locks, keyset_of, shares_of)
        to_record = [(r, n) for r, n, _ in commits]
        bodies: list[Body] = []
        bodies += [MintCommit(b) for b in _batches(commits)]
        bodies += [MintRespond(b) for b in _batches(responses)]
        bodies += [MintEvaluate(b) for b in _batches(evaluations)]
        return to_record, bodies

    def _held(
        self, epoch: int, keyset_of: KeysetOf, shares_of: SharesOf
    ) -> tuple[ChainKeyset, KeySet, tuple[KeyPackage, ...]] | None:
        keyset = keyset_of(epoch)
        if keyset is None:
            return None
        found = shares_of(keyset.key_set)
        if found is None:
            return None
        return keyset, found[0], found[1]

    def _step_request(self, request: IssueRequest, holders: KeySet, height: int) -> str | None:
        """What this holder owes the request now: "commit", "respond" or None.
        A round it will never answer has its nonces dropped."""
        me = holders.identifier_of(self.me)
        if me is None or me in request.excluded:
            return None
        run = (request.request_id, request.round)
        committed = {i for i, _ in request.commitments}
        if len(committed) < holders.threshold:
            if me in committed or run in self.sat_out or run in self.nonces:
                return None
            if request.expires_at - height < MIN_BLOCKS_LEFT:
                return None  # it cannot finish: the work would be wasted
            if me in preferred_holders(request, holders):
                return "commit"
            return "commit" if height >= request.round_started + PREFERRED_HEAD_START else None
        if me not in committed or run not in self.nonces:
            self.nonces.pop(run, None)
            return None
        if me in {i for i, _ in request.responses}:
            self.nonces.pop(run, None)
            return None
        return "respond"

    def _commit(
        self, request: IssueRequest, keyset: ChainKeyset, keys: tuple[KeyPackage, ...]
    ) -> tuple[int, int, bytes]:
        run = (request.request_id, request.round)
        nonces, parts = [], []
        for index, (amount, blinded) in enumerate(request.outputs):
            key = keys[_key_index(keyset, amount)]
            context = issue_context(self.chain_id, request.request_id, request.round, index)
            nonce, commitment = issuance_commit(key, decode_element(blinded), context, self.rng)
            nonces.append(nonce)
            parts.append(encode_issuance_commitment(commitment))
        self.nonces[run] = nonces
        self.sat_out.add(run)
        return request.request_id, request.round, b"".join(parts)

    def _respond(
        self, request: IssueRequest, keyset: ChainKeyset, keys: tuple[KeyPackage, ...]
    ) -> tuple[int, int, bytes] | None:
        run = (request.request_id, request.round)
        nonces = self.nonces.pop(run)  # spent now, whatever happens next
        parts = []
        size = ISSUANCE_COMMITMENT_SIZE
        for index, (amount, blinded) in enumerate(request.outputs):
            key = keys[_key_index(keyset, amount)]
            context = issue_context(self.chain_id, request.request_id, request.round, index)
            try:
                listed = [
                    decode_issuance_commitment(data[index * size : (index + 1) * size])
                    for _, data in sorted(request.commitments)
                ]
                response = issuance_respond(
                    key, nonces[index], decode_element(blinded), listed, context
                )
            except ThresholdError:
                return None  # a malformed list: the chain blames its author and starts again
            parts.append(encode_issuance_response(response))
        return run[0], run[1], b"".join(parts)

    def _evaluations(
        self, height: int, locks: tuple[Lock, ...], keyset_of: KeysetOf, shares_of: SharesOf
    ) -> list[tuple[bytes, bytes]]:
        found: list[tuple[bytes, bytes]] = []
        for lock in locks:
            if len(found) >= MAX_EVALUATIONS:
                break
            if lock.status != LOCKED or lock.value or not lock.revealed:
                continue
            if height + 1 < lock.locked_at + self.lock_window_blocks:
                continue  # included at height + 1 at the earliest
            held = self._held(lock.keyset_epoch, keyset_of, shares_of)
            if held is None:
                continue
            keyset, holders, keys = held
            me = holders.identifier_of(self.me)
            done = (lock.y, holders.epoch)
            if me is None or done in self.evaluated:
                continue
            if lock.holders_epoch == holders.epoch and me in {i for i, _ in lock.shares}:
                continue
            key = keys[_key_index(keyset, lock.amount)]
            context = evaluation_context(self.chain_id, lock.y)
            share = evaluate(key, decode_element(lock.y), context, self.rng)
            self.evaluated.add(done)
            found.append((lock.y, encode_evaluation_share(share)))
        live = {lock.y for lock in locks}
        self.evaluated = {d for d in self.evaluated if d[0] in live}
        return found


def preferred_holders(request: IssueRequest, holders: KeySet) -> set[int]:
    """The t holders that commit to a round at once (see the module docstring)."""
    available = sorted(i for i, _, _ in holders.members if i not in request.excluded)
    if len(available) <= holders.threshold:
        return set(available)
    start = (request.request_id + request.round) % len(available)
    return {available[(start + j) % len(available)] for j in range(holders.threshold)}


def _key_index(keyset: ChainKeyset, amount: int) -> int:
    index = keyset.key_index(amount)
    assert index is not None, "the chain only accepts the keyset's denominations"
    return index


def _batches(entries: list) -> list[tuple]:  # type: ignore[type-arg]
    """Entries cut into bodies of at most MAX_ENTRIES and about MAX_BODY_BYTES."""
    batches: list[tuple] = []  # type: ignore[type-arg]
    current: list = []  # type: ignore[type-arg]
    size = 0
    for entry in entries:
        entry_size = len(entry[-1]) + 48
        if current and (len(current) >= MAX_ENTRIES or size + entry_size > MAX_BODY_BYTES):
            batches.append(tuple(current))
            current, size = [], 0
        current.append(entry)
        size += entry_size
    if current:
        batches.append(tuple(current))
    return batches
