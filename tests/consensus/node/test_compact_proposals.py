"""Compact proposals (consensus.node.compact_proposals): a proposal sent as
its transactions' hashes is rebuilt from the receiver's mempool, what it
lacks is fetched from the sender, and the engine gets the very proposal it
would have got whole. Invalid cases (a peer that lies, floods or stays
silent) are named test_invalid_*.

The chain, the application and the receiving engine are real; the two
nodes' compact-proposal reactors talk through a recorded link, so every
message can be looked at, altered or withheld.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import pytest

from consensus.engine.engine import Engine, EngineConfig, InvalidMessage
from consensus.engine.messages import sign_proposal
from consensus.engine.signer import Signer
from consensus.engine.validators import Validator, ValidatorSet
from consensus.engine.wire import ProposalMessage, decode_message
from consensus.node.application import LedgerApplication
from consensus.node.compact_proposals import (
    FETCH_TIMEOUT_S,
    MAX_EARLY,
    MAX_REBUILDS_PER_PEER,
    SERVE_FACTOR,
    CompactProposal,
    CompactProposals,
    GetProposal,
    GetTxs,
    Timing,
    Txs,
    compact_form,
    decode_compact_message,
    encode_compact_message,
)
from consensus.node.p2p import COMPACT_CHANNEL, CONSENSUS_CHANNEL, PeerMisbehaved
from consensus.node.wire_limits import MAX_COMPACT_TXS, MAX_FETCH_TXS, channel_limits
from ledger import codec
from ledger.address import address_of
from ledger.chain import Chain
from ledger.crypto import sha256
from ledger.features.bank.bodies import Transfer
from ledger.types import Block, Transaction, decode_block
from tests.ledger.memory_chain import CHAIN, FEE, KEYS, VALIDATOR_KEYS, make_genesis

VALIDATORS = ValidatorSet.create(Validator.from_public_key(k.public_key, 1) for k in VALIDATOR_KEYS)
ADDRESSES = {address_of(k.public_key): k for k in VALIDATOR_KEYS}
SENDER = b"\x01" * 20  # the peer that sends the compact proposal (and serves it)
RECEIVER = b"\x02" * 20
FRAME = 4 * 1024 * 1024


def transfer(sender: int, nonce: int) -> Transaction:
    body = Transfer("coin", 5, address_of(KEYS[20].public_key))
    return Transaction(CHAIN, KEYS[sender].public_key, nonce, FEE, body).signed(KEYS[sender])


def open_app(path: Path) -> LedgerApplication:
    chain = Chain.open(path, make_genesis(powers=(1, 1, 1, 1)))
    sets = {1: VALIDATORS, 2: VALIDATORS.next_height()}
    return LedgerApplication(chain, lambda height: sets[height])


def proposer_key(height: int, address: bytes) -> bytes | None:
    key = ADDRESSES.get(address)
    return key.public_key if key is not None and height in (1, 2) else None


@dataclass
class Net:
    """The proposer's side (``server``, holding the block) and the receiver's
    (``receiver``, with a real engine at height 1), and what each sent."""

    message: ProposalMessage
    block: Block
    engine: Engine
    server: CompactProposals
    receiver: CompactProposals
    mempool: dict[bytes, Transaction]
    to_server: list[tuple[int, object]] = field(default_factory=list)
    to_receiver: list[tuple[int, object]] = field(default_factory=list)
    delivered: list[ProposalMessage] = field(default_factory=list)
    punished: list[tuple[bytes, str]] = field(default_factory=list)
    timings: dict[int, Timing] = field(default_factory=lambda: {1: "now", 2: "now"})
    now: float = 100.0

    @property
    def compact(self) -> CompactProposal:
        compact = compact_form(self.message, self.block)
        assert compact is not None
        return compact

    def send_compact(self, compact: CompactProposal | None = None) -> None:
        self.receiver.on_message(SENDER, encode_compact_message(compact or self.compact), self.now)

    def pump(self) -> None:
        """Deliver what each side sent to the other until both are quiet."""
        while self.to_server or self.to_receiver:
            while self.to_server:
                channel, payload = self.to_server.pop(0)
                assert channel == COMPACT_CHANNEL
                self.server.on_message(RECEIVER, payload, self.now)
            while self.to_receiver:
                channel, payload = self.to_receiver.pop(0)
                if channel == COMPACT_CHANNEL:
                    self.receiver.on_message(SENDER, payload, self.now)
                else:  # a whole proposal, on the consensus channel: as the node does
                    assert channel == CONSENSUS_CHANNEL and isinstance(payload, bytes)
                    message = decode_message(payload)
                    assert isinstance(message, ProposalMessage)
                    self.deliver(SENDER, message)
                    block = decode_block(message.block)
                    self.receiver.hold(message, block)

    def deliver(self, peer: bytes, message: ProposalMessage) -> None:
        """The node's deliver: to the engine, which checks it as always."""
        try:
            self.engine.on_message(message)
        except InvalidMessage as exc:
            raise PeerMisbehaved(f"invalid consensus message: {exc}") from exc
        self.delivered.append(message)

    def accepted(self) -> bool:
        proposal = self.engine.votes.round(0).proposal
        return proposal is not None and proposal.block == self.message.block


