"""What crosses the network in a ceremony: canonical encodings of the DKG and
resharing messages, and the encryption of secret shares to their receiver.

Every message is a canonical msgpack array (ledger.codec); decoding is
strict and raises ``InvalidEncoding`` for anything that is not the one
canonical encoding of a well-formed message (wrong shape, wrong sizes,
out-of-range scalars or identifiers, points not on the curve). Formats, with
``id`` a member identifier (a msgpack integer in [1, 2^32)), ``P`` a 33-byte
compressed point, ``s`` a 32-byte big-endian scalar below the group order:

    round-1 package   [id, [P, ...], P_R || s_mu]            (proof: 65 bytes)
    reshare package   [id, [P, ...]]
    complaint         [accuser id, dealer id]
    justification     [dealer id, accuser id, s]
    confirmation      [id, transcript hash (32 bytes), P_R || s_mu]
    encrypted share   [dealer id, receiver id, nonce (12 bytes), ciphertext (48 bytes)]
    public key pkg    [P_group, threshold, [[id, P], ...] ascending ids]
    commitment list   [98-byte RFC 9591 signing commitment, ...] ascending ids

Secret shares travel encrypted and authenticated to their receiver:
AES-256-GCM under ``HKDF-SHA256(ECDH(dealer key, receiver key))`` with the
session context as salt and both public keys, both identifiers and a tag
as info, and the same binding as associated data. So a ciphertext opens
only for that receiver, from that dealer, in that session: a share cannot be
replayed into another ceremony or redirected to another member.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from coincurve import PrivateKey
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger import codec
from ledger.threshold.ceremony import Complaint, Confirmation, Justification, SecretShare
from ledger.threshold.dkg import DkgRound1Package
from ledger.threshold.errors import InvalidEncoding
from ledger.threshold.frost import (
    COMMITMENT_SIZE,
    SigningCommitment,
    decode_signing_commitment,
    encode_signing_commitment,
)
from ledger.threshold.group import (
    ELEMENT_SIZE,
    SCALAR_SIZE,
    Point,
    decode_element,
    decode_scalar,
    encode_element,
    encode_scalar,
)
from ledger.threshold.keys import PublicKeyPackage
from ledger.threshold.proofs import ProofOfKnowledge
from ledger.threshold.reshare import ResharePackage

MAX_IDENTIFIER: Final = (1 << 32) - 1
MAX_MEMBERS: Final = 256
MAX_MESSAGE_SIZE: Final = 256 * 1024
PROOF_SIZE: Final = ELEMENT_SIZE + SCALAR_SIZE
SHARE_NONCE_SIZE: Final = 12
SHARE_CIPHERTEXT_SIZE: Final = SCALAR_SIZE + 16
TRANSCRIPT_SIZE: Final = 32
_SHARE_INFO: Final = b"ledger/threshold/share/v1"


# -- helpers -------------------------------------------------------------------


def _decode(data: bytes, what: str, length: int) -> tuple[Any, ...]:
    if not isinstance(data, bytes):
        raise InvalidEncoding(f"a {what} is bytes")
    try:
        value = codec.decode(data, max_size=MAX_MESSAGE_SIZE)
    except codec.CodecError as exc:
        raise InvalidEncoding(f"{what}: {exc}") from exc
    if not isinstance(value, tuple) or len(value) != length:
        raise InvalidEncoding(f"a {what} is an array of {length}")
    return value


def _identifier(value: object, what: str) -> int:
    if type(value) is not int or not 1 <= value <= MAX_IDENTIFIER:
        raise InvalidEncoding(f"{what} must be an identifier in [1, 2^32)")
    return value


def _bytes(value: object, what: str, size: int) -> bytes:
    if not isinstance(value, bytes) or len(value) != size:
        raise InvalidEncoding(f"{what} must be {size} bytes")
    return value


def _element(value: object, what: str) -> Point:
    return decode_element(_bytes(value, what, ELEMENT_SIZE))


def _points(value: object, what: str) -> tuple[Point, ...]:
    if not isinstance(value, tuple) or not 1 <= len(value) <= MAX_MEMBERS:
        raise InvalidEncoding(f"{what} must be an array of 1-{MAX_MEMBERS} points")
    return tuple(_element(p, what) for p in value)


def encode_proof(proof: ProofOfKnowledge) -> bytes:
    """R || mu, 65 bytes."""
    return encode_element(proof.commitment) + encode_scalar(proof.response)


def decode_proof(value: object) -> ProofOfKnowledge:
    """A 65-byte proof. Raises InvalidEncoding."""
    data = _bytes(value, "a proof", PROOF_SIZE)
    return ProofOfKnowledge(decode_element(data[:ELEMENT_SIZE]), decode_scalar(data[ELEMENT_SIZE:]))


# -- DKG and resharing ---------------------------------------------------------


def encode_round1_package(package: DkgRound1Package) -> bytes:
    return codec.encode(
        (
            package.sender,
            tuple(encode_element(c) for c in package.commitment),
            encode_proof(package.proof),
        )
    )


def decode_round1_package(data: bytes) -> DkgRound1Package:
    """Raises InvalidEncoding."""
    sender, commitment, proof = _decode(data, "round-1 package", 3)
    return DkgRound1Package(
        _identifier(sender, "sender"), _points(commitment, "commitment"), decode_proof(proof)
    )


def encode_reshare_package(package: ResharePackage) -> bytes:
    return codec.encode((package.sender, tuple(encode_element(c) for c in package.commitment)))


def decode_reshare_package(data: bytes) -> ResharePackage:
    """Raises InvalidEncoding."""
    sender, commitment = _decode(data, "reshare package", 2)
    return ResharePackage(_identifier(sender, "sender"), _points(commitment, "commitment"))


def encode_complaint(complaint: Complaint) -> bytes:
    return codec.encode((complaint.accuser, complaint.dealer))


def decode_complaint(data: bytes) -> Complaint:
    """Raises InvalidEncoding."""
    accuser, dealer = _decode(data, "complaint", 2)
    return Complaint(_identifier(accuser, "accuser"), _identifier(dealer, "dealer"))


def encode_justification(justification: Justification) -> bytes:
    return codec.encode(
        (justification.dealer, justification.accuser, encode_scalar(justification.value))
    )


def decode_justification(data: bytes) -> Justification:
    """Raises InvalidEncoding."""
    dealer, accuser, value = _decode(data, "justification", 3)
    return Justification(
        _identifier(dealer, "dealer"),
        _identifier(accuser, "accuser"),
        decode_scalar(_bytes(value, "value", SCALAR_SIZE)),
    )


def encode_confirmation(confirmation: Confirmation) -> bytes:
    return codec.encode(
        (confirmation.sender, confirmation.transcript_hash, encode_proof(confirmation.proof))
    )


def decode_confirmation(data: bytes) -> Confirmation:
    """Raises InvalidEncoding."""
    sender, transcript, proof = _decode(data, "confirmation", 3)
    return Confirmation(
        _identifier(sender, "sender"),
        _bytes(transcript, "transcript hash", TRANSCRIPT_SIZE),
        decode_proof(proof),
    )


def encode_public_key_package(public: PublicKeyPackage) -> bytes:
    """The group's public data: what a validator reports on chain after a DKG
    or resharing."""
    shares = tuple(
        (member, encode_element(public.verification_share(member))) for member in public.members
    )
    return codec.encode((encode_element(public.group_public_key), public.threshold, shares))


def decode_public_key_package(data: bytes) -> PublicKeyPackage:
    """Raises InvalidEncoding (also for ids out of order or a bad threshold)."""
    group_key, threshold, shares = _decode(data, "public key package", 3)
    if not isinstance(shares, tuple) or not 1 <= len(shares) <= MAX_MEMBERS:
        raise InvalidEncoding(f"verification shares must be an array of 1-{MAX_MEMBERS}")
    entries: list[tuple[int, Point]] = []
    for entry in shares:
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise InvalidEncoding("a verification share is [id, point]")
        entries.append((_identifier(entry[0], "member"), _element(entry[1], "verification share")))
    ids = [i for i, _ in entries]
    if ids != sorted(set(ids)):
        raise InvalidEncoding("verification shares must be in ascending, distinct id order")
    if type(threshold) is not int or not 1 <= threshold <= len(entries):
        raise InvalidEncoding("threshold must be in [1, members]")
    return PublicKeyPackage(_element(group_key, "group key"), threshold, dict(entries))


def encode_commitment_list(commitments: Sequence[SigningCommitment]) -> bytes:
    """The signing commitments a coordinator chose, in identifier order."""
    return codec.encode(tuple(encode_signing_commitment(c) for c in commitments))


def decode_commitment_list(data: bytes) -> tuple[SigningCommitment, ...]:
    """Raises InvalidEncoding (also for unsorted or repeated identifiers)."""
    if not isinstance(data, bytes):
        raise InvalidEncoding("a commitment list is bytes")
    try:
        value = codec.decode(data, max_size=MAX_MESSAGE_SIZE)
    except codec.CodecError as exc:
        raise InvalidEncoding(f"commitment list: {exc}") from exc
    if not isinstance(value, tuple) or not 1 <= len(value) <= MAX_MEMBERS:
        raise InvalidEncoding(f"a commitment list is an array of 1-{MAX_MEMBERS}")
    commitments = tuple(
        decode_signing_commitment(_bytes(c, "signing commitment", COMMITMENT_SIZE)) for c in value
    )
    ids = [c.identifier for c in commitments]
    if ids != sorted(set(ids)):
        raise InvalidEncoding("commitments must be in ascending, distinct identifier order")
    return commitments


# -- share encryption ----------------------------------------------------------


@dataclass(frozen=True)
class EncryptedShare:
    """A SecretShare sealed for its receiver."""

    dealer: int
    receiver: int
    nonce: bytes
    ciphertext: bytes


def encode_encrypted_share(share: EncryptedShare) -> bytes:
    return codec.encode((share.dealer, share.receiver, share.nonce, share.ciphertext))


def decode_encrypted_share(data: bytes) -> EncryptedShare:
    """Raises InvalidEncoding."""
    dealer, receiver, nonce, ciphertext = _decode(data, "encrypted share", 4)
    return EncryptedShare(
        _identifier(dealer, "dealer"),
        _identifier(receiver, "receiver"),
        _bytes(nonce, "nonce", SHARE_NONCE_SIZE),
        _bytes(ciphertext, "ciphertext", SHARE_CIPHERTEXT_SIZE),
    )


def _share_binding(
    session_context: bytes,
    dealer: int,
    receiver: int,
    dealer_public: bytes,
    receiver_public: bytes,
) -> bytes:
    return codec.encode(
        (_SHARE_INFO, session_context, dealer, receiver, dealer_public, receiver_public)
    )


def _share_key(
    my_secret: bytes, their_public: bytes, session_context: bytes, binding: bytes
) -> bytes:
    try:
        shared = PrivateKey(my_secret).ecdh(their_public)
    except ValueError as exc:
        raise InvalidEncoding(f"not a public key: {exc}") from exc
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=session_context, info=binding)
    return hkdf.derive(shared)


def encrypt_share(
    share: SecretShare,
    session_context: bytes,
    dealer_secret: bytes,
    dealer_public: bytes,
    receiver_public: bytes,
    nonce: bytes,
) -> EncryptedShare:
    """Seal ``share`` for ``receiver_public`` (the receiver's validator key)
    with the dealer's validator secret. ``nonce`` is 12 fresh random bytes.

    Raises InvalidEncoding for a bad public key or nonce size.
    """
    if len(nonce) != SHARE_NONCE_SIZE:
        raise InvalidEncoding(f"the nonce is {SHARE_NONCE_SIZE} bytes")
    binding = _share_binding(
        session_context, share.dealer, share.receiver, dealer_public, receiver_public
    )
    key = _share_key(dealer_secret, receiver_public, session_context, binding)
    ciphertext = AESGCM(key).encrypt(nonce, encode_scalar(share.value), binding)
    return EncryptedShare(share.dealer, share.receiver, nonce, ciphertext)


def decrypt_share(
    sealed: EncryptedShare,
    session_context: bytes,
    receiver_secret: bytes,
    receiver_public: bytes,
    dealer_public: bytes,
) -> SecretShare:
    """Open a share sealed for this receiver.

    Raises InvalidEncoding if it does not open (wrong key, session, dealer,
    receiver or a modified ciphertext) or holds an out-of-range scalar; the
    caller then treats the share as missing and complains.
    """
    binding = _share_binding(
        session_context, sealed.dealer, sealed.receiver, dealer_public, receiver_public
    )
    key = _share_key(receiver_secret, dealer_public, session_context, binding)
    try:
        plain = AESGCM(key).decrypt(sealed.nonce, sealed.ciphertext, binding)
    except InvalidTag:
        raise InvalidEncoding("the share does not open for this receiver and session") from None
    return SecretShare(sealed.dealer, sealed.receiver, decode_scalar(plain))
