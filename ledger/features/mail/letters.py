"""Letters: what a cell carries, sealed end-to-end to the recipient.

A letter is the recipient's address and a sealed payload that only the
recipient's secp256k1 key opens. The mix decrypts the outer layer (ElGamal
to the validators' mail key) and delivers (recipient, sealed) to the
recipient's mailbox; the payload stays sealed. Every letter of a given cell
width has the same size: the message is padded with zeros inside the seal.

Layout of a cell of width W (31 * W bytes; docs/spec/mail.md):

    version (1) = 1 || recipient address (20)                     header
    ephemeral public key (33, compressed)                         sealed ...
    AES-256-GCM(length (2) || message || zero padding) || tag (16)

The seal: e = a fresh ephemeral secret, E = e*G, S = libsecp256k1's ECDH of
e and the recipient key (SHA-256 of the compressed point e * key, computed
in constant time); key (32) || nonce (12) = HKDF-SHA256(S, salt = empty,
info = "ledger/mail/letter/v1" || E || recipient key, 44 bytes); the header
is the associated data. A fresh ephemeral key per letter means a key and
nonce are never reused; the header as associated data means a letter opens
only under the address it names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from coincurve import PrivateKey, PublicKey
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.address import address_of
from ledger.features.mail.embedding import embed_bytes, extract_bytes
from ledger.features.mail.errors import InvalidLetter, InvalidParameters, UnreadableLetter
from ledger.features.mail.params import (
    ADDRESS_SIZE,
    CHUNK_SIZE,
    EPHEMERAL_KEY_SIZE,
    LENGTH_PREFIX_SIZE,
    LETTER_VERSION,
    cell_bytes,
    check_width,
    message_capacity,
)
from ledger.features.mail.transcript import random_scalar
from ledger.threshold.group import Point, RandomBytes

_SEAL_INFO: Final = b"ledger/mail/letter/v1"
_HEADER_SIZE: Final = 1 + ADDRESS_SIZE


@dataclass(frozen=True)
class Letter:
    """A recipient's address (20 bytes) and the payload sealed to its key.

    ``sealed`` is the ephemeral key followed by the AEAD ciphertext; its
    length fixes the cell width (31 * W - 21 bytes).
    """

    recipient: bytes
    sealed: bytes

    @property
    def width(self) -> int:
        """The cell width this letter fills."""
        return (_HEADER_SIZE + len(self.sealed)) // CHUNK_SIZE


def _header(recipient: bytes) -> bytes:
    return bytes([LETTER_VERSION]) + recipient


def _seal_key(shared: bytes, ephemeral: bytes, recipient_key: bytes) -> tuple[bytes, bytes]:
    okm = HKDF(
        algorithm=hashes.SHA256(), length=44, salt=None, info=_SEAL_INFO + ephemeral + recipient_key
    ).derive(shared)
    return okm[:32], okm[32:]


def _shared_secret(public: bytes, secret: bytes) -> bytes:
    """libsecp256k1's ECDH (constant time): SHA-256 of the compressed shared point."""
    shared: bytes = PrivateKey(secret).ecdh(public)
    return shared


def _check_public_key(public_key: bytes) -> bytes:
    try:
        PublicKey(bytes(public_key))
    except (ValueError, TypeError):
        raise InvalidParameters("recipient key is not a compressed secp256k1 point") from None
    if len(public_key) != EPHEMERAL_KEY_SIZE:
        raise InvalidParameters("recipient key is not a compressed secp256k1 point")
    return bytes(public_key)


