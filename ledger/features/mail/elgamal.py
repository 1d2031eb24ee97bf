"""ElGamal over secp256k1, component by component, for whole cells.

A cell of W points M_1..M_W is encrypted to the mail key Y = x*G as W
ciphertexts (a_k, b_k) = (r_k*G, M_k + r_k*Y) with independent r_k. (One r
for all components would leak M_j - M_k = b_j - b_k.) Re-encryption adds a
fresh encryption of the identity: (a_k + s_k*G, b_k + s_k*Y); a re-encrypted
cell decrypts to the same points and cannot be linked to the original
without the key (DDH).

Wire form of a cell: a_1 || b_1 || ... || a_W || b_W, 66 * W bytes, each a
33-byte compressed point; decoding rejects the identity, points off the
curve and non-canonical encodings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger.features.mail.curve import LIBSECP256K1, GroupBackend
from ledger.features.mail.errors import InvalidEncoding, InvalidParameters
from ledger.features.mail.params import check_width
from ledger.features.mail.transcript import random_scalar
from ledger.threshold.errors import InvalidEncoding as ThresholdInvalidEncoding
from ledger.threshold.group import (
    ELEMENT_SIZE,
    GENERATOR,
    IDENTITY,
    Point,
    RandomBytes,
    decode_element,
    point_neg,
)


@dataclass(frozen=True)
class Ciphertext:
    """One ElGamal ciphertext: a = r*G, b = M + r*Y."""

    a: Point
    b: Point


@dataclass(frozen=True)
class EncryptedCell:
    """A cell: W ciphertexts, one per embedded point.

    Raises InvalidParameters on construction for a width outside the allowed range.
    """

    components: tuple[Ciphertext, ...]

    def __post_init__(self) -> None:
        check_width(len(self.components))

    @property
    def width(self) -> int:
        """W, the number of components."""
        return len(self.components)


def encrypt_points(
    public_key: Point,
    points: Sequence[Point],
    rng: RandomBytes,
    backend: GroupBackend = LIBSECP256K1,
) -> tuple[EncryptedCell, tuple[int, ...]]:
    """Encrypt a cell's points to public_key; return the cell and its
    randomness (r_1..r_W, secret: needed only for the submission proof).

    Raises InvalidParameters for a bad width, InvalidRandomness if rng misbehaves.
    """
    check_width(len(points))
    randomness = tuple(random_scalar(rng) for _ in points)
    # Encryption is re-encryption of the trivial ciphertext (identity, M).
    trivial = EncryptedCell(tuple(Ciphertext(IDENTITY, p) for p in points))
    return reencrypt(public_key, trivial, randomness, backend), randomness


def reencrypt(
    public_key: Point,
    cell: EncryptedCell,
    randomness: Sequence[int],
    backend: GroupBackend = LIBSECP256K1,
) -> EncryptedCell:
    """The cell with s_k*G added to each a_k and s_k*Y to each b_k.

    Raises InvalidParameters unless there is one scalar per component.
    """
    if len(randomness) != cell.width:
        raise InvalidParameters("one re-encryption scalar per component")
    # The scalars are secret (they link input and output): constant-time products.
    return EncryptedCell(
        tuple(
            Ciphertext(
                backend.point_sum((c.a, backend.secret_mul(GENERATOR, s))),
                backend.point_sum((c.b, backend.secret_mul(public_key, s))),
            )
            for c, s in zip(cell.components, randomness, strict=True)
        )
    )


def decrypt_with_secret(secret: int, cell: EncryptedCell) -> tuple[Point, ...]:
    """M_k = b_k - x*a_k for every component, with the whole secret key x.

    The mix never holds x; this is for tests and for reasoning. The chain
    decrypts with threshold shares (``decryption``).
    """
    return tuple(
        LIBSECP256K1.point_sum((c.b, point_neg(LIBSECP256K1.secret_mul(c.a, secret))))
        for c in cell.components
    )


def encode_cell(cell: EncryptedCell) -> bytes:
    """a_1 || b_1 || ... || a_W || b_W (66 * W bytes).

    Raises InvalidEncoding if a component holds the identity.
    """
    parts = []
    for c in cell.components:
        if c.a.is_identity() or c.b.is_identity():
            raise InvalidEncoding("a cell component is the identity")
        parts += [c.a.sec, c.b.sec]
    return b"".join(parts)


def decode_point(data: bytes) -> Point:
    """A 33-byte compressed point, strictly (not the identity, on the curve,
    x below the field prime). Raises InvalidEncoding otherwise."""
    try:
        return decode_element(bytes(data))
    except ThresholdInvalidEncoding as e:
        raise InvalidEncoding(str(e)) from None


def decode_cell(data: bytes, width: int) -> EncryptedCell:
    """The cell in 66 * W bytes. Raises InvalidEncoding for another length
    or any invalid point, InvalidParameters for a bad width."""
    check_width(width)
    if len(data) != 2 * ELEMENT_SIZE * width:
        raise InvalidEncoding(f"a cell of width {width} is {2 * ELEMENT_SIZE * width} bytes")
    points = [decode_point(data[i : i + ELEMENT_SIZE]) for i in range(0, len(data), ELEMENT_SIZE)]
    return EncryptedCell(tuple(Ciphertext(points[2 * k], points[2 * k + 1]) for k in range(width)))
