"""secp256k1 scalars and points for the threshold protocols, on libsecp256k1
(through coincurve).

Scalars are Python ints in [0, ORDER). A Point is held by its SEC1 encoding:
33 bytes compressed, or the single byte 0x00 for the identity (the point at
infinity), which coincurve cannot represent, so every operation here handles
it explicitly. Compressed encodings are unique, so Point equality is byte
equality.

``group_reference`` implements the same functions on python-ecdsa; the tests
check that both give the same answers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from coincurve import PublicKey

from ledger.threshold.errors import InvalidEncoding, InvalidRandomness

ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
FIELD_PRIME = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
SCALAR_SIZE = 32
ELEMENT_SIZE = 33

RandomBytes = Callable[[int], bytes]
"""An injected random source: given n, returns n random bytes (e.g. os.urandom)."""


@dataclass(frozen=True, slots=True)
class Point:
    """A secp256k1 point as its SEC1 encoding (33 bytes, or b"\\x00" for identity).

    Build points only through this module's functions (or ``decode_element``),
    which guarantee the encoding is on the curve and canonical. A point keeps
    the libsecp256k1 object it was made from (or first parsed into), so that
    using it again costs no decompression; equality and hashing are of
    ``sec`` alone.
    """

    sec: bytes
    _key: PublicKey | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Cheap shape check only; decode_element is the full validation.
        compressed = len(self.sec) == ELEMENT_SIZE and self.sec[0] in (2, 3)
        if not compressed and self.sec != _IDENTITY_SEC:
            raise InvalidEncoding("a Point holds 33 compressed bytes or the identity byte 0x00")

    def is_identity(self) -> bool:
        """True for the point at infinity."""
        return self.sec == _IDENTITY_SEC

    def __repr__(self) -> str:
        return f"Point({self.sec.hex()})"


_IDENTITY_SEC = b"\x00"
IDENTITY = Point(_IDENTITY_SEC)
GENERATOR = Point(
    bytes.fromhex("0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798")
)


def _scalar_bytes(k: int) -> bytes:
    return k.to_bytes(SCALAR_SIZE, "big")


def coincurve_key(p: Point) -> PublicKey:
    """The point's libsecp256k1 object (parsed once; never for the identity)."""
    key = p._key
    if key is None:
        key = PublicKey(p.sec)
        object.__setattr__(p, "_key", key)
    return key


def point_of(key: PublicKey) -> Point:
    """The Point of a libsecp256k1 object, keeping the object."""
    return Point(key.format(compressed=True), key)


def base_mul(k: int) -> Point:
    """Return k*G for any integer k (reduced mod ORDER)."""
    k %= ORDER
    if k == 0:
        return IDENTITY
    return point_of(PublicKey.from_valid_secret(_scalar_bytes(k)))


def point_mul(p: Point, k: int) -> Point:
    """Return k*p for any integer k (reduced mod ORDER)."""
    k %= ORDER
    if k == 0 or p.is_identity():
        return IDENTITY
    return point_of(coincurve_key(p).multiply(_scalar_bytes(k)))


def point_neg(p: Point) -> Point:
    """Return -p (flip the parity byte of the compressed encoding)."""
    if p.is_identity():
        return IDENTITY
    return Point(bytes([p.sec[0] ^ 1]) + p.sec[1:])


def point_sum(points: Iterable[Point]) -> Point:
    """Return the sum of the points (the identity for an empty sum)."""
    finite = [p for p in points if not p.is_identity()]
    if not finite:
        return IDENTITY
    if len(finite) == 1:
        return finite[0]
    keys = [coincurve_key(p) for p in finite]
    try:
        total = PublicKey.combine_keys(keys)
    except ValueError:
        # libsecp256k1 refuses exactly one case for valid inputs: a sum at infinity.
        return IDENTITY
    return point_of(total)


def point_add(a: Point, b: Point) -> Point:
    """Return a + b."""
    return point_sum((a, b))


