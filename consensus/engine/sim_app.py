"""The replicated application of the consensus simulation (consensus.engine.simulation).

A block is ``encode([header, body])``::

    header = [height, round, proposer, nonce, body_hash]      body_hash = SHA-256(encode(body))
    body   = [changes, evidence]
    changes  = [[public_key, power], ...]    at most one power change, in force two heights later
    evidence = [evidence bytes, ...]         equivocations recorded by this block

Its id is the hash of the header alone, as for ledger blocks, so the id binds
the body only through ``body_hash``: ``block_hash`` raises MalformedBlock for
a body that does not match it (the body-swapping relays of the simulation
send exactly such blocks).

A block is valid at height h when its header names h, its change is a power
in [1, MAX_SIM_POWER] for a validator whose power may change, and keeps the
Byzantine validators' power below one third of the set it produces (the
simulation's model of "fewer than a third are faulty at every height"), and
every piece of evidence verifies against the set of its height, is for a
height at or below h, and records an equivocation not recorded before.
"""

from __future__ import annotations

import random
from functools import lru_cache
from typing import Any, Final

from consensus.engine.certificate import CommitCertificate
from consensus.engine.evidence import Evidence, InvalidEvidence, decode_evidence, verify_evidence
from consensus.engine.message_checks import MalformedBlock
from consensus.engine.messages import Step, Verifier, Vote
from consensus.engine.validators import Validator, ValidatorSet
from ledger import codec, crypto

MAX_SIM_POWER: Final = 6  # a power change sets a power in [1, MAX_SIM_POWER]
MAX_EVIDENCE_PER_BLOCK: Final = 32

# One equivocation: (validator, height, round, step); a block records each once.
EvidenceSlot = tuple[bytes, int, int, int]


def evidence_slot(evidence: Evidence) -> EvidenceSlot:
    """Which equivocation a piece of evidence proves."""
    first = evidence.first
    step = int(first.step) if isinstance(first, Vote) else int(Step.PROPOSE)
    return (evidence.validator, evidence.height, first.round, step)


def encode_block(
    height: int,
    round: int,
    proposer: bytes,
    nonce: int,
    changes: tuple[tuple[bytes, int], ...],
    evidence: tuple[bytes, ...],
) -> bytes:
    """A block's bytes (its header commits to its body)."""
    body = (changes, evidence)
    header = (height, round, proposer, nonce, crypto.sha256(codec.encode(body)))
    return codec.encode((header, body))


def swap_body(block: bytes, rng: random.Random) -> bytes | None:
    """The block with the same header and another body (what a body-swapping
    relay sends), or None for bytes that are not a block."""
    try:
        header, body = codec.decode(block)
        changes, evidence = body
    except (codec.CodecError, ValueError, TypeError):
        return None
    junk_change = ((b"\x02" + rng.randbytes(32), 1),)
    body = (changes, evidence[1:]) if evidence else (junk_change, ())
    return codec.encode((header, body))


