"""The lock outlives the WAL (issue 13 section 3), on the real Node class.

The node locks on block A in round 0 (it precommits A after a polka), then
its WAL is moved aside (the WAL-corruption advice) and it restarts. In
round 1 the proposer offers block B with no proof of lock: a node that
still knows its lock prevotes nil; one that forgot it would prevote B,
a vote conflicting with its precommit for A. The lock comes back from the
copy kept with the double-sign guard (consensus.node.lock_copy).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from consensus.engine.messages import Step
from consensus.node.lock_copy import LockCopy, LockCopyError
from consensus.node.node import NodeError
from ledger.address import address_of
from ledger.client.devnet import validator_key

from .node_driver import (
    DrivenNode,
    block_at,
    close,
    lose_wal,
    open_node,
    others,
    prepare,
    proposal,
    run,
    votes,
)


def a_follower(homes: list[Path]) -> Path:
    """The home of a validator that proposes neither round 0 nor round 1 of height 1."""
    probe = open_node(homes[0])
    try:
        proposers = {probe.node.validator_set(1).proposer(r).address for r in (0, 1)}
    finally:
        close(probe)
    for index, home in enumerate(homes):
        if address_of(validator_key(index).public_key) not in proposers:
            return home
    raise AssertionError("four validators, two proposers")


def lock_on_a(home: Path) -> bytes:
    """Start the node, make it precommit block A in round 0, stop it. A's id."""
    driven = open_node(home)
    try:
        block_a = block_at(driven, 1, 0, time_ms=1_000)
        a_hash = driven.node.app.block_hash(block_a)

        def round_0() -> None:
            driven.node._start_engine()
            driven.deliver(proposal(driven, 1, 0, block_a))
            for vote in votes(driven, Step.PREVOTE, 1, 0, a_hash, others(driven, 1)[:2]):
                driven.deliver(vote)

        run(round_0)
        [precommit] = driven.own_votes(Step.PRECOMMIT, 0)
        assert precommit.block_hash == a_hash  # locked on A, and said so
        assert driven.node.chain.tip.height == 0
        return a_hash
    finally:
        close(driven)


def round_1_prevotes(driven: DrivenNode) -> list[bytes | None]:
    """Move the restarted node to round 1 (f+1 prevotes of that round) and
    offer block B there without a proof of lock; its round-1 prevotes."""

    def round_1() -> None:
        driven.node._start_engine()
        block_b = block_at(driven, 1, 1, time_ms=2_000)
        for vote in votes(driven, Step.PREVOTE, 1, 1, None, others(driven, 1)[:2]):
            driven.deliver(vote)
        assert driven.node.engine.round == 1
        driven.deliver(proposal(driven, 1, 1, block_b))

    run(round_1)
    return [v.block_hash for v in driven.own_votes(Step.PREVOTE, 1)]


def test_invalid_a_lost_wal_does_not_unlock_the_validator(tmp_path: Path) -> None:
    home = a_follower(prepare(tmp_path))
    lock_on_a(home)
    lose_wal(home)
    driven = open_node(home)
    try:
        assert round_1_prevotes(driven) == [None]  # not B: the lock on A held
        assert driven.node.engine.locked_round == 0
    finally:
        close(driven)


def test_invalid_a_validator_without_wal_or_lock_copy_sits_the_height_out(
    tmp_path: Path,
) -> None:
    """A validator from before lock copies (or whose copy was moved aside)
    that signed at the height in progress cannot know its lock: it abstains."""
    home = a_follower(prepare(tmp_path))
    lock_on_a(home)
    lose_wal(home)
    (home / "data" / "signer_lock.bin").unlink()
    driven = open_node(home)
    try:
        assert round_1_prevotes(driven) == []
        assert driven.sent == []  # no vote at all at height 1
    finally:
        close(driven)


def test_invalid_a_damaged_lock_copy_refuses_to_resume(tmp_path: Path) -> None:
    home = a_follower(prepare(tmp_path))
    lock_on_a(home)
    lose_wal(home)
    path = home / "data" / "signer_lock.bin"
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    driven = open_node(home)
    try:
        with pytest.raises(NodeError, match=r"lock copy .* is damaged"):
            driven.node._start_engine()
    finally:
        close(driven)


def test_invalid_a_failing_lock_copy_stops_the_node_before_the_precommit_leaves(
    tmp_path: Path,
) -> None:
    """Issue 13 section 4: the lock copy is part of the persist; if it cannot
    be written (disk full), the node stops and the precommit never leaves."""
    home = a_follower(prepare(tmp_path))
    driven = open_node(home)
    assert driven.node.lock_copy is not None

    def disk_full(record: bytes) -> None:
        raise LockCopyError("cannot write the lock copy: [Errno 28] No space left on device")

    driven.node.lock_copy.save = disk_full  # type: ignore[method-assign]
    try:
        block_a = block_at(driven, 1, 0, time_ms=1_000)
        a_hash = driven.node.app.block_hash(block_a)

        def round_0() -> None:
            driven.node._start_engine()
            driven.deliver(proposal(driven, 1, 0, block_a))
            for vote in votes(driven, Step.PREVOTE, 1, 0, a_hash, others(driven, 1)[:2]):
                driven.deliver(vote)

        run(round_0)
        assert [v.block_hash for v in driven.own_votes(Step.PREVOTE, 0)] == [a_hash]
        assert driven.own_votes(Step.PRECOMMIT, 0) == []  # signed, never sent
        assert driven.node.halt_reason is not None and "lock copy" in driven.node.halt_reason
        assert driven.node._stopped.is_set()
    finally:
        close(driven)


def test_the_lock_copy_round_trips_and_starts_empty(tmp_path: Path) -> None:
    copy = LockCopy(tmp_path / "lock.bin")
    assert not copy.existed and copy.load() is None
    assert LockCopy(tmp_path / "lock.bin").existed
    (tmp_path / "lock.bin").write_bytes(b"LGLOCK01" + bytes(32) + b"x")
    with pytest.raises(LockCopyError, match="checksum"):
        copy.load()
