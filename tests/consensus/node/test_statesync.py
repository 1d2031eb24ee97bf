"""State sync in process (issue 18 section 2): a devnet node builds a short
chain with genuine certificates (signed with the devnet's public validator
keys) and serves it through its real SnapshotServer; a fresh node's
StateSyncClient joins from it, with every message routed through the
wire encoding. Hostile servers tamper with the replies: each bad reply is
refused with the peer blamed (PeerMisbehaved: banned) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from consensus.engine.certificate import CommitCertificate, encode_certificate
from consensus.engine.messages import Step, sign_vote
from consensus.node.node import validator_record_key
from consensus.node.p2p import PeerMisbehaved
from consensus.node.serve_budget import ServeBudget
from consensus.node.statesync import (
    HEADER_WINDOW,
    MAX_HEADERS,
    MAX_REPLY_BYTES,
    GetHeaders,
    GetNodes,
    HeaderEntry,
    HeaderRequests,
    Headers,
    Nodes,
    StateSyncMessage,
    StateSyncMessageError,
    decode_statesync_message,
    encode_statesync_message,
)
from consensus.node.statesync_service import SnapshotServer, StateSyncClient
from ledger import codec
from ledger.address import address_of
from ledger.chain import Chain
from ledger.client.devnet import account_key, validator_key
from ledger.crypto import SigningKey
from ledger.features.bank.bodies import Transfer
from ledger.pruning import PruningPolicy
from ledger.store import Store
from ledger.types import Transaction, decode_block

from .node_driver import DrivenNode, close, open_node, prepare

HEIGHTS = 12
INTERVAL = 5  # snapshots at 5 and 10
SERVER = b"server"
OTHER = b"other server"
QUORUM = [validator_key(i) for i in range(3)]  # 30 of 40
UNBOUNDED = ServeBudget(1e9, 1e12, 1e12)


def _certificate(chain_id: str, height: int, block_hash: bytes, keys: list[SigningKey]) -> bytes:
    precommits = [
        sign_vote(key, chain_id, Step.PRECOMMIT, height, 0, block_hash, address_of(key.public_key))
        for key in keys
    ]
    return encode_certificate(CommitCertificate.from_precommits(precommits))


def _build_chain(builder: DrivenNode) -> None:
    """HEIGHTS blocks with transfers (alice pays a new account each block)."""
    node = builder.node
    chain_id, key = builder.chain_id, account_key("alice")
    for height in range(1, HEIGHTS + 1):
        fee = node.chain.params().min_fee
        recipient = address_of(SigningKey(bytes([height]) * 32).public_key)
        tx = Transaction(chain_id, key.public_key, height - 1, fee, Transfer("coin", 7, recipient))
        proposer = node.validator_set(height).proposer(0).address
        last = node.chain.store.load_certificate(height - 1) or b"" if height > 1 else b""
        raw = node.app.build([tx.signed(key)], proposer, 1_000 + height, last)
        block = decode_block(raw)
        executed = node.app.execute(block)
        certificate = _certificate(chain_id, height, block.hash, QUORUM)
        # What Node._commit stores (without waking the duty services).
        next_set = node._next_validator_set(block, executed.result)
        record = {validator_record_key(height + 1): next_set.encode()}
        node.chain.commit_block(block, executed.result, certificate, record)
        node._sets[height + 1] = next_set
        node.app.committed()
    assert node.chain.tip.height == HEIGHTS


Tamper = Callable[[StateSyncMessage], StateSyncMessage]


class Harness:
    """A client on the joiner's chain, the builder's server, and the route
    between them (payloads go through the wire encoding both ways)."""

    def __init__(self, joiner: DrivenNode, builder: DrivenNode) -> None:
        self.joiner = joiner
        self.chain: Chain = joiner.node.chain
        self.tamper: dict[bytes, Tamper] = {}
        self.silent: set[bytes] = set()
        self.outbox: list[tuple[bytes, StateSyncMessage]] = []
        self.server = SnapshotServer(builder.node.chain, self._reply, INTERVAL, 10_000, UNBOUNDED)
        self.client = StateSyncClient(
            self.chain,
            joiner.node._sets[1],
            self._request,
            lambda h: b"vset" + h.to_bytes(8, "big"),
            request_timeout=5.0,
            offer_wait=0.0,
            punish=self._punish,
        )
        self.punished: list[tuple[bytes, str]] = []
        self.reverse = False  # deliver each round's requests last first
        self.in_flight: list[int] = []  # header requests sent per round
        self.now = 0.0
        self._asking: bytes = SERVER

    def _request(self, peer: bytes, message: StateSyncMessage) -> None:
        self.outbox.append((peer, message))

    def _punish(self, peer: bytes, reason: str) -> None:
        """What the node's transport does: ban (here: silence) and forget."""
        self.punished.append((peer, reason))
        self.silent.add(peer)
        self.client.forget(peer)

    def _reply(self, peer: bytes, message: StateSyncMessage) -> None:
        tamper = self.tamper.get(self._asking)
        if tamper is not None:
            message = tamper(message)
        decoded = decode_statesync_message(
            codec.decode(codec.encode(encode_statesync_message(message)))
        )
        if isinstance(decoded, Headers):
            self.client.on_headers(self._asking, decoded)
        elif isinstance(decoded, Nodes):
            self.client.on_nodes(self._asking, decoded)

    def offer(self, *peers: bytes) -> None:
        for peer in peers:
            self.client.on_offers(peer, self.server.offers(), self.now)

    def pump(self, rounds: int = 10_000) -> bool:
        """Deliver requests until the import is done (True) or nothing moves."""
        for _ in range(rounds):
            if self.client.step(self.now):
                return True
            if not self.outbox:
                return False
            outbox, self.outbox = self.outbox, []
            self.in_flight.append(sum(isinstance(m, GetHeaders) for _, m in outbox))
            for peer, message in reversed(outbox) if self.reverse else outbox:
                if peer in self.silent:
                    continue
                self._asking = peer
                assert isinstance(message, GetHeaders | GetNodes)
                self.server.on_request(peer, message, self.now)
        return False


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    homes = prepare(tmp_path)
    builder, joiner = open_node(homes[1]), open_node(homes[0])
    try:
        _build_chain(builder)
        yield Harness(joiner, builder)
    finally:
        close(joiner)
        close(builder)


