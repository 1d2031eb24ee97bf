"""The p2p handshake and the encrypted session after it (docs/adr/0018).

Pure functions and small objects (no I/O); consensus.node.p2p runs them over
a WebSocket. A station-to-station exchange in the manner of CometBFT's
SecretConnection, built from ``cryptography``'s X25519, HKDF-SHA256 and
ChaCha20-Poly1305 and the node keys' secp256k1 signatures::

    HELLO = encode(["ledger/p2p-hello/v2", 2, chain_id, node_public_key, ephemeral_x25519])
    AUTH  = encode(["ledger/p2p-auth/v2", signature, validator_key, validator_signature])

(``validator_key`` and ``validator_signature`` are empty byte strings for a
node that is no validator.)

1. Both sides send a HELLO at once, each with a fresh X25519 key.
2. Each computes the X25519 shared secret and the transcript hash
   ``T = SHA-256(encode(["ledger/p2p-transcript/v2", dialer HELLO, listener HELLO]))``
   and derives two 32-byte keys with HKDF-SHA256 (salt T, info
   ``ledger/p2p-session/v2``): the first for frames from the dialer, the
   second for frames from the listener.
3. Each sends its AUTH as the first encrypted frame: the node key's
   signature over ``signing_digest("ledger/p2p-handshake/v2", chain_id,
   [own node key, T])`` and, for a validator, its validator key and that
   key's signature over ``signing_digest("ledger/p2p-validator/v1",
   chain_id, [own node key, T])``.

Every later frame is ``ChaCha20-Poly1305(key, nonce = 4 zero bytes ||
counter as 8 bytes little-endian, frame)``, the counter counting the frames
sent in that direction from 0 (the AUTH is frame 0).

Why this holds: T covers both fresh ephemeral keys, so a signature is valid
for this connection only; an on-path attacker who swaps an ephemeral key
gets a different T on each side and cannot produce the AUTH the other side
expects; the session keys come from the ephemeral secrets (forward
secrecy: the node keys never encrypt); each signer's own key comes first in
what it signs, so an AUTH is never valid reflected back. The validator
signature binds the validator key to this node key and this connection, so
a peer can tell a validator's node whatever node key it uses. The byte-exact
rules are in docs/spec/p2p.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger import codec, crypto
from ledger.crypto import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, SigningKey

PROTOCOL_VERSION: Final = 2
HELLO_TAG: Final = "ledger/p2p-hello/v2"
AUTH_TAG: Final = "ledger/p2p-auth/v2"
TRANSCRIPT_TAG: Final = "ledger/p2p-transcript/v2"
HANDSHAKE_DOMAIN: Final = "ledger/p2p-handshake/v2"
VALIDATOR_DOMAIN: Final = "ledger/p2p-validator/v1"
SESSION_INFO: Final = b"ledger/p2p-session/v2"
EPHEMERAL_KEY_SIZE: Final = 32
MAX_HANDSHAKE_MESSAGE: Final = 512
TAG_SIZE: Final = 16  # what sealing adds to a frame
_MAX_COUNTER: Final = (1 << 64) - 1


class HandshakeError(Exception):
    """The peer's handshake message is malformed or does not prove its identity."""


class WrongChain(HandshakeError):
    """The peer runs another chain."""


class FrameAuthenticationError(Exception):
    """A frame that does not decrypt under the session key: altered, injected,
    replayed or reordered on the way (or a broken peer; nobody can tell which)."""


@dataclass(frozen=True, slots=True)
class Hello:
    version: int
    chain_id: str
    public_key: bytes  # the node key (secp256k1, compressed)
    ephemeral: bytes  # this connection's X25519 public key


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """What both sides derive from the two HELLOs and the shared secret."""

    transcript: bytes
    dialer_key: bytes  # encrypts frames sent by the dialer
    listener_key: bytes  # encrypts frames sent by the listener


def ephemeral_public_key(secret: bytes) -> bytes:
    """The X25519 public key of a 32-byte secret (the caller draws it fresh
    from the operating system for every connection)."""
    return X25519PrivateKey.from_private_bytes(secret).public_key().public_bytes_raw()


def encode_hello(hello: Hello) -> bytes:
    return codec.encode(
        (HELLO_TAG, hello.version, hello.chain_id, hello.public_key, hello.ephemeral)
    )


def decode_hello(data: bytes, chain_id: str) -> Hello:
    """A peer's HELLO, checked: our version, our chain, a valid node key, an
    ephemeral key of the right size. Raises WrongChain or HandshakeError."""
    value = _decode(data)
    if not (isinstance(value, tuple) and len(value) == 5 and value[0] == HELLO_TAG):
        raise HandshakeError("expected a hello message")
    _, version, peer_chain, public_key, ephemeral = value
    if version != PROTOCOL_VERSION or type(version) is not int:
        raise HandshakeError(f"unsupported protocol version {version!r}")
    if not isinstance(peer_chain, str) or peer_chain != chain_id:
        raise WrongChain(f"peer is on chain {peer_chain!r}, this node on {chain_id!r}")
    _check_public_key(public_key, "hello public key")
    if not isinstance(ephemeral, bytes) or len(ephemeral) != EPHEMERAL_KEY_SIZE:
        raise HandshakeError(f"hello ephemeral key must be {EPHEMERAL_KEY_SIZE} bytes")
    return Hello(version, peer_chain, public_key, ephemeral)


