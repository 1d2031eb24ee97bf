"""The engine's persisted state: what a node must have on disk before it
sends a signed message, so that after a crash it neither double signs nor
forgets a lock.

A ``ConsensusRecord`` is a snapshot taken at each signing (and when the
valid value changes): height, round and step, the locked and valid values
(the block bytes, or None) with their rounds, the signer state, the node's
own signed messages of the height (so it can re-send them after a restart)
and the prevotes that make the valid value valid (so a restarted proposer
can re-propose it with its proof of lock). The engine emits it in a
``Persist`` action right before the ``Broadcast`` of the message just
signed; the node keeps the latest one (``encode_record``) and hands it to
``Engine.restore`` on restart. Canonical bytes::

    [height, round, step, locked_round, locked_block|nil, valid_round,
     valid_block|nil, signer_state, [wire message bytes, ...], [valid proof vote, ...]]
"""

from __future__ import annotations

from dataclasses import dataclass

from consensus.engine.messages import MessageError, Step, Vote, vote_from_value
from consensus.engine.signer import SignerState, SignerStateError, decode_signer_state
from consensus.engine.wire import Message, decode_message, encode_message
from ledger import codec


class RecordError(ValueError):
    """Raised for bytes that are not a consensus record."""


@dataclass(frozen=True, slots=True)
class ConsensusRecord:
    """A snapshot of the engine's safety-relevant state at one height."""

    height: int
    round: int
    step: Step
    locked_round: int
    locked_block: bytes | None
    valid_round: int
    valid_block: bytes | None
    signer_state: SignerState
    messages: tuple[Message, ...]
    valid_proof: tuple[Vote, ...] = ()  # the prevotes of valid_round for valid_block


def encode_record(record: ConsensusRecord) -> bytes:
    """Canonical bytes of a record."""
    return codec.encode(
        (
            record.height,
            record.round,
            int(record.step),
            record.locked_round,
            record.locked_block,
            record.valid_round,
            record.valid_block,
            record.signer_state.encode(),
            tuple(encode_message(m) for m in record.messages),
            tuple(v.to_value() for v in record.valid_proof),
        )
    )


def decode_record(data: bytes) -> ConsensusRecord:
    """Decode a persisted record. Raises RecordError."""
    try:
        value = codec.decode(data)
        if not (isinstance(value, tuple) and len(value) == 10):
            raise RecordError("a consensus record has 10 fields")
        height, round_, step, locked_round, locked, valid_round, valid, signer, messages, proof = (
            value
        )
        if not all(type(x) is int for x in (height, round_, step, locked_round, valid_round)):
            raise RecordError("heights, rounds and step are integers")
        if step not in (Step.PROPOSE, Step.PREVOTE, Step.PRECOMMIT):
            raise RecordError("unknown step")
        if not all(b is None or isinstance(b, bytes) for b in (locked, valid)):
            raise RecordError("locked and valid blocks are bytes or nil")
        if not (isinstance(signer, bytes) and isinstance(messages, tuple)):
            raise RecordError("signer state and messages are bytes and an array")
        if not isinstance(proof, tuple):
            raise RecordError("the valid value's proof is an array of votes")
        return ConsensusRecord(
            height,
            round_,
            Step(step),
            locked_round,
            locked,
            valid_round,
            valid,
            decode_signer_state(signer),
            tuple(decode_message(m) for m in messages),
            tuple(vote_from_value(v) for v in proof),
        )
    except (codec.CodecError, MessageError, SignerStateError) as exc:
        raise RecordError(f"consensus record: {exc}") from exc