def point_sub(a: Point, b: Point) -> Point:
    """Return a - b."""
    return point_sum((a, point_neg(b)))


def multi_mul(terms: Iterable[tuple[Point, int]]) -> Point:
    """Return the sum of k*p over (p, k) pairs."""
    return point_sum(point_mul(p, k) for p, k in terms)


def schnorr_equation_holds(public: Point, commitment: Point, response: int, challenge: int) -> bool:
    """True if response*G == commitment + challenge*public, for scalars in
    [0, ORDER).

    The same answer as composing base_mul, point_mul and point_add, but
    checked as response*G - challenge*public == commitment with libsecp256k1
    objects kept between steps: this is the signature-verification hot path.
    """
    assert 0 <= response < ORDER and 0 <= challenge < ORDER
    terms: list[PublicKey] = []
    if response:
        terms.append(PublicKey.from_valid_secret(_scalar_bytes(response)))
    if challenge and not public.is_identity():
        terms.append(coincurve_key(public).multiply(_scalar_bytes(ORDER - challenge)))
    if not terms:
        return commitment.is_identity()
    try:
        total = PublicKey.combine_keys(terms).format(compressed=True)
    except ValueError:  # the sum is at infinity
        return commitment.is_identity()
    return total == commitment.sec


def encode_element(p: Point) -> bytes:
    """SerializeElement (RFC 9591 §6.5): the 33-byte compressed encoding.

    Raises InvalidEncoding for the identity, which has no encoding here.
    """
    if p.is_identity():
        raise InvalidEncoding("the identity element cannot be serialized")
    return p.sec


def decode_element(data: bytes) -> Point:
    """DeserializeElement (RFC 9591 §6.5): parse a 33-byte compressed point.

    Raises InvalidEncoding for a wrong length or prefix, an x coordinate not
    below the field prime, an x with no point on the curve, or the identity.
    """
    if len(data) != ELEMENT_SIZE or data[0] not in (2, 3):
        raise InvalidEncoding("an element is 33 bytes: 0x02 or 0x03, then x")
    if int.from_bytes(data[1:], "big") >= FIELD_PRIME:
        raise InvalidEncoding("element x coordinate is not below the field prime")
    try:
        key = PublicKey(bytes(data))
    except ValueError:
        raise InvalidEncoding("element x coordinate is not on secp256k1") from None
    return Point(bytes(data), key)


def encode_scalar(k: int) -> bytes:
    """SerializeScalar (RFC 9591 §6.5): 32 bytes big-endian.

    Raises InvalidEncoding if k is not in [0, ORDER).
    """
    if not 0 <= k < ORDER:
        raise InvalidEncoding("scalar out of range")
    return _scalar_bytes(k)


def decode_scalar(data: bytes) -> int:
    """DeserializeScalar (RFC 9591 §6.5): 32 bytes big-endian below ORDER.

    Raises InvalidEncoding for a wrong length or a value >= ORDER.
    """
    if len(data) != SCALAR_SIZE:
        raise InvalidEncoding("a scalar is 32 bytes")
    k = int.from_bytes(data, "big")
    if k >= ORDER:
        raise InvalidEncoding("scalar is not below the group order")
    return k


def random_scalar(rng: RandomBytes) -> int:
    """Return a uniformly random nonzero scalar from 48 random bytes.

    Reducing 384 bits mod ORDER leaves a bias below 2^-128. Raises
    InvalidRandomness if rng returns the wrong length or the result is zero
    (which only a broken source produces).
    """
    data = rng(48)
    if len(data) != 48:
        raise InvalidRandomness("random source returned the wrong number of bytes")
    k = int.from_bytes(data, "big") % ORDER
    if k == 0:
        raise InvalidRandomness("random source produced a zero scalar")
    return k


def scalar_inverse(k: int) -> int:
    """Return the inverse of a nonzero scalar mod ORDER."""
    assert k % ORDER != 0, "zero has no inverse"
    return pow(k, -1, ORDER)
