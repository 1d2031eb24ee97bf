"""The double-sign guard: a validator key that never signs two different
messages for one height, round and step.

``Signer`` wraps a ``SigningKey`` and remembers, in a ``SignerState``, the
last (height, round, step) it signed and the digest and signature it gave.
It signs only when the new message's (height, round, step) is higher, or
equal with the same digest (then it returns the same signature, so a
restarted node can re-send what it sent before). Anything else raises
``DoubleSignError``.

The state also keeps the value of the last signed message (a block hash, or
None for nil), so that the last vote can be sent again (``signed_vote``)
after a restart that lost it from the WAL: the guard is written before a
signature exists, the WAL after.

The state is a plain value with a canonical encoding: the node persists it
before it sends the signed message (the engine's ``Persist`` action carries
it) and gives it back to a new ``Signer`` after a restart. Persisting it on
disk with fsync (a WAL, and the guard file) is the node's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from consensus.engine.messages import HASH_SIZE, Proposal, Step, Vote, sign_proposal, sign_vote
from ledger import codec, crypto
from ledger.address import address_of

NO_STEP: Final = 0


class DoubleSignError(Exception):
    """Raised when signing would conflict with, or go back before, what was signed."""


class SignerStateError(ValueError):
    """Raised for bytes that are not a signer state."""


@dataclass(frozen=True, slots=True)
class SignerState:
    """The last signed (height, round, step), its digest, its signature and
    its value (the block hash signed, None for nil)."""

    height: int = 0
    round: int = 0
    step: int = NO_STEP
    digest: bytes = b""
    signature: bytes = b""
    value: bytes | None = None

    def encode(self) -> bytes:
        """``[height, round, step, digest, signature, value | nil]``."""
        return codec.encode(
            (self.height, self.round, self.step, self.digest, self.signature, self.value)
        )


def decode_signer_state(data: bytes) -> SignerState:
    """Decode a persisted signer state. Raises SignerStateError. The 5-field
    form written before the value was kept decodes with value None (which
    then fails the digest check of ``Signer.signed_vote``)."""
    try:
        value = codec.decode(data)
    except codec.CodecError as exc:
        raise SignerStateError(f"signer state encoding: {exc}") from exc
    if not (isinstance(value, tuple) and len(value) in (5, 6)):
        raise SignerStateError("signer state is [height, round, step, digest, signature, value]")
    height, round_, step, digest, signature = value[:5]
    if not all(type(x) is int and x >= 0 for x in (height, round_, step)):
        raise SignerStateError("height, round and step are non-negative integers")
    if not (isinstance(digest, bytes) and isinstance(signature, bytes)):
        raise SignerStateError("digest and signature are bytes")
    signed_value = value[5] if len(value) == 6 else None
    is_hash = isinstance(signed_value, bytes) and len(signed_value) == HASH_SIZE
    if not (signed_value is None or is_hash):
        raise SignerStateError(f"the signed value is nil or {HASH_SIZE} bytes")
    return SignerState(height, round_, step, digest, signature, signed_value)


class Signer:
    """A validator key behind the double-sign guard."""

    def __init__(self, key: crypto.SigningKey, chain_id: str, state: SignerState | None = None):
        self._key = key
        self.chain_id = chain_id
        self.public_key = key.public_key
        self.address = address_of(key.public_key)
        self.state = state if state is not None else SignerState()

    def sign_proposal(self, height: int, round: int, pol_round: int, block_hash: bytes) -> Proposal:
        """A signed proposal. Raises DoubleSignError (see the module docstring)."""
        unsigned = Proposal(height, round, pol_round, block_hash, self.address, b"")
        reused = self._check(height, round, Step.PROPOSE, unsigned.signing_digest(self.chain_id))
        if reused is not None:
            return Proposal(height, round, pol_round, block_hash, self.address, reused)
        proposal = sign_proposal(
            self._key, self.chain_id, height, round, pol_round, block_hash, self.address
        )
        digest = unsigned.signing_digest(self.chain_id)
        self._remember(height, round, Step.PROPOSE, digest, proposal.signature, block_hash)
        return proposal

    def sign_vote(self, step: Step, height: int, round: int, block_hash: bytes | None) -> Vote:
        """A signed prevote or precommit. Raises DoubleSignError."""
        unsigned = Vote(step, height, round, block_hash, self.address, b"")
        digest = unsigned.signing_digest(self.chain_id)
        reused = self._check(height, round, step, digest)
        if reused is not None:
            return Vote(step, height, round, block_hash, self.address, reused)
        vote = sign_vote(self._key, self.chain_id, step, height, round, block_hash, self.address)
        self._remember(height, round, step, digest, vote.signature, block_hash)
        return vote

    def _check(self, height: int, round: int, step: Step, digest: bytes) -> bytes | None:
        last = self.state
        new = (height, round, int(step))
        previous = (last.height, last.round, last.step)
        if new > previous:
            return None
        if new == previous and digest == last.digest:
            return last.signature
        raise DoubleSignError(
            f"refusing to sign height {height} round {round} step {step.name}: "
            f"already signed height {last.height} round {last.round} step {last.step}"
            + (" (a different message)" if new == previous else "")
        )

    def _remember(
        self,
        height: int,
        round: int,
        step: Step,
        digest: bytes,
        signature: bytes,
        value: bytes | None,
    ) -> None:
        self.state = SignerState(height, round, int(step), digest, signature, value)

    def signed_vote(self, height: int, round: int, step: Step) -> Vote | None:
        """The vote last signed, if it is the one at (height, round, step):
        after a restart that lost it from the WAL the engine sends it again
        instead of the one it was about to sign (which the guard refuses)."""
        state = self.state
        if (state.height, state.round, state.step) != (height, round, int(step)):
            return None
        if step not in (Step.PREVOTE, Step.PRECOMMIT):
            return None
        vote = Vote(step, height, round, state.value, self.address, state.signature)
        return vote if vote.signing_digest(self.chain_id) == state.digest else None
