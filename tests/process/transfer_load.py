"""Transfer load on a devnet while faults come and go, with an exact record
of what the nodes acknowledged.

One thread per node submits transfers through that node at a fixed rate,
from senders that only ever use that node (a sender's nonces come from one
mempool). A transaction counts as **acknowledged** when the node's
``ledger_sendRawTransaction`` answered with its hash; anything else (an
error, a timeout, a node down or paused) is not, whatever becomes of it.

Nonces are kept by the load itself. After any failure the sender's next
nonce is re-read as the highest pending nonce that any reachable node
reports for it, so the load never reuses the nonce of a transaction that
still lives in some mempool (reusing it would make a client, not the
network, lose that transaction). Nonces of transactions that no node holds
any more (those only a killed node had) are reused.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from ledger.address import address_of
from ledger.client import LedgerClient, TransportError
from ledger.client.calls import sign_transfer
from ledger.crypto import SigningKey
from ledger.rpc_errors import RpcError

FEE = 1000  # at least the devnet's minimum fee


@dataclass(frozen=True)
class Acknowledged:
    tx_hash: bytes
    node: int
    at: float  # time.monotonic() of the acknowledgement
    sender: bytes
    nonce: int


@dataclass
class _Sender:
    key: SigningKey
    address: bytes
    nonce: int = 0
    resync: bool = True


@dataclass
class LoadCounts:
    acknowledged: int = 0
    refused: int = 0  # the node answered with an error (bad nonce after a fault, ...)
    unreachable: int = 0  # no answer (node down, paused, timed out)
    reasons: dict[str, int] = field(default_factory=dict)


class TransferLoad:
    """``rate`` transfers per second in total, spread over ``urls`` (one thread
    each); ``senders[i]`` are the keys that send through node ``i``."""

    def __init__(
        self,
        urls: list[str],
        senders: list[list[SigningKey]],
        chain_id: str,
        rate: float,
        timeout: float = 2.0,
    ) -> None:
        self.urls = urls
        self.chain_id = chain_id
        self.interval = len(urls) / rate
        self.timeout = timeout
        self._senders = [[_Sender(k, address_of(k.public_key)) for k in keys] for keys in senders]
        self._recipients = [s.address for group in self._senders for s in group]
        self._lock = threading.Lock()
        self._acknowledged: list[Acknowledged] = []
        self.counts = LoadCounts()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(len(urls))
        ]

    def __enter__(self) -> TransferLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def acknowledged(self) -> list[Acknowledged]:
        with self._lock:
            return list(self._acknowledged)

    def _count(self, kind: str, reason: str = "") -> None:
        with self._lock:
            setattr(self.counts, kind, getattr(self.counts, kind) + 1)
            if reason:
                self.counts.reasons[reason] = self.counts.reasons.get(reason, 0) + 1

    def _run(self, node: int) -> None:
        clients = [LedgerClient(url, timeout=self.timeout) for url in self.urls]
        senders = self._senders[node]
        step = 0
        next_at = time.monotonic()
        try:
            while not self._stop.is_set():
                sender = senders[step % len(senders)]
                step += 1
                self._send_one(node, sender, clients, step)
                next_at = max(next_at + self.interval, time.monotonic() - 1.0)
                self._stop.wait(max(0.0, next_at - time.monotonic()))
        finally:
            for client in clients:
                client.close()

    def _send_one(self, node: int, sender: _Sender, clients: list[LedgerClient], step: int) -> None:
        if sender.resync and not self._resync(node, sender, clients):
            self._count("unreachable")
            return
        recipient = self._recipients[step % len(self._recipients)]
        tx = sign_transfer(
            sender.key, self.chain_id, sender.nonce, recipient, 1 + step % 997, fee=FEE
        )
        try:
            tx_hash = clients[node].send_raw_transaction(tx.encode())
        except RpcError as exc:
            sender.resync = True
            self._count("refused", type(exc).__name__)
            return
        except TransportError:
            sender.resync = True
            self._count("unreachable")
            return
        ack = Acknowledged(tx_hash, node, time.monotonic(), sender.address, sender.nonce)
        sender.nonce += 1
        with self._lock:
            self._acknowledged.append(ack)
            self.counts.acknowledged += 1

    def _resync(self, node: int, sender: _Sender, clients: list[LedgerClient]) -> bool:
        """The sender's next nonce: the highest pending nonce any reachable node
        reports (its own node must answer). False if its node is unreachable."""
        try:
            nonce = clients[node].get_transaction_count(sender.address, "pending")
        except (TransportError, RpcError):
            return False
        for index, client in enumerate(clients):
            if index != node:
                try:
                    nonce = max(nonce, client.get_transaction_count(sender.address, "pending"))
                except (TransportError, RpcError):
                    continue
        sender.nonce = nonce
        sender.resync = False
        return True
