"""The node's threshold-key service: runs the ceremonies the chain asks for
over the validators' p2p links, and reports their results back as
transactions.

- **When.** After every commit the service reads the ceremony registry
  (ledger.features.threshold.ceremonies) and, for each pending ceremony it has a part in,
  starts the attempt in force at that height (consensus.node.threshold.runs), but
  only during its first phase: a node that comes late waits for the next
  attempt. Every run is stepped with the new height.
- **Messages.** Each message travels on the THRESHOLD channel in a signed
  envelope ``[ceremony id, attempt, kind, sender validator key, body,
  signature]``; the signature is the sender's validator key over
  ``signing_digest("ledger/threshold/p2p/v1", chain_id, [ceremony id,
  attempt, kind, sender, body])``, so p2p node keys are never trusted for
  it. A p2p payload is an array of envelopes. A node resends its own
  messages of an attempt every RESEND_INTERVAL_S until the attempt's window
  closes (lost frames, late connections). Messages for attempts not started
  here yet are buffered, since nodes commit at slightly different moments,
  but only from the ceremony's members (for a ceremony not committed here
  yet: from validators, for the next UNKNOWN_ID_WINDOW ids), checked before
  their signature, and within the caps and expiry of
  consensus.node.threshold.buffer; anything else is dropped unread.
- **Persistence.** Outputs are carried out in order, and every write is
  durable before the next output: an attempt is recorded as joined before
  its first message; nonces are saved before the commitment goes out and
  erased before the share does; a new key share is saved before its
  confirmation goes out (consensus.node.threshold.store).
- **Results.** ``threshold_result`` transactions are signed with the
  validator key (which pays the fee) and go through the node's mempool like
  any other. When a signing of a group-account transaction completes, every
  node offers the signed transaction to its mempool.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from consensus.node.p2p import PeerMisbehaved
from consensus.node.threshold.buffer import EnvelopeBuffer
from consensus.node.threshold.runs import (
    MESSAGE_KINDS,
    CeremonyRun,
    Finished,
    Output,
    RunContext,
    SaveKey,
    SaveNonces,
    Send,
    SpendNonces,
    SubmitResult,
    attempt_at,
    attempt_blocks,
    new_run,
    takes_part,
)
from consensus.node.threshold.store import SavedKeys, ThresholdStore
from consensus.node.wire_limits import ENVELOPE_LIMITS
from ledger import codec, crypto
from ledger.address import address_of
from ledger.chain import Chain
from ledger.crypto import SigningKey
from ledger.exceptions import AlreadyKnown, ExecutionFailure, TxRejected
from ledger.features.threshold.bodies import ThresholdResult
from ledger.features.threshold.ceremonies import (
    COMPLETED,
    KIND_SIGN,
    PENDING,
    PHASE_BLOCKS,
    Ceremony,
    Group,
    decode_keygen_result,
    decode_unsigned_transaction,
    key_set_holders,
    next_ceremony_id,
    threshold_ceremonies,
    threshold_ceremony,
    threshold_group,
    threshold_key_set,
    threshold_key_sets,
)
from ledger.features.threshold.key_sets import KeySet
from ledger.fields import DecodeError
from ledger.threshold.group import RandomBytes
from ledger.threshold.keys import KeyPackage
from ledger.types import Transaction

log = logging.getLogger("consensus.threshold")

ENVELOPE_DOMAIN: Final = "ledger/threshold/p2p/v1"
RESEND_INTERVAL_S: Final = 0.5
MAX_ENVELOPES_PER_PAYLOAD: Final = 64
UNKNOWN_ID_WINDOW: Final = 8  # ceremony ids not committed here yet that may be buffered
MAX_SEEN: Final = 16_384  # digests remembered to skip duplicates


class EnvelopeError(ValueError):
    """Bytes that are not a well-formed threshold envelope."""


@dataclass(frozen=True)
class Envelope:
    """A signed ceremony message."""

    ceremony_id: int
    attempt: int
    kind: int
    sender: bytes
    body: bytes
    signature: bytes

    def digest(self, chain_id: str) -> bytes:
        payload = (self.ceremony_id, self.attempt, self.kind, self.sender, self.body)
        return crypto.signing_digest(ENVELOPE_DOMAIN, chain_id, payload)

    def encode(self) -> bytes:
        return codec.encode(
            (self.ceremony_id, self.attempt, self.kind, self.sender, self.body, self.signature)
        )


def sign_envelope(
    key: SigningKey, chain_id: str, ceremony_id: int, attempt: int, kind: int, body: bytes
) -> Envelope:
    unsigned = Envelope(ceremony_id, attempt, kind, key.public_key, body, b"")
    signature = key.sign_digest(unsigned.digest(chain_id))
    return Envelope(ceremony_id, attempt, kind, key.public_key, body, signature)


def decode_envelope(data: object) -> Envelope:
    """Strictly decode an envelope (the signature is not checked). Raises EnvelopeError."""
    if not isinstance(data, bytes):
        raise EnvelopeError("an envelope is bytes")
    try:
        value = codec.decode(data, limits=ENVELOPE_LIMITS)
    except codec.CodecError as exc:
        raise EnvelopeError(f"envelope: {exc}") from exc
    if not (isinstance(value, tuple) and len(value) == 6):
        raise EnvelopeError("an envelope is an array of 6")
    ceremony_id, attempt, kind, sender, body, signature = value
    if type(ceremony_id) is not int or type(attempt) is not int or ceremony_id < 1 or attempt < 0:
        raise EnvelopeError("ceremony id and attempt are integers")
    if kind not in MESSAGE_KINDS or type(kind) is not int:
        raise EnvelopeError(f"unknown message kind {kind!r}")
    if not (isinstance(sender, bytes) and len(sender) == 33):
        raise EnvelopeError("the sender is a 33-byte validator key")
    if not isinstance(body, bytes) or not (isinstance(signature, bytes) and len(signature) == 64):
        raise EnvelopeError("body is bytes and the signature 64 bytes")
    return Envelope(ceremony_id, attempt, kind, sender, body, signature)


@dataclass
class _Active:
    """A run and what it sent (resent until ``closes_at``)."""

    run: CeremonyRun
    ceremony: Ceremony
    closes_at: int
    outbox: list[bytes] = field(default_factory=list)


class ThresholdService:
    """One validator's side of the threshold key (see the module docstring)."""

    def __init__(
        self,
        directory: Path,
        chain: Chain,
        submit: Callable[[Transaction], object],
        pending_nonce: Callable[[bytes], int],
        validator_key: SigningKey,
        broadcast: Callable[[Any], object],
        catching_up: Callable[[], bool] = lambda: False,
        rng: RandomBytes = os.urandom,
        is_validator: Callable[[bytes], bool] = lambda key: False,
    ) -> None:
        """Open the encrypted store. Raises ThresholdStoreError."""
        self.chain = chain
        self._submit = submit
        self._pending_nonce = pending_nonce
        self.key = validator_key
        self._broadcast = broadcast
        self._catching_up = catching_up
        self._is_validator = is_validator
        self._rng = rng
        self.store = ThresholdStore(directory, validator_key)
        self.sat_out: set[tuple[int, int]] = set(self.store.joined)
        if self.store.discarded_nonces:
            log.info("threshold: discarded %d unused nonce files", self.store.discarded_nonces)
        self.keys: dict[tuple[int, int], SavedKeys] = self.store.load_keys()
        self.runs: dict[tuple[int, int], _Active] = {}
        self.done: set[tuple[int, int]] = set()
        self.buffer: EnvelopeBuffer[Envelope] = EnvelopeBuffer()
        self._seen: set[bytes] = set()
        self._adopted: dict[str, int] = {}  # key set ("": the group) -> adopted ceremony

    def close(self) -> None:
        self.store.close()

    # -- the chain ----------------------------------------------------------
    def on_committed(self, committed: Any) -> None:
        """EventHub listener: a block was committed. Never raises."""
        self.on_height(committed.block.height)

    def on_height(self, height: int) -> None:
        """Start and step the ceremonies in force at ``height``. Never raises
        (a failure is logged: the node keeps running consensus)."""
        try:
            self._on_height(height)
        except Exception:
            log.exception("threshold: handling height %d failed", height)

    def _on_height(self, height: int) -> None:
        reader = self.chain.store
        group = threshold_group(reader)
        pending, recent = threshold_ceremonies(reader)
        held = self._held_sets(group)
        self._adopt(held)
        live = {c.ceremony_id for c in pending}
        if not self._catching_up():  # replaying old blocks: their attempts are long over
            for ceremony in pending:
                holders = held.get(ceremony.key_set)
                self._maybe_start(ceremony, height, holders, self._active_keys(holders))
        for run_id, active in list(self.runs.items()):
            if run_id[0] not in live or height >= active.closes_at:
                del self.runs[run_id]
                if active.ceremony.kind == KIND_SIGN:
                    self.store.spend_nonces(*run_id)  # erase unused nonces, if any
                self._seen.clear()
                continue
            self._carry_out(active, active.run.step(height))
        finished = {c.ceremony_id for c in recent}
        for stale in [b for b in self.buffer.runs() if b in self.done or b[0] in finished]:
            self.buffer.drop(stale)
        self.buffer.expire(height)
        self.store.forget_ceremonies(live)
        self._erase_retired(held, live)
        for ceremony in recent:
            if ceremony.completed_at == height:
                self._on_finished(ceremony, group)

    def _held_sets(self, group: Group | None) -> dict[str, KeySet]:
        """The keys the validators hold now: the group ("") and the named sets."""
        held = {key_set.name: key_set for key_set in threshold_key_sets(self.chain.store)}
        if group is not None:
            held[""] = group.as_key_set()
        return held

    def _adopt(self, held: dict[str, KeySet]) -> None:
        """On a new epoch of the group or a key set, erase every share of it
        that the chain did not adopt."""
        for name, holders in sorted(held.items()):
            if self._adopted.get(name) == holders.ceremony_id:
                continue
            adopted = self._active_key_id(holders)
            for run_id, saved in list(self.keys.items()):
                if saved.key_set == name and run_id[0] <= holders.ceremony_id and run_id != adopted:
                    self.store.erase_key(*run_id)
                    del self.keys[run_id]
            self._adopted[name] = holders.ceremony_id
            what = f"key set {name!r}" if name else "group"
            if adopted is None and holders.identifier_of(self.key.public_key) is not None:
                log.warning(
                    "threshold: member of the %s (epoch %d) without its key shares; "
                    "it takes part again after the next resharing",
                    what,
                    holders.epoch,
                )
            else:
                log.info(
                    "threshold: %s epoch %d adopted, %d key(s), %d-of-%d",
                    what,
                    holders.epoch,
                    holders.key_count,
                    holders.threshold,
                    len(holders.members),
                )

    def _erase_retired(self, held: dict[str, KeySet], live: set[int]) -> None:
        """Erase the shares of key sets the chain no longer holds (retired),
        unless a pending ceremony may still adopt them."""
        for run_id, saved in list(self.keys.items()):
            if saved.key_set and saved.key_set not in held and run_id[0] not in live:
                self.store.erase_key(*run_id)
                del self.keys[run_id]
                self._adopted.pop(saved.key_set, None)

    def _active_key_id(self, holders: KeySet) -> tuple[int, int] | None:
        record = threshold_ceremony(self.chain.store, holders.ceremony_id)
        if record is None or record.status != COMPLETED:
            return None
        transcript, _ = decode_keygen_result(record.result)
        me = holders.identifier_of(self.key.public_key)
        for run_id, saved in self.keys.items():
            mine = all(key.identifier == me for key in saved.keys)
            if run_id[0] == holders.ceremony_id and saved.transcript_hash == transcript and mine:
                return run_id
        return None

    def _active_keys(self, holders: KeySet | None) -> tuple[KeyPackage, ...] | None:
        if holders is None:
            return None
        run_id = self._active_key_id(holders)
        return self.keys[run_id].keys if run_id is not None else None

    def key_set_shares(self, name: str) -> tuple[KeySet, tuple[KeyPackage, ...]] | None:
        """This node's shares of a named key set in its current epoch, with the
        set's public record; None if the chain holds no such set or this node
        has no shares of it (for the features that use key sets)."""
        holders = threshold_key_set(self.chain.store, name)
        keys = self._active_keys(holders)
        if holders is None or keys is None or len(keys) != holders.key_count:
            return None
        return holders, keys

    def _maybe_start(
        self,
        ceremony: Ceremony,
        height: int,
        holders: KeySet | None,
        keys: tuple[KeyPackage, ...] | None,
    ) -> None:
        attempt, start = attempt_at(ceremony, height)
        run_id = (ceremony.ceremony_id, attempt)
        if run_id in self.runs or run_id in self.done or run_id in self.sat_out:
            return
        if height >= start + PHASE_BLOCKS:
            return  # too late to join this attempt
        if not takes_part(ceremony, self.key.public_key, holders, keys is not None):
            return
        context = RunContext(
            self.chain.chain_id, ceremony, attempt, start, self.key, self._rng, holders
        )
        run = new_run(context, keys)
        closes_at = start + attempt_blocks(ceremony.kind)
        active = _Active(run, ceremony, closes_at)
        self.store.join(*run_id)  # durable before the first message
        self.runs[run_id] = active
        log.info(
            "threshold: ceremony %d (%s%s) attempt %d started at height %d",
            ceremony.ceremony_id,
            ceremony.kind_name,
            f" of key set {ceremony.key_set!r}" if ceremony.key_set else "",
            attempt,
            height,
        )
        self._carry_out(active, run.start())
        for envelope in self.buffer.take(run_id):
            run.receive(envelope.kind, envelope.sender, envelope.body)

    def _on_finished(self, ceremony: Ceremony, group: Group | None) -> None:
        log.info(
            "threshold: ceremony %d (%s) %s at height %d",
            ceremony.ceremony_id,
            ceremony.kind_name,
            ceremony.status_name,
            ceremony.completed_at,
        )
        if ceremony.kind != KIND_SIGN or ceremony.status != COMPLETED:
            return
        if not ceremony.transaction:
            return
        try:
            unsigned = decode_unsigned_transaction(ceremony.transaction)
        except DecodeError:
            return
        signed = Transaction(
            unsigned.chain_id,
            unsigned.sender,
            unsigned.nonce,
            unsigned.fee,
            unsigned.body,
            ceremony.result,
        )
        try:
            self._submit(signed)
            log.info("threshold: submitted the signed group transaction %s", signed.hash.hex())
        except AlreadyKnown:
            pass
        except TxRejected as rejected:
            log.info("threshold: the signed group transaction was refused: %s", rejected)

    # -- carrying out ---------------------------------------------------------
    def _carry_out(self, active: _Active, outputs: list[Output]) -> None:
        ceremony_id = active.ceremony.ceremony_id
        attempt = active.run.context.attempt
        for output in outputs:
            if isinstance(output, Send):
                envelope = sign_envelope(
                    self.key, self.chain.chain_id, ceremony_id, attempt, output.kind, output.body
                )
                encoded = envelope.encode()
                active.outbox.append(encoded)
                self._broadcast((encoded,))
            elif isinstance(output, SaveKey):
                key_set = active.ceremony.key_set
                self.store.save_key(
                    ceremony_id, attempt, output.transcript_hash, output.keys, key_set
                )
                self.keys[(ceremony_id, attempt)] = SavedKeys(
                    output.transcript_hash, key_set, output.keys
                )
            elif isinstance(output, SaveNonces):
                self.store.save_nonces(ceremony_id, attempt, output.nonces)
            elif isinstance(output, SpendNonces):
                self.store.spend_nonces(ceremony_id, attempt)
            elif isinstance(output, SubmitResult):
                self._submit_result(ceremony_id, output.result)
            elif isinstance(output, Finished):
                self.done.add((ceremony_id, attempt))
                log.info(
                    "threshold: ceremony %d attempt %d: %s", ceremony_id, attempt, output.reason
                )

    def _submit_result(self, ceremony_id: int, result: bytes) -> None:
        tx = Transaction(
            self.chain.chain_id,
            self.key.public_key,
            self._pending_nonce(address_of(self.key.public_key)),
            self.chain.params().min_fee,
            ThresholdResult(ceremony_id, result),
        ).signed(self.key)
        try:
            self._submit(tx)
            log.info("threshold: ceremony %d result submitted in %s", ceremony_id, tx.hash.hex())
        except (TxRejected, ExecutionFailure) as rejected:
            log.warning("threshold: ceremony %d result refused: %s", ceremony_id, rejected)

    # -- the network ------------------------------------------------------------
    def on_message(self, payload: object) -> None:
        """A THRESHOLD channel payload from a peer. Raises PeerMisbehaved for
        malformed envelopes or bad signatures. Envelopes nobody here expects
        (no run, and not from a member: see the module docstring) are
        dropped before their signature is checked."""
        if not isinstance(payload, tuple) or len(payload) > MAX_ENVELOPES_PER_PAYLOAD:
            raise PeerMisbehaved("a threshold payload is an array of envelopes")
        for item in payload:
            if not isinstance(item, bytes):
                raise PeerMisbehaved("an envelope is bytes")
            digest = crypto.sha256(item)
            if digest in self._seen:
                continue
            try:
                envelope = decode_envelope(item)
            except EnvelopeError as exc:
                raise PeerMisbehaved(str(exc)) from exc
            run_id = (envelope.ceremony_id, envelope.attempt)
            if envelope.sender == self.key.public_key or run_id in self.done:
                continue
            active = self.runs.get(run_id)
            if active is None and not self._may_buffer(envelope):
                continue
            if active is not None and envelope.sender not in active.run.senders(envelope.kind):
                continue  # not a member of this run: not worth a signature check
            if not crypto.verify_digest(
                envelope.sender, envelope.digest(self.chain.chain_id), envelope.signature
            ):
                raise PeerMisbehaved("threshold envelope with a bad signature")
            if len(self._seen) >= MAX_SEEN:
                self._seen.clear()
            self._seen.add(digest)
            if active is None:
                self.buffer.add(run_id, envelope, envelope.sender, len(item), self.chain.tip.height)
            elif active.run.receive(envelope.kind, envelope.sender, envelope.body):
                self._carry_out(active, active.run.step(self.chain.tip.height))

    def _may_buffer(self, envelope: Envelope) -> bool:
        """Whether an envelope for an attempt not started here may wait: from a
        member of a pending ceremony, or from a validator for one of the next
        few ceremony ids (requested in a block not committed here yet)."""
        reader = self.chain.store
        ceremony = threshold_ceremony(reader, envelope.ceremony_id)
        if ceremony is None:
            upcoming = envelope.ceremony_id - next_ceremony_id(reader)
            return 0 <= upcoming < UNKNOWN_ID_WINDOW and self._is_validator(envelope.sender)
        if ceremony.status != PENDING:
            return False
        holders = key_set_holders(reader, ceremony.key_set)
        return takes_part(ceremony, envelope.sender, holders, True)

    async def resend_loop(self) -> None:
        """Pick up the ceremonies pending at start, then resend this node's
        messages of every open attempt periodically."""
        self.on_height(self.chain.tip.height)
        while True:
            await asyncio.sleep(RESEND_INTERVAL_S)
            for active in list(self.runs.values()):
                if active.outbox:
                    self._broadcast(tuple(active.outbox))

    def describe(self) -> dict[str, Any]:
        """The runs in progress, for logs and diagnostics."""
        return {
            "runs": [
                {
                    "ceremony": run_id[0],
                    "attempt": run_id[1],
                    "phase": active.run.phase,
                    "finished": active.run.finished,
                }
                for run_id, active in sorted(self.runs.items())
            ],
            "satOut": sorted(self.sat_out),
            "buffered": {"envelopes": len(self.buffer), "bytes": self.buffer.size},
        }
