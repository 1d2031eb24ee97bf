"""The p2p handshake messages: who a peer is, proven by signing a fresh challenge.

Pure functions (no I/O); consensus.node.p2p runs them over a WebSocket. Both
sides send a HELLO at once, then an AUTH::

    HELLO = encode(["ledger/p2p-hello/v1", version, chain_id, public_key, challenge])
    AUTH  = encode(["ledger/p2p-auth/v1", signature])

``challenge`` is 32 fresh random bytes. The signature is the node key's
(ledger.crypto) over ``signing_digest("ledger/p2p-handshake/v1", chain_id,
[own public key, the peer's challenge, own challenge])``: fresh for this
connection (the peer's challenge), bound to the chain, and never valid in
the other direction (the key comes first). The byte-exact rules are in
docs/spec/p2p.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ledger import codec, crypto
from ledger.crypto import PUBLIC_KEY_SIZE, SIGNATURE_SIZE, SigningKey

PROTOCOL_VERSION: Final = 1
HELLO_TAG: Final = "ledger/p2p-hello/v1"
AUTH_TAG: Final = "ledger/p2p-auth/v1"
HANDSHAKE_DOMAIN: Final = "ledger/p2p-handshake/v1"
CHALLENGE_SIZE: Final = 32
MAX_HANDSHAKE_MESSAGE: Final = 512


class HandshakeError(Exception):
    """The peer's handshake message is malformed or does not prove its identity."""


class WrongChain(HandshakeError):
    """The peer runs another chain."""


@dataclass(frozen=True, slots=True)
class Hello:
    version: int
    chain_id: str
    public_key: bytes
    challenge: bytes


def encode_hello(hello: Hello) -> bytes:
    return codec.encode(
        (HELLO_TAG, hello.version, hello.chain_id, hello.public_key, hello.challenge)
    )


def decode_hello(data: bytes, chain_id: str) -> Hello:
    """A peer's HELLO, checked: our version, our chain, a valid key, a
    challenge of the right size. Raises WrongChain or HandshakeError."""
    value = _decode(data)
    if not (isinstance(value, tuple) and len(value) == 5 and value[0] == HELLO_TAG):
        raise HandshakeError("expected a hello message")
    _, version, peer_chain, public_key, challenge = value
    if version != PROTOCOL_VERSION or type(version) is not int:
        raise HandshakeError(f"unsupported protocol version {version!r}")
    if not isinstance(peer_chain, str) or peer_chain != chain_id:
        raise WrongChain(f"peer is on chain {peer_chain!r}, this node on {chain_id!r}")
    if not isinstance(public_key, bytes) or len(public_key) != PUBLIC_KEY_SIZE:
        raise HandshakeError("hello public key must be 33 bytes")
    try:
        crypto.validate_public_key(public_key)
    except crypto.CryptoError as exc:
        raise HandshakeError(f"hello public key: {exc}") from exc
    if not isinstance(challenge, bytes) or len(challenge) != CHALLENGE_SIZE:
        raise HandshakeError(f"hello challenge must be {CHALLENGE_SIZE} bytes")
    return Hello(version, peer_chain, public_key, challenge)


def auth_payload(
    signer_public_key: bytes, verifier_challenge: bytes, signer_challenge: bytes
) -> tuple[bytes, bytes, bytes]:
    """What a signer signs: its key, the challenge it received, the one it sent."""
    return (signer_public_key, verifier_challenge, signer_challenge)


def sign_auth(key: SigningKey, chain_id: str, own_challenge: bytes, peer_challenge: bytes) -> bytes:
    """Our AUTH message, answering the peer's challenge."""
    signature = key.sign(
        HANDSHAKE_DOMAIN, chain_id, auth_payload(key.public_key, peer_challenge, own_challenge)
    )
    return codec.encode((AUTH_TAG, signature))


def verify_auth(data: bytes, peer: Hello, chain_id: str, own_challenge: bytes) -> None:
    """Check the peer's AUTH against its HELLO and our challenge. Raises HandshakeError."""
    value = _decode(data)
    if not (isinstance(value, tuple) and len(value) == 2 and value[0] == AUTH_TAG):
        raise HandshakeError("expected an auth message")
    signature = value[1]
    if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
        raise HandshakeError(f"auth signature must be {SIGNATURE_SIZE} bytes")
    payload = auth_payload(peer.public_key, own_challenge, peer.challenge)
    if not crypto.verify(peer.public_key, HANDSHAKE_DOMAIN, chain_id, payload, signature):
        raise HandshakeError("handshake signature does not verify")


def _decode(data: bytes) -> codec.Value:
    try:
        return codec.decode(data, max_size=MAX_HANDSHAKE_MESSAGE)
    except codec.CodecError as exc:
        raise HandshakeError(f"undecodable handshake message: {exc}") from exc
