"""Shuffling a batch: re-encrypt every cell and permute them.

Convention: ``outputs[i] = reencrypt(inputs[permutation[i]], randomness[i])``,
i.e. output position i takes input position permutation[i]. The permutation
and the randomness are the shuffler's witness; it proves the shuffle with
``shuffle_proof.prove_shuffle`` and must then forget the witness: anyone who
learns it can undo this shuffler's part of the mix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger.features.mail.curve import LIBSECP256K1, GroupBackend
from ledger.features.mail.elgamal import EncryptedCell, reencrypt
from ledger.features.mail.errors import InvalidParameters, InvalidRandomness
from ledger.features.mail.params import check_batch_size
from ledger.features.mail.transcript import random_scalar
from ledger.threshold.group import Point, RandomBytes


@dataclass(frozen=True)
class ShuffleWitness:
    """A shuffler's secret: the permutation and the re-encryption scalars
    (one tuple of W per output position).

    Raises InvalidParameters on construction unless permutation is a
    permutation of 0..N-1 and there are N tuples of randomness.
    """

    permutation: tuple[int, ...] = field(repr=False)
    randomness: tuple[tuple[int, ...], ...] = field(repr=False)

    def __post_init__(self) -> None:
        if sorted(self.permutation) != list(range(len(self.permutation))):
            raise InvalidParameters("not a permutation of 0..N-1")
        if len(self.randomness) != len(self.permutation):
            raise InvalidParameters("one tuple of re-encryption scalars per cell")


def random_below(bound: int, rng: RandomBytes) -> int:
    """A uniform integer in [0, bound) from rng, by rejection sampling on 8 bytes.

    Raises InvalidRandomness if rng returns the wrong length.
    """
    assert 0 < bound < 1 << 32
    limit = (1 << 64) - (1 << 64) % bound
    while True:
        data = rng(8)
        if len(data) != 8:
            raise InvalidRandomness("random source returned the wrong number of bytes")
        value = int.from_bytes(data, "big")
        if value < limit:
            return value % bound


def random_permutation(count: int, rng: RandomBytes) -> tuple[int, ...]:
    """A uniformly random permutation of 0..count-1 (Fisher-Yates)."""
    items = list(range(count))
    for i in range(count - 1, 0, -1):
        j = random_below(i + 1, rng)
        items[i], items[j] = items[j], items[i]
    return tuple(items)


def apply_shuffle(
    mail_key: Point,
    inputs: Sequence[EncryptedCell],
    witness: ShuffleWitness,
    backend: GroupBackend = LIBSECP256K1,
) -> tuple[EncryptedCell, ...]:
    """The outputs the witness defines. Raises InvalidParameters if the
    witness does not fit the inputs."""
    if len(witness.permutation) != len(inputs):
        raise InvalidParameters("the witness is for another batch size")
    return tuple(
        reencrypt(mail_key, inputs[j], s, backend)
        for j, s in zip(witness.permutation, witness.randomness, strict=True)
    )


def shuffle_cells(
    mail_key: Point,
    inputs: Sequence[EncryptedCell],
    rng: RandomBytes,
    backend: GroupBackend = LIBSECP256K1,
) -> tuple[tuple[EncryptedCell, ...], ShuffleWitness]:
    """Re-encrypt and permute a batch with fresh randomness; return the
    outputs and the witness.

    Raises InvalidParameters for an empty or oversized batch or cells of
    different widths, InvalidRandomness if rng misbehaves.
    """
    check_batch_size(len(inputs))
    width = inputs[0].width
    if any(cell.width != width for cell in inputs):
        raise InvalidParameters("cells of different widths in one batch")
    permutation = random_permutation(len(inputs), rng)
    randomness = tuple(tuple(random_scalar(rng) for _ in range(width)) for _ in inputs)
    witness = ShuffleWitness(permutation, randomness)
    return apply_shuffle(mail_key, inputs, witness, backend), witness