def make_net(tmp_path: Path, txs: list[Transaction], frame: int = FRAME) -> Net:
    builder = open_app(tmp_path / "proposer")
    proposer = VALIDATORS.proposer(0).address
    raw = builder.build(txs, proposer, 1_000, b"")
    block = decode_block(raw)
    assert len(block.transactions) == len(txs)
    signed = sign_proposal(ADDRESSES[proposer], CHAIN, 1, 0, -1, block.hash, proposer)
    message = ProposalMessage(signed, raw)
    app = open_app(tmp_path / "receiver")
    voter = next(k for a, k in ADDRESSES.items() if a != proposer)
    engine = Engine(EngineConfig(), CHAIN, Signer(voter, CHAIN), app)
    engine.start_height(1, VALIDATORS, VALIDATORS.next_height())
    mempool: dict[bytes, Transaction] = {}

    def timing(height: int) -> Timing:
        return net.timings.get(height, "never")

    def punish(peer: bytes, reason: str) -> None:
        net.punished.append((peer, reason))

    net: Net
    server = CompactProposals(
        CHAIN,
        lambda peer, channel, payload: net.to_receiver.append((channel, payload)) is None,
        lambda peer, message: None,
        lambda tx_hash: None,
        proposer_key,
        timing,
        punish,
        frame,
    )
    receiver = CompactProposals(
        CHAIN,
        lambda peer, channel, payload: net.to_server.append((channel, payload)) is None,
        lambda peer, message: net.deliver(peer, message),
        mempool.get,
        proposer_key,
        timing,
        punish,
        frame,
        app.adopt,
    )
    net = Net(message, block, engine, server, receiver, mempool)
    server.hold(message, block)
    return net


def txs_of(count: int) -> list[Transaction]:
    return [transfer(sender, 0) for sender in range(count)]


def test_a_proposal_whose_transactions_the_mempool_holds_is_rebuilt_exactly(
    tmp_path: Path,
) -> None:
    txs = txs_of(6)
    net = make_net(tmp_path, txs)
    net.mempool.update({tx.hash: tx for tx in txs})
    net.send_compact()
    assert net.to_server == []  # nothing fetched
    assert [m.block for m in net.delivered] == [net.message.block]  # byte for byte
    assert net.accepted()
    assert net.receiver.holds(net.block.hash)  # and served from now on
    assert net.receiver.traffic.rebuilt == 1


def test_missing_transactions_are_fetched_from_the_sender_by_index(tmp_path: Path) -> None:
    txs = txs_of(6)
    net = make_net(tmp_path, txs)
    net.mempool.update({tx.hash: tx for tx in txs if tx not in (txs[1], txs[4])})
    net.send_compact()
    [(_, request)] = net.to_server
    assert decode_compact_message(request) == GetTxs(net.block.hash, (1, 4))
    net.pump()
    assert [m.block for m in net.delivered] == [net.message.block]
    assert net.accepted()
    assert net.server.traffic.served_txs == 2


