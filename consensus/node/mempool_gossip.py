"""Mempool gossip in: batches of transactions from peers, and what a peer
that relays a forged one gets.

A batch on the MEMPOOL channel is an array of encoded transactions
(docs/spec/node.md, "Mempool gossip"). For each one, in order:

- its hash is computed from its bytes, and a transaction the mempool holds
  already is skipped without being decoded (every transaction reaches a
  node once from each peer that has it);
- it is decoded once (or taken already decoded and verified from a block
  this node validated since the last commit); the decoded transaction is
  what the mempool keeps and what a block built or received later uses;
- the mempool admits it with its cheap checks first and the signature last.

Honest nodes verify a transaction before they relay it, so one bad
signature proves the peer faulty (or a forger): the rest of its batch is
dropped unread and ``punish(peer, reason)`` is called, which the node wires
to the transport (today: disconnect and ban). Other rejections are normal
(already known, a nonce a block used meanwhile) and cost the peer nothing.
Bytes that are not an array of byte strings, or a transaction that does not
decode, raise PeerMisbehaved as any malformed message does.

A batch is handled in chunks of CHUNK transactions with a yield to the
event loop between them, so a batch as large as a frame allows (tens of
thousands of transactions) does not stall RPC or consensus.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Final

from consensus.node.mempool import Mempool
from consensus.node.p2p import PeerMisbehaved
from ledger.exceptions import BadSignature
from ledger.types import DecodeError, Transaction, decode_transaction, transaction_hash

CHUNK: Final = 128

Punish = Callable[[bytes, str], None]
"""``punish(peer_id, reason)``: the transport's answer to a faulty peer."""


class MempoolGossip:
    """Hands gossiped transactions to the mempool and punishes forgers."""

    def __init__(self, mempool: Mempool, punish: Punish) -> None:
        self._mempool = mempool
        self._punish = punish

    async def on_batch(self, peer: bytes, payload: object) -> None:
        """Admit a peer's batch (see the module docstring). Raises PeerMisbehaved."""
        if not isinstance(payload, tuple) or not all(type(raw) is bytes for raw in payload):
            raise PeerMisbehaved("a mempool payload is a list of transaction bytes")
        for start in range(0, len(payload), CHUNK):
            if start:
                await asyncio.sleep(0)
            chunk = self._decode_new(payload[start : start + CHUNK])
            results = self._mempool.add_batch(chunk)
            if results and isinstance(results[-1], BadSignature):
                self._punish(peer, "relayed a transaction with an invalid signature")
                return

    def _decode_new(self, chunk: tuple[bytes, ...]) -> list[Transaction]:
        """The transactions of ``chunk`` the mempool does not hold yet, decoded."""
        out: list[Transaction] = []
        for raw in chunk:
            tx_hash = transaction_hash(raw)
            if tx_hash in self._mempool:
                continue
            remembered = self._mempool.remembered(tx_hash)  # seen in a block validated here
            if remembered is not None:
                out.append(remembered)
                continue
            try:
                out.append(decode_transaction(raw, tx_hash))
            except DecodeError as exc:
                raise PeerMisbehaved(f"undecodable transaction: {exc}") from exc
        return out