def _state(chain: Chain) -> dict[bytes, bytes]:
    return dict(chain.store.iter_state())


def assert_untouched(h: Harness) -> None:
    assert h.chain.tip.height == 0
    assert h.chain.store.load_certificate(10) is None


def test_a_node_joins_from_a_served_snapshot(harness: Harness, tmp_path: Path) -> None:
    h = harness
    h.offer(SERVER)
    assert h.pump()
    tip = h.chain.tip
    assert tip.height == 10
    served = h.server.chain
    assert tip.state_root == served.state_root_at(10)
    assert tip.block_hash == served.store.load_kept_block_hash(10)
    # The flat state is the state of height 10 (the server is at 12: compare
    # through its tree at 10 for every key the joiner holds, and the counts).
    from ledger.state import tree_key
    from ledger.state_tree import StateTree

    tree = StateTree(served.store, served.state_root_at(10), cache_size=0)
    joined = _state(h.chain)
    assert all(tree.get(tree_key(key)) == value for key, value in joined.items())
    assert h.client.report.state_entries == len(joined) > 10
    # Nothing below the snapshot: pruned markers.
    assert h.chain.store.blocks_from() == 11 and h.chain.store.state_from() == 10
    assert h.chain.store.load_state_root(0) is None
    # The validator sets of 10 and 11 are those the server derived by consensus.
    for height in (10, 11):
        key = b"vset" + height.to_bytes(8, "big")
        assert h.chain.store.load_node_record(key) == served.store.load_node_record(key)


def _prune_old_states(chain: Chain) -> None:
    """Forget every state the server does not offer (the policy keeps 2
    heights; the oldest offered snapshot, 5, is the floor)."""
    chain.pruning = PruningPolicy(keep_recent=2)
    while chain.prune()[0].heights:
        pass
    assert chain.store.state_from() == INTERVAL
    assert all(chain.store.load_state_root(h) is None for h in range(1, INTERVAL))


def test_a_node_joins_from_a_server_that_pruned_the_old_states(harness: Harness) -> None:
    """The headers below the server's oldest state carry the schedule proofs
    stored with their blocks (the V records): no state is needed there."""
    h = harness
    assert h.server.offers().snapshots  # sets the floor pruning respects
    _prune_old_states(h.server.chain)
    h.offer(SERVER)
    assert h.pump()
    assert h.chain.tip.height == 10
    assert h.client.report.headers >= 10