def test_duplicate_hashes_are_fetched_once(tmp_path: Path) -> None:
    """A block that lists a transaction twice (invalid, but the proposer's to
    answer for): rebuilt as signed, with the transaction asked for once."""
    txs = txs_of(3)
    net = make_net(tmp_path, txs)
    doubled = Block(
        replace(
            net.block.header,
            txs_root=_root([*txs, txs[0]]),
        ),
        (*txs, txs[0]),
    )
    proposer = VALIDATORS.proposer(0).address
    signed = sign_proposal(ADDRESSES[proposer], CHAIN, 1, 0, -1, doubled.hash, proposer)
    message = ProposalMessage(signed, doubled.encode())
    net.server.hold(message, doubled)
    net.mempool.update({tx.hash: tx for tx in txs[1:]})
    compact = compact_form(message, doubled)
    assert compact is not None
    net.send_compact(compact)
    [(_, request)] = net.to_server
    assert decode_compact_message(request) == GetTxs(doubled.hash, (0,))
    net.to_server.clear()
    net.receiver.on_message(
        SENDER, encode_compact_message(Txs(doubled.hash, (0,), (txs[0].encode(),))), net.now
    )
    assert [m.block for m in net.delivered] == [doubled.encode()]


def _root(txs: list[Transaction]) -> bytes:
    from ledger.types import block_txs_root

    return block_txs_root(txs)


def test_a_partial_answer_is_followed_by_a_request_for_the_rest(tmp_path: Path) -> None:
    txs = txs_of(6)
    net = make_net(tmp_path, txs)
    net.mempool.update({tx.hash: tx for tx in txs[3:]})
    net.send_compact()
    [(_, request)] = net.to_server
    assert decode_compact_message(request) == GetTxs(net.block.hash, (0, 1, 2))
    net.to_server.clear()
    partial = Txs(net.block.hash, (0,), (txs[0].encode(),))
    net.receiver.on_message(SENDER, encode_compact_message(partial), net.now)
    [(_, request)] = net.to_server
    assert decode_compact_message(request) == GetTxs(net.block.hash, (1, 2))
    net.pump()
    assert net.accepted()


def test_a_server_answers_what_fits_in_a_frame(tmp_path: Path) -> None:
    txs = txs_of(6)
    size = len(txs[0].encode())
    net = make_net(tmp_path, txs, frame=256 + 2 * (size + 16))
    request = encode_compact_message(GetTxs(net.block.hash, (0, 1, 2)))
    net.server.on_message(RECEIVER, request, net.now)
    [(_, answer)] = net.to_receiver
    assert decode_compact_message(answer) == Txs(
        net.block.hash, (0, 1), (txs[0].encode(), txs[1].encode())
    )


def test_invalid_rebuild_larger_than_a_frame_is_dropped(tmp_path: Path) -> None:
    """No honest node holds a block that could not travel whole: a rebuild
    that grows beyond a frame is dropped, not delivered."""
    txs = txs_of(6)
    size = len(txs[0].encode())
    net = make_net(tmp_path, txs, frame=256 + 3 * (size + 16))
    net.mempool.update({tx.hash: tx for tx in txs[3:]})
    net.send_compact()
    net.pump()
    assert net.delivered == [] and not net.receiver.rebuilding(net.block.hash)
    assert net.receiver.traffic.dropped == 1


def test_an_empty_mempool_gets_the_whole_proposal(tmp_path: Path) -> None:
    net = make_net(tmp_path, txs_of(5))
    net.send_compact()
    [(_, request)] = net.to_server
    assert decode_compact_message(request) == GetProposal(net.block.hash)
    net.pump()
    assert net.accepted()
    assert not net.receiver.rebuilding(net.block.hash)


