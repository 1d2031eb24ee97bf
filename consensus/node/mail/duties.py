"""One validator's duties in the mix, as a pure state machine: the committed
state and this validator's share of the mail key in, transaction bodies
out (consensus.node.mail.service signs and submits them).

- **Shuffle.** When the chain says it is this validator's turn to shuffle a
  batch (``Batch.current_shuffler``), it re-encrypts and permutes the batch
  as it stands with fresh randomness, proves the shuffle for that step, and
  forgets the witness (the permutation and the re-encryption randomness:
  keeping them would let anyone who later reads this node's memory undo its
  shuffle). It proves each (batch, step) once.
- **Decrypt.** For every batch waiting for decryption, a holder of the mail
  key's current epoch that has no share of that epoch on chain posts one,
  once per (batch, epoch).

Randomness comes from the injected ``rng`` (the service passes os.urandom).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ledger.features.mail.bodies import MailDecrypt, MailShuffle
from ledger.features.mail.config import get_config
from ledger.features.mail.decryption import DecryptionContext, make_decryption_share
from ledger.features.mail.elgamal import decode_cell
from ledger.features.mail.key import MailKey, mail_key
from ledger.features.mail.records import (
    DECRYPTING,
    SHUFFLING,
    Batch,
    get_batch,
    get_cells,
    get_meta,
    get_share,
)
from ledger.features.mail.shuffle import shuffle_cells
from ledger.features.mail.shuffle_proof import ShuffleContext, prove_shuffle
from ledger.features.mail.wire import encode_decryption_share, encode_shuffle
from ledger.state import State
from ledger.threshold.group import RandomBytes
from ledger.threshold.keys import KeyPackage

Body = MailShuffle | MailDecrypt


@dataclass
class MailDuties:
    """One validator's memory between blocks (see the module docstring)."""

    chain_id: str
    me: bytes  # the validator's public key
    rng: RandomBytes
    shuffled: set[tuple[int, int]] = field(default_factory=set)  # (batch, step)
    decrypted: set[tuple[int, int]] = field(default_factory=set)  # (batch, epoch)

    def work(self, state: State, share: KeyPackage | None) -> list[Body]:
        """The bodies to submit for the committed ``state``. ``share`` is this
        validator's share of the mail key for the chain's current epoch (None
        if it holds none)."""
        config = get_config(state)
        key = mail_key(state)
        if config is None or key is None:
            return []
        bodies: list[Body] = []
        in_flight = get_meta(state).in_flight
        for batch_id in in_flight:
            batch = get_batch(state, batch_id)
            assert batch is not None
            if batch.status == SHUFFLING and batch.current_shuffler() == self.me:
                body = self._shuffle(state, key, batch, config.cell_width)
            elif batch.status == DECRYPTING and share is not None:
                body = self._decrypt(state, key, batch, share, config.cell_width)
            else:
                body = None
            if body is not None:
                bodies.append(body)
        live = set(in_flight)
        self.shuffled = {done for done in self.shuffled if done[0] in live}
        self.decrypted = {done for done in self.decrypted if done[0] in live}
        return bodies

    def _shuffle(self, state: State, key: MailKey, batch: Batch, width: int) -> Body | None:
        run = (batch.batch_id, batch.step)
        if run in self.shuffled:
            return None
        self.shuffled.add(run)
        inputs = tuple(decode_cell(cell, width) for cell in get_cells(state, batch))
        outputs, witness = shuffle_cells(key.public_key, inputs, self.rng)
        context = ShuffleContext(self.chain_id, batch.batch_id, batch.step, self.me)
        proof = prove_shuffle(key.public_key, inputs, outputs, witness, context, self.rng)
        del witness  # the only reference: nothing of the permutation is kept
        return MailShuffle(batch.batch_id, batch.step, encode_shuffle(outputs, proof))

    def _decrypt(
        self, state: State, key: MailKey, batch: Batch, share: KeyPackage, width: int
    ) -> Body | None:
        member = key.identifier_of(self.me)
        if member is None or member != share.identifier:
            return None
        done = (batch.batch_id, key.epoch)
        if done in self.decrypted:
            return None
        posted = get_share(state, batch.batch_id, member)
        if posted is not None and posted[0] == key.epoch:
            return None
        self.decrypted.add(done)
        cells = tuple(decode_cell(cell, width) for cell in get_cells(state, batch))
        context = DecryptionContext(self.chain_id, batch.batch_id)
        made = make_decryption_share(share, cells, context, self.rng)
        return MailDecrypt(batch.batch_id, key.epoch, encode_decryption_share(made))