def test_a_server_without_old_schedule_proofs_or_states_offers_nothing(harness: Harness) -> None:
    """A store written before V records existed, whose old states are gone,
    cannot serve the header chain from genesis: it must not offer."""
    h = harness
    server = h.server
    assert server.offers().snapshots
    _prune_old_states(server.chain)
    store = server.chain.store
    with store._db.write_batch() as batch:  # as if V records began at height 4
        for height in range(1, 4):
            batch.delete(b"V" + height.to_bytes(8, "big"))
        batch.put(b"Mschedule from", (4).to_bytes(8, "big"))
    assert not server.serves_headers()
    assert server.offers().snapshots == ()
    assert server.headers(GetHeaders(1, 8)).entries == ()  # nothing to prove height 1 with


def test_import_then_restart_opens_the_snapshot(harness: Harness, tmp_path: Path) -> None:
    h = harness
    h.offer(SERVER)
    assert h.pump()
    root, path = h.chain.tip.state_root, h.chain.store.path
    h.joiner.node._chain.close()
    reopened = Chain(Store(path), h.chain.chain_id)
    try:
        assert reopened.tip.height == 10 and reopened.tip.state_root == root
    finally:
        reopened.close()
        h.joiner.node._chain = Chain(Store(path), h.chain.chain_id)


def test_a_node_killed_mid_import_starts_over_cleanly(harness: Harness) -> None:
    """Nodes written before the final batch change nothing the node runs on;
    a new client resumes from them (fetches only what is missing)."""
    h = harness
    h.offer(SERVER)
    real_on_nodes = h.client.on_nodes
    calls = []

    def crash_after_two(peer: bytes, message: Nodes) -> None:
        calls.append(1)
        if len(calls) > 2:
            raise KeyboardInterrupt("killed")
        real_on_nodes(peer, message)

    h.client.on_nodes = crash_after_two  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        h.pump()
    assert_untouched(h)
    before = dict(h.chain.store.iter_state())
    assert h.chain.params() is not None and before  # still the genesis state
    fresh = Harness(h.joiner, _Builder(h.server.chain))
    fresh.offer(SERVER)
    assert fresh.pump()
    assert fresh.chain.tip.height == 10
    assert fresh.client.report.nodes_local > 0  # resumed from what was stored


class _Builder:
    """What Harness needs of a builder: a node with a chain."""

    def __init__(self, chain: Chain) -> None:
        self.node = type("N", (), {"chain": chain})()


def _headers_tamper(change: Callable[[HeaderEntry], HeaderEntry]) -> Tamper:
    def tamper(message: StateSyncMessage) -> StateSyncMessage:
        if isinstance(message, Headers) and message.entries:
            entries = list(message.entries)
            entries[-1] = change(entries[-1])
            return Headers(message.first, tuple(entries))
        return message

    return tamper


def _run_hostile(h: Harness, tamper: Tamper, match: str) -> None:
    h.tamper[SERVER] = tamper
    h.offer(SERVER)
    with pytest.raises(PeerMisbehaved, match=match):
        h.pump()
    assert_untouched(h)


def test_invalid_weak_certificate_is_refused(harness: Harness) -> None:
    def weak(entry: HeaderEntry) -> HeaderEntry:
        header = codec.decode(entry.header)
        block_hash = __import__("ledger.crypto").crypto.sha256(entry.header)
        assert isinstance(header, tuple)
        cert = _certificate(harness.chain.chain_id, header[2], block_hash, QUORUM[:2])
        return replace(entry, certificate=cert)

    _run_hostile(harness, _headers_tamper(weak), "certificate")


def test_invalid_forged_certificate_is_refused(harness: Harness) -> None:
    outsiders = [SigningKey(bytes([9 + i]) * 32) for i in range(4)]

    def forged(entry: HeaderEntry) -> HeaderEntry:
        header = codec.decode(entry.header)
        block_hash = __import__("ledger.crypto").crypto.sha256(entry.header)
        assert isinstance(header, tuple)
        cert = _certificate(harness.chain.chain_id, header[2], block_hash, outsiders)
        return replace(entry, certificate=cert)

    _run_hostile(harness, _headers_tamper(forged), "certificate")


def test_invalid_state_root_not_of_the_verified_header_is_refused(harness: Harness) -> None:
    """A header whose state root was swapped (to offer another snapshot
    root) no longer matches its certificate."""

    def swapped_root(entry: HeaderEntry) -> HeaderEntry:
        value = codec.decode(entry.header)
        assert isinstance(value, tuple)
        forged = (*value[:8], bytes(32), *value[9:])
        return replace(entry, header=codec.encode(forged))

    _run_hostile(harness, _headers_tamper(swapped_root), "certificate")