def test_invalid_served_transaction_punishes_the_server_and_is_not_accepted(
    tmp_path: Path,
) -> None:
    txs = txs_of(4)
    net = make_net(tmp_path, txs)
    net.mempool.update({tx.hash: tx for tx in txs[1:]})
    net.send_compact()
    other = transfer(9, 0)
    answer = Txs(net.block.hash, (0,), (other.encode(),))
    with pytest.raises(PeerMisbehaved, match="not the one asked for"):
        net.receiver.on_message(SENDER, encode_compact_message(answer), net.now)
    assert net.delivered == []
    assert net.engine.votes.round(0).proposal is None
    assert net.engine._validity == {}  # nothing cached under the block's id


def test_invalid_answer_with_an_index_not_asked_for(tmp_path: Path) -> None:
    txs = txs_of(4)
    net = make_net(tmp_path, txs)
    net.mempool.update({tx.hash: tx for tx in txs[1:]})
    net.send_compact()
    answer = Txs(net.block.hash, (0, 2), (txs[0].encode(), txs[2].encode()))
    with pytest.raises(PeerMisbehaved, match="not asked for"):
        net.receiver.on_message(SENDER, encode_compact_message(answer), net.now)
    assert net.delivered == []


def test_invalid_hashes_that_do_not_match_the_header_are_refused_before_any_fetch(
    tmp_path: Path,
) -> None:
    """A genuine signed proposal and header over hashes of transactions
    nobody has: punished at once, nothing asked for, nothing kept."""
    net = make_net(tmp_path, txs_of(4))
    invented = tuple(sha256(b"nobody has %d" % i) for i in range(4))
    with pytest.raises(PeerMisbehaved, match="hashes do not match the header"):
        net.send_compact(replace(net.compact, tx_hashes=invented))
    dropped_one = replace(net.compact, tx_hashes=net.compact.tx_hashes[:3])
    with pytest.raises(PeerMisbehaved, match="hashes do not match the header"):
        net.send_compact(dropped_one)
    with pytest.raises(PeerMisbehaved, match="last commit does not match"):
        net.send_compact(replace(net.compact, last_commit=b"\x00"))
    assert net.to_server == [] and not net.receiver.rebuilding(net.block.hash)


def test_invalid_signature_or_header_is_refused(tmp_path: Path) -> None:
    net = make_net(tmp_path, txs_of(2))
    forged = replace(net.compact.proposal, signature=bytes(64))
    with pytest.raises(PeerMisbehaved, match="invalid signature"):
        net.send_compact(replace(net.compact, proposal=forged))
    other = decode_block(open_app(tmp_path / "other").build([], forged.proposer, 2_000, b""))
    with pytest.raises(PeerMisbehaved, match="not the one signed"):
        net.send_compact(replace(net.compact, header=other.header.encode()))
    stranger = replace(net.compact.proposal, proposer=b"\x09" * 20)
    with pytest.raises(PeerMisbehaved, match="no validator"):
        net.send_compact(replace(net.compact, proposal=stranger))
    assert net.to_server == []


def test_invalid_oversized_hash_list_is_refused(tmp_path: Path) -> None:
    net = make_net(tmp_path, txs_of(1))
    hashes = tuple(sha256(b"%d" % i) for i in range(MAX_COMPACT_TXS + 1))
    payload = encode_compact_message(replace(net.compact, tx_hashes=hashes))
    # The transport refuses the frame before unpacking it ...
    limits = channel_limits(FRAME)[COMPACT_CHANNEL]
    with pytest.raises(codec.CodecError):
        codec.check_limits(codec.encode(payload), limits)
    # ... and the reactor refuses the value if it ever got that far.
    with pytest.raises(PeerMisbehaved, match="at most"):
        net.receiver.on_message(SENDER, payload, net.now)
    assert net.to_server == []


def test_invalid_fetch_request_beyond_the_block_punishes_the_asker(tmp_path: Path) -> None:
    net = make_net(tmp_path, txs_of(3))
    request = encode_compact_message(GetTxs(net.block.hash, (0, 3)))
    with pytest.raises(PeerMisbehaved, match="beyond the block"):
        net.server.on_message(RECEIVER, request, net.now)
    assert net.to_receiver == []


