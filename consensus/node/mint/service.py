"""The node's mint service (validators only): after every commit, run this
validator's key holder duties (consensus.node.mint.duties) on the committed
state and submit the resulting ``mint_commit``, ``mint_respond`` and
``mint_evaluate`` transactions, signed with the validator key, through the
node's own mempool.

The duties' cryptography (tens of milliseconds per batch of outputs) runs on
one worker thread, never on the event loop, so that consensus goes on while
the shares are computed: a commit starts a pass on the newest committed
state unless one is running, and a pass that ends behind the tip starts
another. Only the submission goes back to the event loop (the mempool is
not shared with threads). ``close`` waits for the pass in progress, so the
store is never closed under it.

Its key shares are the threshold service's (the mint's keysets are
threshold key sets). The (request, round) pairs it committed to are written
durably to ``HOME/data/mint/committed.bin`` *before* the commitments are
submitted; after a restart it sits those rounds out (its nonces, kept in
memory only, died with the process). Nothing else it holds is secret.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from consensus.node.duty_passes import DutyPasses
from consensus.node.mint.duties import MintDuties
from consensus.node.threshold.service import ThresholdService
from ledger import codec
from ledger.address import address_of
from ledger.chain import Chain
from ledger.crypto import SigningKey
from ledger.exceptions import ExecutionFailure, TxRejected
from ledger.features.mint.queries import mint_config, pending_work
from ledger.features.mint.records import get_keyset
from ledger.state import State
from ledger.threshold.group import RandomBytes
from ledger.types import Transaction

log = logging.getLogger("consensus.mint")

COMMITTED_FILE: Final = "committed.bin"
MAX_REMEMBERED: Final = 65_536


def write_durably(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically: temporary file, fsync, rename,
    fsync of the directory."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


class MintService:
    """One validator's side of the mint (see the module docstring)."""

    def __init__(
        self,
        directory: Path,
        chain: Chain,
        submit: Callable[[Transaction], None],
        pending_nonce: Callable[[bytes], int],
        validator_key: SigningKey,
        threshold: ThresholdService,
        catching_up: Callable[[], bool] = lambda: False,
        rng: RandomBytes = os.urandom,
    ) -> None:
        """Raises OSError if the directory cannot be made or read."""
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = directory / COMMITTED_FILE
        self.chain = chain
        self._submit = submit
        self._pending_nonce = pending_nonce
        self.key = validator_key
        self.threshold = threshold
        self._catching_up = catching_up
        self.duties = MintDuties(chain.chain_id, validator_key.public_key, rng, 1)
        self.duties.sat_out = self._load_committed()
        self.submitted = 0
        self._passes: DutyPasses[Any] = DutyPasses("mint", self.on_height, self._send)

    def _load_committed(self) -> set[tuple[int, int]]:
        if not self.path.exists():
            return set()
        try:
            return {(r, n) for r, n in codec.decode(self.path.read_bytes())}
        except (codec.CodecError, ValueError, TypeError):
            log.warning("mint: %s is unreadable; sitting out nothing", self.path)
            return set()

    def _save_committed(self) -> None:
        remembered = sorted(self.duties.sat_out)[-MAX_REMEMBERED:]
        write_durably(self.path, codec.encode(tuple(remembered)))

    def on_committed(self, committed: Any) -> None:
        """EventHub listener: a block was committed; the duties run on the
        worker thread (consensus.node.duty_passes). Never raises."""
        self._passes.on_committed(committed)

    async def close(self) -> None:
        """Wait for the pass in progress (it reads the store), then stop the worker."""
        await self._passes.close()

    def on_height(self, height: int) -> list[Any]:
        """The bodies this validator owes for the committed state (the
        (request, round) pairs it commits to are written durably first)."""
        with self.chain.store.snapshot_reader() as reader:  # one consistent state
            config = mint_config(reader)
            if config is None or self._catching_up():
                return []
            self.duties.lock_window_blocks = config.lock_window_blocks
            state = State(reader)
            before = set(self.duties.sat_out)
            record, bodies = self.duties.work(
                height,
                pending_work(reader),
                lambda epoch: get_keyset(state, epoch),
                self.threshold.key_set_shares,
            )
        if record or self.duties.sat_out != before:
            self._save_committed()  # durable before any commitment leaves the node
        return bodies

    def _send(self, body: Any) -> None:
        tx = Transaction(
            self.chain.chain_id,
            self.key.public_key,
            self._pending_nonce(address_of(self.key.public_key)),
            self.chain.params().min_fee,
            body,
        ).signed(self.key)
        try:
            self._submit(tx)
            self.submitted += 1
        except (TxRejected, ExecutionFailure) as rejected:
            log.warning("mint: %s refused: %s", body.NAME, rejected)
