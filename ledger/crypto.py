"""Keys and signatures on secp256k1: the hot path, through libsecp256k1 (coincurve).

The ledger's signature rule (docs/spec/transactions.md):

- A signed thing is reduced to a 32-byte digest
  ``SHA-256(encode([domain_tag, chain_id, payload]))`` (``signing_digest``),
  so every signature is bound to its message kind and to one chain.
- Signatures are ECDSA, 64-byte compact ``r || s`` (big-endian), with
  ``1 <= r, s < n`` and low S (``s <= n/2``); a high-S signature is invalid
  (malleability). Public keys are 33-byte compressed points.
- BIP-340 Schnorr verification over 32-byte x-only keys is offered for
  threshold keys.

``ledger.crypto_reference`` implements the same functions on python-ecdsa;
the tests run every external vector through both and require the same
answer.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Final

from coincurve import PrivateKey, PublicKey, PublicKeyXOnly
from coincurve._libsecp256k1 import ffi, lib
from coincurve.context import GLOBAL_CONTEXT

from ledger import codec

CURVE_ORDER: Final = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
HALF_ORDER: Final = CURVE_ORDER // 2
PUBLIC_KEY_SIZE: Final = 33
SIGNATURE_SIZE: Final = 64
DIGEST_SIZE: Final = 32

_CTX = GLOBAL_CONTEXT.ctx


class CryptoError(ValueError):
    """Raised for malformed keys or signatures (wrong size, not on the curve)."""


def sha256(data: bytes) -> bytes:
    """SHA-256 of ``data``."""
    return hashlib.sha256(data).digest()


def signing_digest(domain_tag: str, chain_id: str, payload: codec.Value) -> bytes:
    """The 32-byte digest a signature covers: SHA-256 of the canonical
    encoding of ``[domain_tag, chain_id, payload]``.

    Raises CodecError if ``payload`` cannot be encoded.
    """
    return sha256(codec.encode((domain_tag, chain_id, payload)))


class SigningKey:
    """A secp256k1 private key that signs digests with low-S compact ECDSA."""

    __slots__ = ("_key", "public_key")

    def __init__(self, secret: bytes) -> None:
        """Raises CryptoError unless ``secret`` is 32 bytes in [1, n-1]."""
        if len(secret) != 32 or not 0 < int.from_bytes(secret, "big") < CURVE_ORDER:
            raise CryptoError("a private key is 32 bytes in [1, n-1]")
        self._key = PrivateKey(secret)
        self.public_key: bytes = self._key.public_key.format(compressed=True)

    @classmethod
    def generate(cls) -> SigningKey:
        """A new key from the operating system's CSPRNG."""
        return cls(PrivateKey().secret)

    @property
    def secret(self) -> bytes:
        """The 32-byte secret scalar (handle with care)."""
        return bytes(self._key.secret)

    def sign_digest(self, digest: bytes) -> bytes:
        """Sign a 32-byte digest; returns a 64-byte compact low-S signature
        (RFC 6979 deterministic nonce, as libsecp256k1 does by default)."""
        if len(digest) != DIGEST_SIZE:
            raise CryptoError("a digest is 32 bytes")
        # sign_recoverable yields r || s || recid with s already normalized to low S.
        return bytes(self._key.sign_recoverable(digest, hasher=None)[:SIGNATURE_SIZE])

    def sign(self, domain_tag: str, chain_id: str, payload: codec.Value) -> bytes:
        """Sign ``payload`` under a domain tag and chain id (see signing_digest)."""
        return self.sign_digest(signing_digest(domain_tag, chain_id, payload))


@lru_cache(maxsize=65536)
def _parsed_public_key(public_key: bytes) -> PublicKey:
    return PublicKey(public_key)


def forget_parsed_keys() -> None:
    """Empty the cache of parsed public keys (benchmarks start cold with it)."""
    _parsed_public_key.cache_clear()


def validate_public_key(public_key: bytes) -> None:
    """Raises CryptoError unless ``public_key`` is a 33-byte compressed point on the curve."""
    if len(public_key) != PUBLIC_KEY_SIZE or public_key[0] not in (2, 3):
        raise CryptoError("a public key is 33 bytes, compressed (0x02 or 0x03 prefix)")
    try:
        _parsed_public_key(public_key)
    except ValueError as exc:
        raise CryptoError("public key is not a point on secp256k1") from exc