def test_invalid_schedule_without_its_proof_is_refused(harness: Harness) -> None:
    def other_schedule(entry: HeaderEntry) -> HeaderEntry:
        return replace(entry, schedule=entry.schedule + b"\x00")

    _run_hostile(harness, _headers_tamper(other_schedule), "proof")


def _nodes_tamper(change: Callable[[tuple[bytes, bytes]], tuple[bytes, bytes]]) -> Tamper:
    def tamper(message: StateSyncMessage) -> StateSyncMessage:
        if isinstance(message, Nodes) and message.entries:
            entries = list(message.entries)
            entries[0] = change(entries[0])
            return Nodes(tuple(entries))
        return message

    return tamper


def test_invalid_record_not_hashing_to_the_asked_hash_is_refused(harness: Harness) -> None:
    def flipped(entry: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
        record, key = entry
        return record[:-1] + bytes([record[-1] ^ 1]), key

    h = harness
    _run_hostile(h, _nodes_tamper(flipped), "hashes otherwise")
    assert h.client.fetcher is not None and h.client.fetcher.fetched == 0


def test_invalid_leaf_with_a_wrong_state_key_is_refused(harness: Harness) -> None:
    def wrong_key(entry: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
        record, key = entry
        return (record, b"not the key") if record[0] == 0 else (record, key)

    h = harness
    h.tamper[SERVER] = _nodes_tamper(wrong_key)
    h.offer(SERVER)
    with pytest.raises(PeerMisbehaved):
        for _ in range(100):  # the first reply with a leaf first
            if h.pump(rounds=1):
                break
    assert_untouched(h)


def test_invalid_reply_over_the_byte_cap_is_refused() -> None:
    record = b"\x00" + bytes(32) + bytes(MAX_REPLY_BYTES // 2)
    payload = encode_statesync_message(Nodes(((record, b""), (record, b""), (record, b""))))
    with pytest.raises(StateSyncMessageError, match="byte cap"):
        decode_statesync_message(codec.decode(codec.encode(payload), max_size=1 << 23))
    two = encode_statesync_message(Nodes(((record, b""), (record, b""))))
    decode_statesync_message(codec.decode(codec.encode(two), max_size=1 << 23))  # at the cap


def test_a_withholding_peer_times_out_and_another_is_asked(harness: Harness) -> None:
    h = harness
    h.offer(SERVER, OTHER)
    h.silent.add(OTHER)
    assert not h.pump()  # stalled on a request to the silent peer, or done
    while not h.pump():
        h.now += 6.0  # past the request timeout: asked again elsewhere
        assert h.now < 1_000
    assert h.chain.tip.height == 10
    fetcher = h.client.fetcher
    assert fetcher is not None and fetcher.fetched > 0


def test_a_server_answers_at_most_its_rate(harness: Harness) -> None:
    h = harness
    server = SnapshotServer(h.server.chain, lambda peer, message: None, INTERVAL, 3, UNBOUNDED)
    for _ in range(10):
        server.on_request(SERVER, GetHeaders(1, 1), 0.0)
    assert server.dropped == 7
    server.on_request(SERVER, GetHeaders(1, 1), 1.0)  # a second later: tokens again
    assert server.dropped == 7


def test_invalid_messages_are_typed_errors() -> None:
    for payload in [
        (),
        ("offers", tuple((i, bytes(32)) for i in range(5))),
        ("get_headers", 1, 0),
        ("get_headers", 0, 1),
        ("get_nodes", ()),
        ("get_nodes", (bytes(31),)),
        ("get_nodes", tuple(bytes(32) for _ in range(257))),
        ("nodes", ((b"\x01", b"x" * 2000),)),
        ("headers", 1, ((b"", b"", b""),)),
        ("what", 1),
    ]:
        with pytest.raises(StateSyncMessageError):
            decode_statesync_message(payload)


def test_a_server_answers_within_its_byte_budget(harness: Harness) -> None:
    """Header requests read blocks: their bytes (read and sent) count against
    the node's serving budget, per peer and in total."""
    h = harness
    sent: list[StateSyncMessage] = []
    cost = ServeBudget(10, 1e9, 1e9)
    probe = SnapshotServer(h.server.chain, lambda peer, m: None, INTERVAL, 1_000, cost)
    probe.on_request(SERVER, GetHeaders(1, 8), 0.0)
    one = cost.served_bytes  # what one such request reads and sends
    assert one > 8 * 200
    budget = ServeBudget(1_000, peer_bytes_per_s=3 * one, total_bytes_per_s=4 * one + 1)
    server = SnapshotServer(h.server.chain, lambda peer, m: sent.append(m), INTERVAL, 1_000, budget)
    for _ in range(10):
        server.on_request(SERVER, GetHeaders(1, 8), 0.0)
    assert len(sent) == 3 and budget.dropped == 7  # its own bucket ran dry
    for _ in range(3):
        server.on_request(OTHER, GetHeaders(1, 8), 0.0)
    assert len(sent) == 5  # the total bucket: one byte left after the first, then dry
    server.on_request(SERVER, GetHeaders(1, 8), 0.1)  # the total is still in debt
    assert len(sent) == 5
    server.on_request(SERVER, GetHeaders(1, 8), 2.0)  # refilled
    assert len(sent) == 6 and sent[-1] == server.headers(GetHeaders(1, 8))


def test_headers_come_from_several_peers_at_once_and_are_verified_in_order(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ranges of 3 headers, two serving peers are asked at once (one
    request each); replies delivered last first wait for their turn."""
    monkeypatch.setattr("consensus.node.statesync.MAX_HEADERS", 3)
    h = harness
    h.reverse = True
    h.offer(SERVER, OTHER)
    assert h.pump()
    assert h.chain.tip.height == 10 and h.client.report.headers >= 10
    assert max(h.in_flight) == 2  # both peers, never two requests to one
    assert h.punished == []


def test_a_bad_reply_that_waited_for_its_turn_gets_its_sender_banned(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """OTHER's tampered reply arrives before SERVER's earlier range, waits,
    fails when its turn comes: OTHER (not the peer whose reply triggered the
    check) is banned, its range is asked again of SERVER, and the joiner
    still imports the snapshot."""
    monkeypatch.setattr("consensus.node.statesync.MAX_HEADERS", 3)
    h = harness
    h.reverse = True

    def weak(entry: HeaderEntry) -> HeaderEntry:
        header = codec.decode(entry.header)
        assert isinstance(header, tuple)
        block_hash = __import__("ledger.crypto").crypto.sha256(entry.header)
        return replace(
            entry, certificate=_certificate(h.chain.chain_id, header[2], block_hash, QUORUM[:2])
        )

    h.tamper[OTHER] = _headers_tamper(weak)
    h.offer(SERVER, OTHER)
    assert h.pump()
    assert [peer for peer, _ in h.punished] == [OTHER]
    assert "certificate" in h.punished[0][1]
    assert h.chain.tip.height == 10


def test_header_requests_bookkeeping() -> None:
    """Short, empty, late and orphaned replies become gaps asked first; the
    window bounds both requests in flight and replies waiting."""
    entry = HeaderEntry(b"h", b"c", b"s", b"p")
    requests = HeaderRequests()
    asked = []
    while (wanted := requests.next_range(0, 10_000)) is not None:
        requests.ask(*wanted, SERVER + bytes([len(asked)]), deadline=5.0)
        asked.append(wanted)
    assert len(asked) == HEADER_WINDOW and asked[1] == (65, 64)
    # The second range answers short (10 of 64): it waits; the rest is a gap.
    assert requests.answered(SERVER + b"\x01", 65, (entry,) * 10)
    assert not requests.answered(OTHER, 129, (entry,))  # not asked of OTHER: ignored
    assert requests.ready(0) is None  # range 1 has not arrived
    assert requests.answered(SERVER + b"\x00", 1, (entry,) * 64)
    assert requests.ready(0) == (SERVER + b"\x00", (entry,) * 64)
    assert requests.ready(64) == (SERVER + b"\x01", (entry,) * 10)
    assert requests.gaps == [(75, 54)]
    assert requests.next_range(74, 10_000) == (75, 54)  # gaps first
    # Late requests and a departed peer give their ranges back.
    assert requests.expired(5.0) == [SERVER + bytes([i]) for i in range(2, HEADER_WINDOW)]
    requests.ask(75, 54, OTHER, deadline=9.0)
    requests.forget(OTHER)
    assert (75, 54) in requests.gaps and not requests.asked
    # Nothing beyond HEADER_WINDOW ranges past the verified height is asked.
    fresh = HeaderRequests()
    fresh.next_first = HEADER_WINDOW * MAX_HEADERS + 1
    assert fresh.next_range(0, 10_000) is None
    assert fresh.next_range(MAX_HEADERS, 10_000) == (HEADER_WINDOW * MAX_HEADERS + 1, 64)