def test_serving_is_bounded_per_peer_and_block(tmp_path: Path) -> None:
    net = make_net(tmp_path, txs_of(3))
    request = encode_compact_message(GetTxs(net.block.hash, (0, 1, 2)))
    served = []
    for _ in range(4):
        net.server.on_message(RECEIVER, request, net.now)
        (_, answer) = net.to_receiver.pop()
        message = decode_compact_message(answer)
        assert isinstance(message, Txs)
        served.append(len(message.txs))
    assert sum(served) == SERVE_FACTOR * (3 + 1)  # then empty answers
    assert served[-1] == 0
    net.server.on_message(RECEIVER, encode_compact_message(GetProposal(net.block.hash)), net.now)
    assert net.to_receiver == []  # nor the whole proposal
    # An unknown block: an empty answer, and no whole proposal.
    unknown = sha256(b"unknown block")
    net.server.on_message(RECEIVER, encode_compact_message(GetTxs(unknown, (0,))), net.now)
    net.server.on_message(RECEIVER, encode_compact_message(GetProposal(unknown)), net.now)
    assert [decode_compact_message(p) for _, p in net.to_receiver] == [Txs(unknown, (), ())]
    # Another peer has its own budget.
    net.to_receiver.clear()
    net.server.on_message(b"\x03" * 20, request, net.now)
    (_, answer) = net.to_receiver.pop()
    assert decode_compact_message(answer) == Txs(
        net.block.hash, (0, 1, 2), tuple(tx.encode() for tx in net.block.transactions)
    )


def test_a_silent_sender_is_asked_for_the_whole_proposal_then_given_up(
    tmp_path: Path,
) -> None:
    txs = txs_of(4)
    net = make_net(tmp_path, txs)
    net.mempool.update({tx.hash: tx for tx in txs[1:]})
    net.send_compact()
    net.receiver.on_message(b"\x04" * 20, encode_compact_message(net.compact), net.now)
    assert [type(decode_compact_message(p)) for _, p in net.to_server] == [GetTxs]
    net.to_server.clear()  # never answered
    net.receiver.expire(net.now + FETCH_TIMEOUT_S / 2)
    assert net.to_server == []
    net.receiver.expire(net.now + FETCH_TIMEOUT_S)
    # Both peers that sent it are asked for the whole proposal.
    assert [decode_compact_message(p) for _, p in net.to_server] == [
        GetProposal(net.block.hash),
        GetProposal(net.block.hash),
    ]
    net.to_server.clear()
    net.receiver.expire(net.now + 2 * FETCH_TIMEOUT_S)
    assert not net.receiver.rebuilding(net.block.hash)
    assert net.receiver.traffic.dropped == 1
    assert net.delivered == [] and net.engine.votes.round(0).proposal is None
    # The proposer's re-gossip starts again, and an answering peer completes it.
    net.send_compact()
    net.pump()
    assert net.accepted()


def test_rebuilds_in_progress_are_bounded_per_peer(tmp_path: Path) -> None:
    net = make_net(tmp_path, txs_of(4))
    net.mempool.update({tx.hash: tx for tx in net.block.transactions[1:]})
    proposer = VALIDATORS.proposer(0).address
    for round_ in range(MAX_REBUILDS_PER_PEER + 1):
        builder = open_app(tmp_path / f"b{round_}")
        fee_recipient = sorted(ADDRESSES)[round_]  # another header each round
        txs = list(net.block.transactions)
        block = decode_block(builder.build(txs, fee_recipient, 1_000, b""))
        signed = sign_proposal(ADDRESSES[proposer], CHAIN, 1, round_, -1, block.hash, proposer)
        compact = compact_form(ProposalMessage(signed, block.encode()), block)
        assert compact is not None
        net.send_compact(compact)
    assert len(net.to_server) == MAX_REBUILDS_PER_PEER  # the third was not started


