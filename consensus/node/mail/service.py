"""The node's mail service (validators only): after every commit, run this
validator's duties in the mix (consensus.node.mail.duties) on the committed
state and submit the resulting ``mail_shuffle`` and ``mail_decrypt``
transactions, signed with the validator key, through the node's own
mempool.

Proving a shuffle and making a decryption share take tens to hundreds of
milliseconds, so the duties run on one worker thread over a snapshot of the
store (one consistent committed state), never on the event loop: consensus
goes on meanwhile. A commit starts a pass on the newest committed state
unless one is running, and a pass that ends behind the tip starts another.
Only the submission goes back to the event loop (the mempool is not shared
with threads). ``close`` waits for the pass in progress.

Its share of the mail key comes from ``share_of`` (``shares_from``: the
threshold service's shares of the key set ``mail``, in the epoch the chain
holds; the threshold service saves them, and erases them when the chain
adopts a newer epoch, as for the group key). It keeps nothing secret of its
own: a shuffle's witness lives only while the shuffle is proved, and
nothing is written to disk. After a restart it simply looks at the chain
again: a turn it had already taken is over (the chain moved on), and a turn
it had not is still its own.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any

from consensus.node.duty_passes import DutyPasses
from consensus.node.mail.duties import Body, MailDuties
from consensus.node.threshold.service import ThresholdService
from ledger.address import address_of
from ledger.chain import Chain
from ledger.crypto import SigningKey
from ledger.exceptions import ExecutionFailure, TxRejected
from ledger.features.mail.key import MAIL_KEY_SET, MailKey, mail_key
from ledger.state import State
from ledger.threshold.group import RandomBytes
from ledger.threshold.keys import KeyPackage
from ledger.types import Transaction

log = logging.getLogger("consensus.mail")

ShareOf = Callable[[MailKey], KeyPackage | None]


def shares_from(threshold: ThresholdService) -> ShareOf:
    """This node's share of the mail key from the threshold service, in the
    epoch the chain holds (None if it has none of that epoch)."""

    def share_of(key: MailKey) -> KeyPackage | None:
        found = threshold.key_set_shares(MAIL_KEY_SET)
        if found is None:
            return None
        holders, packages = found
        if holders.epoch != key.epoch or len(packages) != 1:
            return None
        return packages[0]

    return share_of


class MailService:
    """One validator's side of the mix (see the module docstring)."""

    def __init__(
        self,
        chain: Chain,
        submit: Callable[[Transaction], None],
        pending_nonce: Callable[[bytes], int],
        validator_key: SigningKey,
        share_of: ShareOf,
        catching_up: Callable[[], bool] = lambda: False,
        rng: RandomBytes = os.urandom,
    ) -> None:
        self.chain = chain
        self._submit = submit
        self._pending_nonce = pending_nonce
        self.key = validator_key
        self._share_of = share_of
        self._catching_up = catching_up
        self.duties = MailDuties(chain.chain_id, validator_key.public_key, rng)
        self.submitted = 0
        self._passes: DutyPasses[Body] = DutyPasses("mail", lambda height: self.work(), self._send)

    def on_committed(self, committed: Any) -> None:
        """EventHub listener: a block was committed; the duties run on the
        worker thread (consensus.node.duty_passes). Never raises."""
        self._passes.on_committed(committed)

    async def close(self) -> None:
        """Wait for the pass in progress (it reads the store), then stop the worker."""
        await self._passes.close()

    def work(self) -> list[Body]:
        """This validator's duties for the newest committed state."""
        if self._catching_up():
            return []
        with self.chain.store.snapshot_reader() as reader:  # one consistent state
            state = State(reader)
            key = mail_key(state)
            if key is None:
                return []
            return self.duties.work(state, self._share_of(key))

    def _send(self, body: Body) -> None:
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
            log.info("mail: submitted %s for batch %d", body.NAME, body.batch_id)
        except (TxRejected, ExecutionFailure) as rejected:
            log.warning("mail: %s refused: %s", body.NAME, rejected)