class SimApp:
    """One node's view of the simulated application: committed blocks and the
    validator set of every height (known two heights ahead)."""

    def __init__(
        self,
        genesis: ValidatorSet,
        mutable: tuple[bytes, ...],
        byzantine: frozenset[bytes],
        chain_id: str,
        verify: Verifier,
    ) -> None:
        self.mutable = mutable  # public keys whose power blocks may change
        self.byzantine = byzantine  # addresses of the Byzantine validators
        self.chain_id = chain_id
        self._verify = verify
        self.sets: dict[int, ValidatorSet] = {1: genesis, 2: genesis.next_height()}
        self.blocks: dict[int, tuple[bytes, CommitCertificate]] = {}
        self.recorded: set[EvidenceSlot] = set()

    @property
    def height(self) -> int:
        """The last committed height."""
        return len(self.blocks)

    # -- consensus.engine.Application ---------------------------------------

    def block_hash(self, block: bytes) -> bytes:
        """The header's hash. Raises MalformedBlock unless the bytes are a
        block whose body matches its header."""
        header, body = _decode(block)
        if crypto.sha256(codec.encode(body)) != header[4]:
            raise MalformedBlock("the body does not match the header's body hash")
        return crypto.sha256(codec.encode(header))

    def validate_block(self, height: int, block: bytes) -> bool:
        try:
            header, body = _decode(block)
        except MalformedBlock:
            return False
        changes, evidence = body
        return (
            header[0] == height
            and crypto.sha256(codec.encode(body)) == header[4]
            and self._changes_valid(height, changes)
            and self._evidence_valid(height, evidence)
        )

    # -- the chain -----------------------------------------------------------

    def build_block(
        self,
        height: int,
        round: int,
        proposer: bytes,
        rng: random.Random,
        change_powers: bool,
        evidence: tuple[bytes, ...] = (),
    ) -> bytes:
        """A valid block (for an honest proposer: ``evidence`` already checked)."""
        changes: tuple[tuple[bytes, int], ...] = ()
        if change_powers and self.mutable and rng.random() < 0.3:
            candidate = ((rng.choice(self.mutable), rng.randint(1, MAX_SIM_POWER)),)
            if self._changes_valid(height, candidate):
                changes = candidate
        return encode_block(height, round, proposer, rng.getrandbits(64), changes, evidence)

    def apply(self, height: int, block: bytes, certificate: CommitCertificate) -> None:
        assert height == self.height + 1
        self.blocks[height] = (block, certificate)
        _, (changes, evidence) = _decode(block)
        for data in evidence:
            self.recorded.add(evidence_slot(_known_evidence(data)))
        self.sets[height + 2] = self._next_set(height, changes)

    def validator_set(self, height: int) -> ValidatorSet:
        return self.sets[height]

    def evidence_of(self, block: bytes) -> list[EvidenceSlot]:
        """The equivocations a (valid) block records."""
        _, (_, evidence) = _decode(block)
        return [evidence_slot(_known_evidence(data)) for data in evidence]

    def check_evidence(self, data: bytes) -> Evidence | None:
        """The evidence if it verifies against the set of its height and is
        not recorded yet, else None."""
        evidence = _decoded_evidence(data)
        if evidence is None:
            return None
        validators = self.sets.get(evidence.height)
        if validators is None or evidence_slot(evidence) in self.recorded:
            return None
        try:
            verify_evidence(evidence, validators, self.chain_id, self._verify)
        except InvalidEvidence:
            return None
        return evidence

    # -- rules -----------------------------------------------------------------

    def _changes_valid(self, height: int, changes: Any) -> bool:
        if not isinstance(changes, tuple) or len(changes) > 1:
            return False
        for change in changes:
            if not (
                isinstance(change, tuple)
                and len(change) == 2
                and change[0] in self.mutable
                and type(change[1]) is int
                and 1 <= change[1] <= MAX_SIM_POWER
            ):
                return False
        if not changes:
            return True
        after = self._next_set(height, changes)
        byzantine_power = sum(v.power for v in after.validators if v.address in self.byzantine)
        return 3 * byzantine_power < after.total_power

    def _evidence_valid(self, height: int, evidence: Any) -> bool:
        if not isinstance(evidence, tuple) or len(evidence) > MAX_EVIDENCE_PER_BLOCK:
            return False
        slots: set[EvidenceSlot] = set()
        for data in evidence:
            if not isinstance(data, bytes):
                return False
            checked = self.check_evidence(data)
            if checked is None or checked.height > height:
                return False
            slot = evidence_slot(checked)
            if slot in slots:
                return False
            slots.add(slot)
        return True

    def _next_set(self, height: int, changes: tuple[tuple[bytes, int], ...]) -> ValidatorSet:
        updates = [Validator.from_public_key(key, power) for key, power in changes]
        return self.sets[height + 1].next_height(updates)


def _decode(block: bytes) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """The (header, body) of block bytes, structurally checked. Raises MalformedBlock."""
    try:
        value = codec.decode(block)
    except codec.CodecError as exc:
        raise MalformedBlock(f"not a block: {exc}") from exc
    if not (isinstance(value, tuple) and len(value) == 2):
        raise MalformedBlock("a block is [header, body]")
    header, body = value
    if not (isinstance(header, tuple) and len(header) == 5 and isinstance(body, tuple)):
        raise MalformedBlock("a header has 5 fields")
    if not (len(body) == 2 and isinstance(header[4], bytes)):
        raise MalformedBlock("a body is [changes, evidence]")
    return header, body


@lru_cache(maxsize=4096)
def _decoded_evidence(data: bytes) -> Evidence | None:
    """Evidence bytes decoded, or None (pure: every node decodes the same
    gossiped bytes, once per run)."""
    try:
        return decode_evidence(data)
    except InvalidEvidence:
        return None


def _known_evidence(data: bytes) -> Evidence:
    """Evidence of a block already found valid."""
    evidence = _decoded_evidence(data)
    assert evidence is not None
    return evidence