def test_invalid_rebuilt_proposal_refused_by_the_engine_punishes_its_sender(
    tmp_path: Path,
) -> None:
    """A transaction whose bytes hash right but do not decode: the block is
    malformed, the engine refuses it (BlockMismatch), the sender is punished
    and nothing is kept under the block's id."""
    txs = txs_of(2)
    net = make_net(tmp_path, txs)
    junk = b"\xc1 not a transaction"
    header = replace(net.block.header, txs_root=_merkle([sha256(junk), txs[1].hash]))
    block_hash = header.hash
    proposer = VALIDATORS.proposer(0).address
    signed = sign_proposal(ADDRESSES[proposer], CHAIN, 1, 0, -1, block_hash, proposer)
    compact = CompactProposal(signed, header.encode(), (sha256(junk), txs[1].hash), b"")
    net.mempool[txs[1].hash] = txs[1]
    net.send_compact(compact)
    net.to_server.clear()
    answer = Txs(block_hash, (0,), (junk,))
    with pytest.raises(PeerMisbehaved, match="invalid consensus message"):
        net.receiver.on_message(SENDER, encode_compact_message(answer), net.now)
    assert net.engine.votes.round(0).proposal is None
    assert net.engine._validity == {}
    assert not net.receiver.holds(block_hash)


def _merkle(hashes: list[bytes]) -> bytes:
    from ledger.types import merkle_root

    return merkle_root(hashes)


def test_fetch_requests_are_bounded(tmp_path: Path) -> None:
    net = make_net(tmp_path, txs_of(1))
    too_many = tuple(range(MAX_FETCH_TXS + 1))
    with pytest.raises(PeerMisbehaved, match="at most"):
        net.server.on_message(
            RECEIVER, encode_compact_message(GetTxs(net.block.hash, too_many)), net.now
        )
    with pytest.raises(PeerMisbehaved, match="ascending"):
        net.server.on_message(
            RECEIVER, encode_compact_message(GetTxs(net.block.hash, (0, 0))), net.now
        )


def test_invalid_reordered_hashes_of_held_transactions_are_refused_by_the_engine(
    tmp_path: Path,
) -> None:
    """Nothing to fetch: the rebuilt block goes to the engine, which finds
    its body does not match the header; the sender is punished and nothing
    is cached under the block's id."""
    txs = txs_of(3)
    net = make_net(tmp_path, txs)
    net.mempool.update({tx.hash: tx for tx in txs})
    reordered = replace(net.compact, tx_hashes=tuple(reversed(net.compact.tx_hashes)))
    with pytest.raises(PeerMisbehaved, match="does not match its header"):
        net.send_compact(reordered)
    assert net.engine.votes.round(0).proposal is None
    assert net.engine._validity == {}
    assert not net.receiver.holds(net.block.hash)
    net.send_compact()  # the genuine one is still taken
    assert net.accepted()


def test_a_proposal_for_the_height_after_the_next_commit_is_kept_until_then(
    tmp_path: Path,
) -> None:
    """The next height's validator set is known only at the commit: its
    compact proposals are kept (a few) and rebuilt then; one that turns out
    forged gets its sender punished then."""
    txs = txs_of(3)
    net = make_net(tmp_path, txs)
    net.mempool.update({tx.hash: tx for tx in txs})
    net.timings[1] = "later"
    forged = replace(net.compact.proposal, signature=bytes(64))
    liar = b"\x06" * 20
    net.receiver.on_message(liar, encode_compact_message(replace(net.compact, proposal=forged)), 0)
    for _ in range(MAX_EARLY):
        net.send_compact()
    assert net.delivered == [] and net.punished == []
    net.timings[1] = "now"  # the commit
    net.receiver.replay_early(net.now)
    assert net.accepted()
    assert len(net.delivered) == MAX_EARLY  # the first rebuilt, the others found held
    assert net.punished == []  # the forged one was the oldest: dropped unread
    net.timings[1] = "later"
    net.receiver.on_message(liar, encode_compact_message(replace(net.compact, proposal=forged)), 0)
    net.timings[1] = "now"
    net.receiver.replay_early(net.now)
    [(punished, reason)] = net.punished  # by the engine: the block is held by now
    assert punished == liar and "invalid signature" in reason
    net.timings[1] = "never"
    net.send_compact()
    net.receiver.replay_early(net.now)
    assert len(net.delivered) == MAX_EARLY  # a stale height is ignored, not kept