def seal_letter(recipient_key: bytes, message: bytes, width: int, rng: RandomBytes) -> Letter:
    """Seal message to the 33-byte recipient key, in a letter for cells of width W.

    Raises InvalidParameters for a bad width or key, InvalidLetter if the
    message is longer than message_capacity(width), InvalidRandomness if rng
    misbehaves.
    """
    check_width(width)
    recipient_key = _check_public_key(recipient_key)
    if len(message) > message_capacity(width):
        raise InvalidLetter(
            f"a message of {len(message)} bytes does not fit a cell of width {width} "
            f"(at most {message_capacity(width)})"
        )
    secret = random_scalar(rng)
    ephemeral = PublicKey.from_valid_secret(secret.to_bytes(32, "big")).format(compressed=True)
    shared = _shared_secret(recipient_key, secret.to_bytes(32, "big"))
    key, nonce = _seal_key(shared, ephemeral, recipient_key)
    recipient = address_of(recipient_key)
    padding = bytes(message_capacity(width) - len(message))
    body = len(message).to_bytes(LENGTH_PREFIX_SIZE, "big") + message + padding
    ciphertext = AESGCM(key).encrypt(nonce, body, _header(recipient))
    return Letter(recipient, ephemeral + ciphertext)


def open_letter(letter: Letter, recipient_secret: bytes) -> bytes:
    """The message of a letter, opened with the recipient's 32-byte secret key.

    Raises UnreadableLetter if the letter is not for this key or was changed,
    InvalidLetter if it opens but its padding is not canonical,
    InvalidParameters for a secret key that is not one.
    """
    try:
        own = PrivateKey(bytes(recipient_secret))
    except (ValueError, TypeError):
        raise InvalidParameters("not a secp256k1 secret key") from None
    own_key = own.public_key.format(compressed=True)
    if letter.recipient != address_of(own_key):
        raise UnreadableLetter("the letter is addressed to someone else")
    ephemeral = letter.sealed[:EPHEMERAL_KEY_SIZE]
    try:
        shared = _shared_secret(ephemeral, own.secret)
    except ValueError:
        raise UnreadableLetter("the letter's ephemeral key is not a point") from None
    key, nonce = _seal_key(shared, ephemeral, own_key)
    try:
        body = AESGCM(key).decrypt(
            nonce, letter.sealed[EPHEMERAL_KEY_SIZE:], _header(letter.recipient)
        )
    except InvalidTag:
        raise UnreadableLetter("the letter does not open with this key") from None
    length = int.from_bytes(body[:LENGTH_PREFIX_SIZE], "big")
    message = body[LENGTH_PREFIX_SIZE : LENGTH_PREFIX_SIZE + length]
    if len(message) != length or any(body[LENGTH_PREFIX_SIZE + length :]):
        raise InvalidLetter("the sealed body's length or padding is not canonical")
    return message


def encode_letter(letter: Letter) -> bytes:
    """The letter's 31 * W cell bytes: header, then sealed payload.

    Raises InvalidLetter for a recipient that is not 20 bytes or a sealed
    payload that does not fill a cell of a valid width.
    """
    if len(letter.recipient) != ADDRESS_SIZE:
        raise InvalidLetter("a recipient address is 20 bytes")
    data = _header(letter.recipient) + letter.sealed
    if len(data) % CHUNK_SIZE:
        raise InvalidLetter("a letter fills a whole number of 31-byte chunks")
    try:
        check_width(len(data) // CHUNK_SIZE)
    except InvalidParameters as e:
        raise InvalidLetter(str(e)) from None
    return data


def decode_letter(data: bytes, width: int) -> Letter:
    """The letter in cell bytes of width W. Raises InvalidLetter for another
    length or version (InvalidParameters for a bad width)."""
    if len(data) != cell_bytes(width):
        raise InvalidLetter(f"a letter of width {width} is {cell_bytes(width)} bytes")
    if data[0] != LETTER_VERSION:
        raise InvalidLetter(f"unknown letter version {data[0]}")
    return Letter(bytes(data[1:_HEADER_SIZE]), bytes(data[_HEADER_SIZE:]))


def letter_to_points(letter: Letter) -> tuple[Point, ...]:
    """The W points a letter is embedded in. Raises InvalidLetter as encode_letter."""
    return embed_bytes(encode_letter(letter))


def letter_from_points(points: tuple[Point, ...]) -> Letter:
    """The letter W decrypted points carry.

    Raises InvalidLetter if any point is not an embedded chunk, the version
    is unknown or the width is not a valid cell width: the mix then cannot
    deliver it.
    """
    try:
        width = check_width(len(points))
    except InvalidParameters as e:
        raise InvalidLetter(str(e)) from None
    return decode_letter(extract_bytes(points), width)
