"""Canonical byte encodings of what the mix puts on chain.

Each message is a canonical msgpack array (``ledger.codec``) of fixed-size
byte strings: P is a 33-byte compressed point (never the identity), s a
32-byte big-endian scalar below the group order, and lists of points or
scalars are concatenated into one byte string. A cell of width W is
a_1 || b_1 || ... || a_W || b_W (66W bytes, ``elgamal.encode_cell``).

    submission        [cell, c (s), z_1 || ... || z_W]
    batch             [cell_1, ..., cell_N]
    shuffle           [batch of outputs, proof]
    proof of shuffle  [c_1..c_N (33N), chat_1..chat_N (33N), c, s1, s2, s3,
                       s4 (32W), shat (32N), s' (32N)]
    decryption share  [member id (uint, 1..2^32-1), D (33NW, cell by cell,
                       component by component), c, z]

Decoders take the batch size N and width W the chain expects, refuse input
larger than that shape allows before parsing it, and raise InvalidEncoding
for anything that is not the one canonical encoding of a well-formed value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from ledger import codec
from ledger.features.mail.decryption import DecryptionShare
from ledger.features.mail.elgamal import EncryptedCell, decode_cell, decode_point, encode_cell
from ledger.features.mail.errors import InvalidEncoding
from ledger.features.mail.params import check_batch_size, check_width
from ledger.features.mail.shuffle_proof import ShuffleProof
from ledger.features.mail.submission import RandomnessProof, Submission
from ledger.threshold.group import ELEMENT_SIZE, ORDER, SCALAR_SIZE, Point

MAX_MEMBER_ID: Final = (1 << 32) - 1
_FIELD_OVERHEAD: Final = 5  # msgpack bin32 header; arrays add a few bytes more


def _decode_array(data: bytes, what: str, length: int, payload_bound: int) -> tuple[Any, ...]:
    if not isinstance(data, bytes):
        raise InvalidEncoding(f"a {what} is bytes")
    try:
        value = codec.decode(data, max_size=payload_bound + 64)
    except codec.CodecError as e:
        raise InvalidEncoding(f"a {what} is not canonical msgpack: {e}") from None
    if not isinstance(value, tuple) or len(value) != length:
        raise InvalidEncoding(f"a {what} is an array of {length}")
    return value


def _field(value: Any, size: int, what: str) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise InvalidEncoding(f"{what} is {size} bytes")
    return value


def encode_scalars(scalars: Sequence[int]) -> bytes:
    """Scalars concatenated, 32 bytes each. Raises InvalidEncoding for one
    outside [0, ORDER)."""
    if not all(0 <= s < ORDER for s in scalars):
        raise InvalidEncoding("scalar out of range")
    return b"".join(s.to_bytes(SCALAR_SIZE, "big") for s in scalars)


def decode_scalars(data: bytes, count: int) -> tuple[int, ...]:
    """count scalars from 32 * count bytes. Raises InvalidEncoding for
    another length or a value not below the group order."""
    if len(data) != SCALAR_SIZE * count:
        raise InvalidEncoding(f"{count} scalars are {SCALAR_SIZE * count} bytes")
    scalars = tuple(
        int.from_bytes(data[i : i + SCALAR_SIZE], "big") for i in range(0, len(data), SCALAR_SIZE)
    )
    if any(s >= ORDER for s in scalars):
        raise InvalidEncoding("scalar is not below the group order")
    return scalars


def encode_points(points: Sequence[Point]) -> bytes:
    """Points concatenated, 33 bytes each. Raises InvalidEncoding for the identity."""
    if any(p.is_identity() for p in points):
        raise InvalidEncoding("the identity has no encoding")
    return b"".join(p.sec for p in points)


def decode_points(data: bytes, count: int) -> tuple[Point, ...]:
    """count points from 33 * count bytes, each checked strictly."""
    if len(data) != ELEMENT_SIZE * count:
        raise InvalidEncoding(f"{count} points are {ELEMENT_SIZE * count} bytes")
    return tuple(
        decode_point(data[i : i + ELEMENT_SIZE]) for i in range(0, len(data), ELEMENT_SIZE)
    )


def _cell_size(width: int) -> int:
    return 2 * ELEMENT_SIZE * width


# -- submission ---------------------------------------------------------------


def encode_submission(submission: Submission) -> bytes:
    """[cell, c, z_1 || ... || z_W]."""
    proof = submission.proof
    return codec.encode(
        [
            encode_cell(submission.cell),
            encode_scalars([proof.challenge]),
            encode_scalars(proof.responses),
        ]
    )


def decode_submission(data: bytes, width: int) -> Submission:
    """A submission of a cell of width W. Raises InvalidEncoding."""
    check_width(width)
    bound = _cell_size(width) + SCALAR_SIZE * (width + 1) + 3 * _FIELD_OVERHEAD
    cell, challenge, responses = _decode_array(data, "submission", 3, bound)
    return Submission(
        decode_cell(_field(cell, _cell_size(width), "a cell"), width),
        RandomnessProof(
            decode_scalars(_field(challenge, SCALAR_SIZE, "a challenge"), 1)[0],
            decode_scalars(_field(responses, SCALAR_SIZE * width, "the responses"), width),
        ),
    )


# -- batches and shuffles -------------------------------------------------------


def _batch_value(cells: Sequence[EncryptedCell]) -> list[bytes]:
    return [encode_cell(cell) for cell in cells]


def _decode_batch_value(value: Any, count: int, width: int) -> tuple[EncryptedCell, ...]:
    if not isinstance(value, tuple) or len(value) != count:
        raise InvalidEncoding(f"a batch is an array of {count} cells")
    return tuple(decode_cell(_field(c, _cell_size(width), "a cell"), width) for c in value)


def encode_batch(cells: Sequence[EncryptedCell]) -> bytes:
    """[cell_1, ..., cell_N]."""
    return codec.encode(_batch_value(cells))


def decode_batch(data: bytes, count: int, width: int) -> tuple[EncryptedCell, ...]:
    """A batch of N cells of width W. Raises InvalidEncoding."""
    check_batch_size(count)
    check_width(width)
    if not isinstance(data, bytes):
        raise InvalidEncoding("a batch is bytes")
    bound = count * (_cell_size(width) + _FIELD_OVERHEAD) + 64
    try:
        value = codec.decode(data, max_size=bound)
    except codec.CodecError as e:
        raise InvalidEncoding(f"a batch is not canonical msgpack: {e}") from None
    return _decode_batch_value(value, count, width)


def _proof_value(proof: ShuffleProof) -> list[bytes]:
    return [
        encode_points(proof.permutation_commitment),
        encode_points(proof.commitment_chain),
        encode_scalars([proof.challenge]),
        encode_scalars([proof.s1]),
        encode_scalars([proof.s2]),
        encode_scalars([proof.s3]),
        encode_scalars(proof.s4),
        encode_scalars(proof.s_hat),
        encode_scalars(proof.s_prime),
    ]


def _proof_size(count: int, width: int) -> int:
    return 2 * ELEMENT_SIZE * count + SCALAR_SIZE * (4 + width + 2 * count)


def _decode_proof_value(value: Any, count: int, width: int) -> ShuffleProof:
    if not isinstance(value, tuple) or len(value) != 9:
        raise InvalidEncoding("a proof of shuffle is an array of 9")
    sizes = [ELEMENT_SIZE * count] * 2 + [SCALAR_SIZE] * 4 + [SCALAR_SIZE * width]
    sizes += [SCALAR_SIZE * count] * 2
    fields = [_field(v, size, "a proof field") for v, size in zip(value, sizes, strict=True)]
    challenge, s1, s2, s3 = (decode_scalars(f, 1)[0] for f in fields[2:6])
    return ShuffleProof(
        permutation_commitment=decode_points(fields[0], count),
        commitment_chain=decode_points(fields[1], count),
        challenge=challenge,
        s1=s1,
        s2=s2,
        s3=s3,
        s4=decode_scalars(fields[6], width),
        s_hat=decode_scalars(fields[7], count),
        s_prime=decode_scalars(fields[8], count),
    )


def encode_shuffle_proof(proof: ShuffleProof) -> bytes:
    """The proof alone."""
    return codec.encode(_proof_value(proof))


def decode_shuffle_proof(data: bytes, count: int, width: int) -> ShuffleProof:
    """A proof of shuffle for N cells of width W. Raises InvalidEncoding."""
    check_batch_size(count)
    check_width(width)
    value = _decode_array(data, "proof of shuffle", 9, _proof_size(count, width) + 64)
    return _decode_proof_value(value, count, width)


def encode_shuffle(outputs: Sequence[EncryptedCell], proof: ShuffleProof) -> bytes:
    """[outputs, proof]: what a shuffler posts."""
    return codec.encode([_batch_value(outputs), _proof_value(proof)])


def decode_shuffle(
    data: bytes, count: int, width: int
) -> tuple[tuple[EncryptedCell, ...], ShuffleProof]:
    """The outputs and proof a shuffler posted for N cells of width W.
    Raises InvalidEncoding."""
    check_batch_size(count)
    check_width(width)
    bound = count * (_cell_size(width) + _FIELD_OVERHEAD) + _proof_size(count, width) + 128
    outputs, proof = _decode_array(data, "shuffle", 2, bound)
    return _decode_batch_value(outputs, count, width), _decode_proof_value(proof, count, width)


# -- decryption shares ----------------------------------------------------------


def encode_decryption_share(share: DecryptionShare) -> bytes:
    """[member, D (33NW), c, z]. Raises InvalidEncoding for a member id out
    of range or an identity factor."""
    if not 1 <= share.member <= MAX_MEMBER_ID:
        raise InvalidEncoding("a member id is in 1..2^32-1")
    return codec.encode(
        [
            share.member,
            encode_points([d for row in share.factors for d in row]),
            encode_scalars([share.challenge]),
            encode_scalars([share.response]),
        ]
    )


def decode_decryption_share(data: bytes, count: int, width: int) -> DecryptionShare:
    """A decryption share for N cells of width W. Raises InvalidEncoding."""
    check_batch_size(count)
    check_width(width)
    bound = ELEMENT_SIZE * count * width + 2 * SCALAR_SIZE + 32
    member, factors, challenge, response = _decode_array(data, "decryption share", 4, bound)
    if type(member) is not int or not 1 <= member <= MAX_MEMBER_ID:
        raise InvalidEncoding("a member id is in 1..2^32-1")
    points = decode_points(
        _field(factors, ELEMENT_SIZE * count * width, "the factors"), count * width
    )
    return DecryptionShare(
        member,
        tuple(points[n * width : (n + 1) * width] for n in range(count)),
        decode_scalars(_field(challenge, SCALAR_SIZE, "a challenge"), 1)[0],
        decode_scalars(_field(response, SCALAR_SIZE, "a response"), 1)[0],
    )
