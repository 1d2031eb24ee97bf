"""Strict DER decoding of ECDSA signatures (``SEQUENCE { INTEGER r, INTEGER s }``).

The ledger itself signs in the 64-byte compact form; DER appears only in
external test vectors and interoperability. Any BER leniency (long-form
lengths for short values, leading zero bytes, negative integers, trailing
data) is rejected so that one signature has exactly one encoding.
"""

from __future__ import annotations


class DerError(ValueError):
    """Raised for bytes that are not the strict DER encoding of two positive integers."""


def decode_der_signature(data: bytes) -> tuple[int, int]:
    """Return ``(r, s)`` from a strict DER signature. Raises DerError."""
    if len(data) < 8 or data[0] != 0x30:
        raise DerError("not a DER SEQUENCE")
    body_len, offset = _read_length(data, 1)
    if offset + body_len != len(data):
        raise DerError("SEQUENCE length does not match the input")
    r, offset = _read_integer(data, offset)
    s, offset = _read_integer(data, offset)
    if offset != len(data):
        raise DerError("trailing bytes inside the SEQUENCE")
    return r, s


def encode_der_signature(r: int, s: int) -> bytes:
    """The strict DER encoding of a signature with positive ``r`` and ``s``."""
    body = _encode_integer(r) + _encode_integer(s)
    return b"\x30" + _encode_length(len(body)) + body


def _read_length(data: bytes, offset: int) -> tuple[int, int]:
    if offset >= len(data):
        raise DerError("truncated length")
    first = data[offset]
    if first < 0x80:
        return first, offset + 1
    count = first & 0x7F
    if count == 0 or count > 2 or offset + 1 + count > len(data):
        raise DerError("unsupported or truncated long-form length")
    value = int.from_bytes(data[offset + 1 : offset + 1 + count], "big")
    if value < 0x80 or data[offset + 1] == 0:
        raise DerError("non-minimal length encoding")
    return value, offset + 1 + count


def _read_integer(data: bytes, offset: int) -> tuple[int, int]:
    if offset >= len(data) or data[offset] != 0x02:
        raise DerError("expected an INTEGER")
    length, offset = _read_length(data, offset + 1)
    if length == 0 or offset + length > len(data):
        raise DerError("empty or truncated INTEGER")
    raw = data[offset : offset + length]
    if raw[0] & 0x80:
        raise DerError("negative INTEGER")
    if length > 1 and raw[0] == 0 and not raw[1] & 0x80:
        raise DerError("INTEGER has a superfluous leading zero")
    return int.from_bytes(raw, "big"), offset + length


def _encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _encode_integer(n: int) -> bytes:
    if n <= 0:
        raise DerError("DER signature integers are positive")
    raw = n.to_bytes(n.bit_length() // 8 + 1, "big")  # one spare byte keeps the sign bit clear
    if len(raw) > 1 and raw[0] == 0 and not raw[1] & 0x80:
        raw = raw[1:]
    return b"\x02" + _encode_length(len(raw)) + raw
