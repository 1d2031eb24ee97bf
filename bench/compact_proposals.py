"""Benchmark: what one proposal costs a validator, sent whole or compact
(ADR 0027), in one process.

For a block of N transfers whose transactions the receiver's mempool holds
(what gossip gives a validator), the time from the proposal message to
the engine's block id check on the receiver: encoding the frame, sealing
it (ChaCha20-Poly1305, as on the wire), opening and decoding it, and then
either decoding the block (whole) or checking the signed header and
rebuilding the block from the mempool (compact), and the block id check
the engine makes (body against header). The headline is that time for a
compact proposal; the reference is the same for the whole proposal, so the
ratio below 1 means compact costs less CPU. Also: the bytes of one frame
for each (what each peer is sent).

End to end on a devnet (with fetches, gossip and consensus around it),
``bench.devnet_throughput --compact on|off`` measures the same choice.

    python -m bench.compact_proposals [--quick]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.report import emit, log, rss_mb
from consensus.engine.messages import sign_proposal
from consensus.engine.validators import Validator, ValidatorSet
from consensus.engine.wire import ProposalMessage, decode_message, encode_message
from consensus.node.application import LedgerApplication
from consensus.node.compact_proposals import (
    CompactProposals,
    compact_form,
    encode_compact_message,
)
from consensus.node.p2p import COMPACT_CHANNEL, CONSENSUS_CHANNEL
from consensus.node.p2p_handshake import FrameCipher
from ledger import codec, crypto
from ledger.address import address_of
from ledger.chain import Chain
from ledger.features.bank.bodies import Transfer
from ledger.genesis import Genesis, GenesisValidator
from ledger.params import Params
from ledger.types import NATIVE_ASSET, Block, BlockHeader, Transaction, block_txs_root

CHAIN_ID = "bench-chain"
FEE = 1
SESSION_KEY = bytes(32)


class Setup:
    """A signed proposal of a block of ``count`` transfers, and the receiver's mempool."""

    def __init__(self, workdir: Path, count: int) -> None:
        keys = [crypto.SigningKey(crypto.sha256(b"validator %d" % i)) for i in range(4)]
        self.validators = ValidatorSet.create(
            Validator.from_public_key(k.public_key, 1) for k in keys
        )
        self.keys = {address_of(k.public_key): k for k in keys}
        self.genesis = Genesis(
            chain_id=CHAIN_ID,
            genesis_time_ms=0,
            params=Params(min_fee=FEE, max_block_txs=100_000, max_block_bytes=1 << 28),
            validators=tuple(
                GenesisValidator(f"v{i}", k.public_key, 1) for i, k in enumerate(keys)
            ),
            accounts=(),
        )
        self.workdir = workdir
        senders = [crypto.SigningKey(crypto.sha256(b"sender %d" % i)) for i in range(count)]
        recipient = address_of(senders[0].public_key)
        txs = tuple(
            Transaction(
                CHAIN_ID, key.public_key, 0, FEE, Transfer(NATIVE_ASSET, 1, recipient)
            ).signed(key)
            for key in senders
        )
        proposer = self.validators.proposer(0).address
        header = BlockHeader(
            CHAIN_ID,
            1,
            1_000,
            bytes(32),
            crypto.sha256(b""),
            block_txs_root(txs),
            bytes(32),
            bytes(32),
            proposer,
        )
        self.block = Block(header, txs, b"")
        signed = sign_proposal(self.keys[proposer], CHAIN_ID, 1, 0, -1, self.block.hash, proposer)
        self.message = ProposalMessage(signed, self.block.encode())
        self.mempool = {tx.hash: tx for tx in txs}
        self._apps = 0

    def receiver(self) -> LedgerApplication:
        """A fresh application (nothing cached) whose mempool holds the transactions."""
        self._apps += 1
        chain = Chain.open(self.workdir / f"receiver-{self._apps}", self.genesis)
        return LedgerApplication(chain, lambda h: self.validators, known=self.mempool.get)


def over_the_wire(channel: int, payload: codec.Value) -> tuple[codec.Value, int]:
    """The payload as the receiver gets it, and the sealed frame's bytes."""
    sealed = FrameCipher(SESSION_KEY).seal(codec.encode((channel, payload)))
    frame = codec.decode(FrameCipher(SESSION_KEY).open(sealed))
    assert isinstance(frame, tuple)
    return frame[1], len(sealed)


def whole(setup: Setup) -> tuple[float, int]:
    app = setup.receiver()
    start = time.perf_counter()
    payload, size = over_the_wire(CONSENSUS_CHANNEL, encode_message(setup.message))
    assert isinstance(payload, bytes)
    message = decode_message(payload)
    assert isinstance(message, ProposalMessage)
    assert app.block_hash(message.block) == setup.block.hash
    return time.perf_counter() - start, size


def compact(setup: Setup) -> tuple[float, int]:
    app = setup.receiver()
    delivered: list[ProposalMessage] = []
    reactor = CompactProposals(
        CHAIN_ID,
        lambda peer, channel, payload: True,
        lambda peer, message: delivered.append(message),
        setup.mempool.get,
        lambda height, address: setup.keys[address].public_key,
        lambda height: "now",
        lambda peer, reason: None,
        1 << 30,
        app.adopt,
    )
    start = time.perf_counter()
    form = compact_form(setup.message, setup.block)
    assert form is not None
    payload, size = over_the_wire(COMPACT_CHANNEL, encode_compact_message(form))
    reactor.on_message(b"\x01" * 20, payload, 0.0)
    [message] = delivered
    assert app.block_hash(message.block) == setup.block.hash
    return time.perf_counter() - start, size


def best_of(
    runs: int, measure: Callable[[Setup], tuple[float, int]], setup: Setup
) -> tuple[float, int]:
    samples = [measure(setup) for _ in range(runs)]
    return min(s[0] for s in samples), samples[0][1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--txs", type=int, nargs="*", default=[200, 2000, 5000])
    args = parser.parse_args()
    runs = 3 if args.quick else 9
    workdir = Path(tempfile.mkdtemp(prefix="bench-compact-"))
    figures: dict[str, Any] = {}
    try:
        for count in args.txs:
            setup = Setup(workdir / f"n{count}", count)
            whole_s, whole_bytes = best_of(runs, whole, setup)
            compact_s, compact_bytes = best_of(runs, compact, setup)
            figures[str(count)] = {
                "whole_ms": round(whole_s * 1000, 3),
                "compact_ms": round(compact_s * 1000, 3),
                "whole_bytes": whole_bytes,
                "compact_bytes": compact_bytes,
            }
            log(
                f"{count:6d} txs: whole {whole_s * 1000:7.2f} ms {whole_bytes:>10,} bytes; "
                f"compact {compact_s * 1000:7.2f} ms {compact_bytes:>10,} bytes"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    headline = figures[str(max(args.txs))]
    emit(
        "compact_proposals",
        headline["compact_ms"],
        "ms per proposal",
        {"name": "whole_proposal", "value": headline["whole_ms"], "unit": "ms per proposal"},
        {"txs": args.txs, "runs": runs, "quick": args.quick, "headline_txs": max(args.txs)},
        {"by_txs": figures, "rss_mb": round(rss_mb(), 1)},
    )


if __name__ == "__main__":
    main()