def verify_digest(public_key: bytes, digest: bytes, signature: bytes) -> bool:
    """True iff ``signature`` is a valid low-S compact ECDSA signature of the
    32-byte ``digest`` under the compressed ``public_key``. Malformed inputs
    (wrong sizes, r or s out of range, key not on the curve) give False."""
    if (
        len(signature) != SIGNATURE_SIZE
        or len(digest) != DIGEST_SIZE
        or len(public_key) != PUBLIC_KEY_SIZE
        or public_key[0] not in (2, 3)
    ):
        return False
    try:
        key = _parsed_public_key(public_key)
    except ValueError:
        return False
    parsed = ffi.new("secp256k1_ecdsa_signature *")
    if not lib.secp256k1_ecdsa_signature_parse_compact(_CTX, parsed, signature):
        return False  # r or s >= n
    # libsecp256k1 verification rejects high-S signatures (they are not normalized).
    return bool(lib.secp256k1_ecdsa_verify(_CTX, parsed, digest, key.public_key))


def verify(
    public_key: bytes, domain_tag: str, chain_id: str, payload: codec.Value, signature: bytes
) -> bool:
    """verify_digest over signing_digest(domain_tag, chain_id, payload)."""
    return verify_digest(public_key, signing_digest(domain_tag, chain_id, payload), signature)


def is_low_s(signature: bytes) -> bool:
    """True iff the S half of a 64-byte compact signature is at most n/2."""
    return 0 < int.from_bytes(signature[32:64], "big") <= HALF_ORDER


def normalize_s(signature: bytes) -> bytes:
    """The low-S twin of a compact signature (n - s when s is high)."""
    s = int.from_bytes(signature[32:64], "big")
    if s > HALF_ORDER:
        s = CURVE_ORDER - s
    return signature[:32] + s.to_bytes(32, "big")


def verify_schnorr(x_only_public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True iff ``signature`` is a valid BIP-340 signature of ``message``
    (any length) under the 32-byte x-only public key. Malformed inputs give False."""
    if len(x_only_public_key) != 32 or len(signature) != 64:
        return False
    try:
        key = PublicKeyXOnly(x_only_public_key)
    except ValueError:
        return False
    return bool(key.verify(signature, message))


def sign_schnorr(secret: bytes, message: bytes, aux_randomness: bytes) -> bytes:
    """BIP-340 signature of ``message`` with a 32-byte secret and 32 bytes of
    auxiliary randomness. Raises CryptoError for an invalid secret."""
    if len(secret) != 32 or not 0 < int.from_bytes(secret, "big") < CURVE_ORDER:
        raise CryptoError("a private key is 32 bytes in [1, n-1]")
    if len(aux_randomness) != 32:
        raise CryptoError("BIP-340 auxiliary randomness is 32 bytes")
    keypair = ffi.new("secp256k1_keypair *")
    if not lib.secp256k1_keypair_create(_CTX, keypair, secret):
        raise CryptoError("invalid private key")
    extra = ffi.new("secp256k1_schnorrsig_extraparams *")
    extra.magic = bytes((0xDA, 0x6F, 0xB3, 0x8C))  # SECP256K1_SCHNORRSIG_EXTRAPARAMS_MAGIC
    extra.noncefp = ffi.NULL
    extra.ndata = ffi.new("unsigned char[32]", aux_randomness)
    signature = ffi.new("unsigned char[64]")
    if not lib.secp256k1_schnorrsig_sign_custom(
        _CTX, signature, message, len(message), keypair, extra
    ):
        raise CryptoError("BIP-340 signing failed")
    return bytes(ffi.buffer(signature, 64))


def verify_digest_any_s(public_key: bytes, digest: bytes, signature: bytes) -> bool:
    """Textbook ECDSA (either S accepted) for interoperability with non-ledger
    signers; the public key may be compressed or uncompressed. Never used for
    ledger signatures, which must be low S (verify_digest)."""
    if len(signature) != SIGNATURE_SIZE or len(digest) != DIGEST_SIZE:
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < CURVE_ORDER and 0 < s < CURVE_ORDER):
        return False
    try:
        compressed = PublicKey(public_key).format(compressed=True)
    except ValueError:
        return False
    return verify_digest(compressed, digest, normalize_s(signature))
