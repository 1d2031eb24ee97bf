"""The double-sign guard: a validator key that never signs two different
messages for one height, round and step.

``Signer`` wraps a ``SigningKey`` and remembers, in a ``SignerState``, the
last (height, round, step) it signed and the digest and signature it gave.
It signs only when the new message's (height, round, step) is higher, or
equal with the same digest (then it returns the same signature, so a
restarted node can re-send what it sent before). Anything else raises
``DoubleSignError``.

The state is a plain value with a canonical encoding: the node persists it
before it sends the signed message (the engine's ``Persist`` action carries
it) and gives it back to a new ``Signer`` after a restart. Persisting it on
disk with fsync (a WAL) is the node's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from consensus.engine.messages import Proposal, Step, Vote, sign_proposal, sign_vote
from ledger import codec, crypto
from ledger.address import address_of

NO_STEP: Final = 0


class DoubleSignError(Exception):
    """Raised when signing would conflict with, or go back before, what was signed."""


class SignerStateError(ValueError):
    """Raised for bytes that are not a signer state."""


@dataclass(frozen=True, slots=True)
class SignerState:
    """The last signed (height, round, step), its digest and its signature."""

    height: int = 0
    round: int = 0
    step: int = NO_STEP
    digest: bytes = b""
    signature: bytes = b""

    def encode(self) -> bytes:
        """``[height, round, step, digest, signature]``."""
        return codec.encode((self.height, self.round, self.step, self.digest, self.signature))


def decode_signer_state(data: bytes) -> SignerState:
    """Decode a persisted signer state. Raises SignerStateError."""
    try:
        value = codec.decode(data)
    except codec.CodecError as exc:
        raise SignerStateError(f"signer state encoding: {exc}") from exc
    if not (isinstance(value, tuple) and len(value) == 5):
        raise SignerStateError("signer state is [height, round, step, digest, signature]")
    height, round_, step, digest, signature = value
    if not all(type(x) is int and x >= 0 for x in (height, round_, step)):
        raise SignerStateError("height, round and step are non-negative integers")
    if not (isinstance(digest, bytes) and isinstance(signature, bytes)):
        raise SignerStateError("digest and signature are bytes")
    return SignerState(height, round_, step, digest, signature)


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
        self._remember(
            height, round, Step.PROPOSE, unsigned.signing_digest(self.chain_id), proposal.signature
        )
        return proposal

    def sign_vote(self, step: Step, height: int, round: int, block_hash: bytes | None) -> Vote:
        """A signed prevote or precommit. Raises DoubleSignError."""
        unsigned = Vote(step, height, round, block_hash, self.address, b"")
        digest = unsigned.signing_digest(self.chain_id)
        reused = self._check(height, round, step, digest)
        if reused is not None:
            return Vote(step, height, round, block_hash, self.address, reused)
        vote = sign_vote(self._key, self.chain_id, step, height, round, block_hash, self.address)
        self._remember(height, round, step, digest, vote.signature)
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
        self, height: int, round: int, step: Step, digest: bytes, signature: bytes
    ) -> None:
        self.state = SignerState(height, round, int(step), digest, signature)