def derive_session(
    secret: bytes, peer_ephemeral: bytes, dialer_hello: bytes, listener_hello: bytes
) -> SessionKeys:
    """The session keys, from our ephemeral secret, the peer's ephemeral key
    and both HELLOs exactly as sent. Raises HandshakeError for an ephemeral
    key that gives no shared secret (a low-order point)."""
    try:
        shared = X25519PrivateKey.from_private_bytes(secret).exchange(
            X25519PublicKey.from_public_bytes(peer_ephemeral)
        )
    except ValueError as exc:  # the all-zero shared secret of a low-order point
        raise HandshakeError(f"unusable ephemeral key: {exc}") from exc
    transcript = crypto.sha256(codec.encode((TRANSCRIPT_TAG, dialer_hello, listener_hello)))
    keys = HKDF(
        algorithm=hashes.SHA256(), length=64, salt=transcript, info=SESSION_INFO
    ).derive(shared)
    return SessionKeys(transcript, keys[:32], keys[32:])


def sign_auth(
    key: SigningKey, chain_id: str, transcript: bytes, validator_key: SigningKey | None = None
) -> bytes:
    """Our AUTH for this transcript; a validator also signs with its validator key."""
    signature = key.sign(HANDSHAKE_DOMAIN, chain_id, (key.public_key, transcript))
    validator_public, validator_signature = b"", b""
    if validator_key is not None:
        validator_public = validator_key.public_key
        validator_signature = validator_key.sign(
            VALIDATOR_DOMAIN, chain_id, (key.public_key, transcript)
        )
    return codec.encode((AUTH_TAG, signature, validator_public, validator_signature))


def verify_auth(data: bytes, peer: Hello, chain_id: str, transcript: bytes) -> bytes | None:
    """Check the peer's AUTH against its HELLO and the transcript; the
    validator key it proved, or None. Raises HandshakeError."""
    value = _decode(data)
    if not (isinstance(value, tuple) and len(value) == 4 and value[0] == AUTH_TAG):
        raise HandshakeError("expected an auth message")
    _, signature, validator_public, validator_signature = value
    _check_signature(signature, "auth signature")
    payload = (peer.public_key, transcript)
    if not crypto.verify(peer.public_key, HANDSHAKE_DOMAIN, chain_id, payload, signature):
        raise HandshakeError("handshake signature does not verify")
    if validator_public == b"" and validator_signature == b"":
        return None
    _check_public_key(validator_public, "validator key")
    _check_signature(validator_signature, "validator signature")
    attested = crypto.verify(
        validator_public, VALIDATOR_DOMAIN, chain_id, payload, validator_signature
    )
    if not attested:
        raise HandshakeError("validator signature does not verify")
    return bytes(validator_public)


class FrameCipher:
    """One direction of a session: seals or opens frames in order."""

    def __init__(self, key: bytes) -> None:
        self._aead = ChaCha20Poly1305(key)
        self._counter = 0

    def _next_nonce(self) -> bytes:
        if self._counter > _MAX_COUNTER:
            raise FrameAuthenticationError("the session's frame counter is exhausted")
        nonce = bytes(4) + self._counter.to_bytes(8, "little")
        self._counter += 1
        return nonce

    def seal(self, frame: bytes) -> bytes:
        """The next frame, encrypted and authenticated (TAG_SIZE bytes longer)."""
        return self._aead.encrypt(self._next_nonce(), frame, None)

    def open(self, sealed: bytes) -> bytes:
        """The next frame, decrypted. Raises FrameAuthenticationError (and
        the session is then unusable: the peer must be disconnected)."""
        try:
            return self._aead.decrypt(self._next_nonce(), sealed, None)
        except InvalidTag as exc:
            raise FrameAuthenticationError("a frame failed authentication") from exc


def _check_public_key(value: object, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != PUBLIC_KEY_SIZE:
        raise HandshakeError(f"{what} must be {PUBLIC_KEY_SIZE} bytes")
    try:
        crypto.validate_public_key(value)
    except crypto.CryptoError as exc:
        raise HandshakeError(f"{what}: {exc}") from exc


def _check_signature(value: object, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != SIGNATURE_SIZE:
        raise HandshakeError(f"{what} must be {SIGNATURE_SIZE} bytes")


def _decode(data: bytes) -> codec.Value:
    try:
        return codec.decode(data, max_size=MAX_HANDSHAKE_MESSAGE)
    except codec.CodecError as exc:
        raise HandshakeError(f"undecodable handshake message: {exc}") from exc
