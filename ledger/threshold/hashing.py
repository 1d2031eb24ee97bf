"""Hash functions of FROST(secp256k1, SHA-256) (RFC 9591 §6.5) and of the
key ceremonies built next to it.

H1, H2, H3 map to scalars with hash_to_field (RFC 9380 §5.2, one element,
L = 48) over expand_message_xmd with SHA-256 (RFC 9380 §5.3.1); H4 and H5 are
plain SHA-256. Each has its own domain-separation tag under the RFC's
contextString. The DKG and resharing hashes use a separate context string so
they can never collide with a FROST hash.
"""

from __future__ import annotations

import hashlib

from ledger.threshold.errors import InvalidParameters
from ledger.threshold.group import ORDER

CONTEXT_STRING = b"FROST-secp256k1-SHA256-v1"
CEREMONY_CONTEXT_STRING = b"LEDGER-threshold-secp256k1-SHA256-v1"

_B_IN_BYTES = 32  # SHA-256 output size
_R_IN_BYTES = 64  # SHA-256 block size
_L = 48  # ceil((ceil(log2(ORDER)) + 128) / 8)


def expand_message_xmd(msg: bytes, dst: bytes, len_in_bytes: int) -> bytes:
    """expand_message_xmd with SHA-256 (RFC 9380 §5.3.1).

    Raises InvalidParameters for a DST longer than 255 bytes or an output
    length beyond 255 blocks; every caller here uses fixed, valid values.
    """
    if len(dst) > 255:
        raise InvalidParameters("DST longer than 255 bytes")
    ell = -(-len_in_bytes // _B_IN_BYTES)
    if ell > 255 or len_in_bytes > 65535:
        raise InvalidParameters("requested output too long")
    dst_prime = dst + bytes([len(dst)])
    z_pad = bytes(_R_IN_BYTES)
    l_i_b_str = len_in_bytes.to_bytes(2, "big")
    b_0 = hashlib.sha256(z_pad + msg + l_i_b_str + b"\x00" + dst_prime).digest()
    b_i = hashlib.sha256(b_0 + b"\x01" + dst_prime).digest()
    blocks = [b_i]
    for i in range(2, ell + 1):
        b_i = hashlib.sha256(
            bytes(x ^ y for x, y in zip(b_0, b_i, strict=True)) + bytes([i]) + dst_prime
        ).digest()
        blocks.append(b_i)
    return b"".join(blocks)[:len_in_bytes]


def hash_to_scalar(msg: bytes, dst: bytes) -> int:
    """hash_to_field(msg, 1) into the scalar field (RFC 9380 §5.2, L = 48)."""
    return int.from_bytes(expand_message_xmd(msg, dst, _L), "big") % ORDER


def h1(m: bytes) -> int:
    """H1: the binding-factor hash (DST contextString || "rho")."""
    return hash_to_scalar(m, CONTEXT_STRING + b"rho")


def h2(m: bytes) -> int:
    """H2: the challenge hash (DST contextString || "chal")."""
    return hash_to_scalar(m, CONTEXT_STRING + b"chal")


def h3(m: bytes) -> int:
    """H3: the nonce hash (DST contextString || "nonce")."""
    return hash_to_scalar(m, CONTEXT_STRING + b"nonce")


def h4(m: bytes) -> bytes:
    """H4: the message hash, SHA-256(contextString || "msg" || m)."""
    return hashlib.sha256(CONTEXT_STRING + b"msg" + m).digest()


def h5(m: bytes) -> bytes:
    """H5: the commitment-list hash, SHA-256(contextString || "com" || m)."""
    return hashlib.sha256(CONTEXT_STRING + b"com" + m).digest()


def ceremony_scalar(tag: bytes, m: bytes) -> int:
    """A scalar hash for the key ceremonies, domain-separated by tag."""
    return hash_to_scalar(m, CEREMONY_CONTEXT_STRING + tag)


def ceremony_digest(tag: bytes, parts: list[bytes]) -> bytes:
    """SHA-256 over length-prefixed parts, domain-separated by tag.

    Length prefixes make the encoding injective, so different part lists
    never hash the same input.
    """
    h = hashlib.sha256(CEREMONY_CONTEXT_STRING + tag)
    for part in parts:
        h.update(len(part).to_bytes(4, "big"))
        h.update(part)
    return h.digest()
