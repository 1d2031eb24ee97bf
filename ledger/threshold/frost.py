"""FROST(secp256k1, SHA-256) two-round threshold Schnorr signing, exactly as
RFC 9591.

Round one: each signer calls ``commit`` and keeps the SigningNonces secret
(and must never use them twice: persist them as spent before sending a
share). The coordinator picks at least ``threshold`` commitments, sorted by
identifier, and sends them with the message to those signers. Round two:
each signer calls ``sign``; the coordinator calls ``aggregate``, which checks
every share and names the signers whose shares are invalid. Anyone checks the
result with ``verify_signature``.

The signature is SerializeElement(R) || SerializeScalar(z), 65 bytes; it
verifies when z*G == R + H2(R || PK || msg)*PK.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger.threshold.errors import (
    InvalidCommitment,
    InvalidEncoding,
    InvalidParameters,
    InvalidRandomness,
    InvalidShare,
)
from ledger.threshold.group import (
    ELEMENT_SIZE,
    ORDER,
    SCALAR_SIZE,
    Point,
    RandomBytes,
    base_mul,
    decode_element,
    decode_scalar,
    encode_element,
    encode_scalar,
    point_add,
    point_mul,
    point_sum,
    schnorr_equation_holds,
)
from ledger.threshold.hashing import h1, h2, h3, h4, h5
from ledger.threshold.keys import KeyPackage, PublicKeyPackage
from ledger.threshold.polynomial import check_identifiers, derive_interpolating_value

SIGNATURE_SIZE = ELEMENT_SIZE + SCALAR_SIZE
COMMITMENT_SIZE = SCALAR_SIZE + 2 * ELEMENT_SIZE


@dataclass(frozen=True)
class SigningNonces:
    """A signer's secret nonce pair for one signature. Use once, then destroy."""

    hiding: int = field(repr=False)
    binding: int = field(repr=False)


@dataclass(frozen=True)
class SigningCommitment:
    """A signer's public round-one output: its nonces times G."""

    identifier: int
    hiding: Point
    binding: Point


@dataclass(frozen=True)
class SignatureShare:
    """A signer's round-two output."""

    identifier: int
    share: int


@dataclass(frozen=True)
class Signature:
    """A Schnorr signature (R, z)."""

    commitment: Point
    response: int


# -- Round one ----------------------------------------------------------------


def nonce_generate(secret: int, random_bytes: bytes) -> int:
    """H3(random_bytes || SerializeScalar(secret)) (RFC 9591 §4.1).

    Mixing in the secret keeps nonces unpredictable even if the random
    source is weak. Raises InvalidRandomness unless random_bytes is 32 bytes.
    """
    if len(random_bytes) != 32:
        raise InvalidRandomness("nonce randomness must be 32 bytes")
    return h3(random_bytes + encode_scalar(secret))


def commit(key: KeyPackage, rng: RandomBytes) -> tuple[SigningNonces, SigningCommitment]:
    """Round one (RFC 9591 §5.1): fresh hiding and binding nonces (in that
    order from rng) and their public commitments.

    Raises InvalidRandomness if rng misbehaves.
    """
    hiding = nonce_generate(key.secret_share, rng(32))
    binding = nonce_generate(key.secret_share, rng(32))
    commitment = SigningCommitment(key.identifier, base_mul(hiding), base_mul(binding))
    return SigningNonces(hiding, binding), commitment


# -- Shared computations (RFC 9591 §4) ----------------------------------------


def check_commitment_list(
    commitments: Sequence[SigningCommitment], public: PublicKeyPackage
) -> None:
    """Check a commitment list for signing: at least ``threshold`` entries,
    valid distinct identifiers of group members, sorted ascending, and no
    identity commitment.

    Raises InvalidParameters (too few, duplicate or unknown identifiers) or
    InvalidCommitment (unsorted, identity point) naming the identifiers.
    """
    identifiers = [c.identifier for c in commitments]
    if check_identifiers(identifiers) != tuple(identifiers):
        raise InvalidCommitment("commitment list is not sorted by identifier")
    if len(identifiers) < public.threshold:
        raise InvalidParameters(f"{len(identifiers)} signers, the threshold is {public.threshold}")
    unknown = tuple(i for i in identifiers if i not in public.verification_shares)
    if unknown:
        raise InvalidParameters(f"not members of the group: {unknown}")
    bad = tuple(
        c.identifier for c in commitments if c.hiding.is_identity() or c.binding.is_identity()
    )
    if bad:
        raise InvalidCommitment("identity element in signing commitments", bad)


def encode_group_commitment_list(commitments: Sequence[SigningCommitment]) -> bytes:
    """SerializeScalar(id) || SerializeElement(D) || SerializeElement(E) for
    each entry in order (RFC 9591 §4.3).

    Raises InvalidEncoding for an identity commitment.
    """
    return b"".join(encode_signing_commitment(c) for c in commitments)


def binding_factor_inputs(
    group_public_key: Point, commitments: Sequence[SigningCommitment], message: bytes
) -> dict[int, bytes]:
    """The H1 input of each signer's binding factor (RFC 9591 §4.4):
    PK || H4(msg) || H5(commitment list) || SerializeScalar(id)."""
    prefix = (
        encode_element(group_public_key)
        + h4(message)
        + h5(encode_group_commitment_list(commitments))
    )
    return {c.identifier: prefix + encode_scalar(c.identifier) for c in commitments}


def compute_binding_factors(
    group_public_key: Point, commitments: Sequence[SigningCommitment], message: bytes
) -> dict[int, int]:
    """Each signer's binding factor rho_i (RFC 9591 §4.4)."""
    inputs = binding_factor_inputs(group_public_key, commitments, message)
    return {identifier: h1(data) for identifier, data in inputs.items()}


def compute_group_commitment(
    commitments: Sequence[SigningCommitment], binding_factors: dict[int, int]
) -> Point:
    """R = sum of D_i + rho_i * E_i (RFC 9591 §4.5).

    Raises InvalidCommitment if R is the identity, which no honest set of
    commitments produces.
    """
    group_commitment = point_sum(
        point_add(c.hiding, point_mul(c.binding, binding_factors[c.identifier]))
        for c in commitments
    )
    if group_commitment.is_identity():
        raise InvalidCommitment("the group commitment is the identity")
    return group_commitment


def compute_challenge(group_commitment: Point, group_public_key: Point, message: bytes) -> int:
    """c = H2(R || PK || msg) (RFC 9591 §4.6). Raises InvalidEncoding for an
    identity R or PK."""
    return h2(encode_element(group_commitment) + encode_element(group_public_key) + message)


@dataclass(frozen=True)
class _SigningRound:
    """What every party derives from the commitment list and the message."""

    binding_factors: dict[int, int]
    group_commitment: Point
    challenge: int
    identifiers: tuple[int, ...]


def _signing_round(
    commitments: Sequence[SigningCommitment], public: PublicKeyPackage, message: bytes
) -> _SigningRound:
    check_commitment_list(commitments, public)
    binding_factors = compute_binding_factors(public.group_public_key, commitments, message)
    group_commitment = compute_group_commitment(commitments, binding_factors)
    challenge = compute_challenge(group_commitment, public.group_public_key, message)
    identifiers = tuple(c.identifier for c in commitments)
    return _SigningRound(binding_factors, group_commitment, challenge, identifiers)


# -- Round two and aggregation ------------------------------------------------


def sign(
    key: KeyPackage,
    nonces: SigningNonces,
    message: bytes,
    commitments: Sequence[SigningCommitment],
) -> SignatureShare:
    """Round two (RFC 9591 §5.2): z_i = d_i + e_i*rho_i + lambda_i*s_i*c.

    Raises InvalidParameters / InvalidCommitment for a bad commitment list
    (see check_commitment_list), for a list that does not include this signer,
    or whose entry for this signer does not match ``nonces``.
    """
    signing = _signing_round(commitments, key.public, message)
    own = [c for c in commitments if c.identifier == key.identifier]
    if not own:
        raise InvalidParameters(f"signer {key.identifier} is not in the commitment list")
    if own[0] != SigningCommitment(
        key.identifier, base_mul(nonces.hiding), base_mul(nonces.binding)
    ):
        raise InvalidCommitment(
            "the commitment list does not carry this signer's commitment", (key.identifier,)
        )
    lambda_i = derive_interpolating_value(signing.identifiers, key.identifier)
    share = (
        nonces.hiding
        + nonces.binding * signing.binding_factors[key.identifier]
        + lambda_i * key.secret_share * signing.challenge
    ) % ORDER
    return SignatureShare(key.identifier, share)


def _share_is_valid(
    share: SignatureShare,
    commitment: SigningCommitment,
    signing: _SigningRound,
    public: PublicKeyPackage,
) -> bool:
    if not 0 <= share.share < ORDER:
        return False
    rho = signing.binding_factors[share.identifier]
    commitment_share = point_add(commitment.hiding, point_mul(commitment.binding, rho))
    lambda_i = derive_interpolating_value(signing.identifiers, share.identifier)
    expected = point_add(
        commitment_share,
        point_mul(public.verification_share(share.identifier), signing.challenge * lambda_i),
    )
    return base_mul(share.share) == expected


def verify_signature_share(
    share: SignatureShare,
    commitments: Sequence[SigningCommitment],
    public: PublicKeyPackage,
    message: bytes,
) -> bool:
    """True if share is valid for its signer (RFC 9591 §5.4):
    z_i*G == D_i + rho_i*E_i + c*lambda_i*PK_i.

    Raises InvalidParameters / InvalidCommitment for a bad commitment list or
    a share from a signer not in it.
    """
    signing = _signing_round(commitments, public, message)
    by_id = {c.identifier: c for c in commitments}
    if share.identifier not in by_id:
        raise InvalidParameters(f"signer {share.identifier} is not in the commitment list")
    return _share_is_valid(share, by_id[share.identifier], signing, public)


def aggregate(
    commitments: Sequence[SigningCommitment],
    message: bytes,
    public: PublicKeyPackage,
    shares: Sequence[SignatureShare],
) -> Signature:
    """Verify every signature share, then combine them (RFC 9591 §5.3).

    Raises InvalidShare naming every signer whose share is invalid;
    InvalidParameters for a missing, duplicate or unexpected share; and the
    errors of check_commitment_list.
    """
    signing = _signing_round(commitments, public, message)
    by_id = {s.identifier: s for s in shares}
    if len(by_id) != len(shares):
        raise InvalidParameters("more than one signature share from a signer")
    if set(by_id) != set(signing.identifiers):
        raise InvalidParameters(
            f"shares from {sorted(by_id)} do not match the signers {list(signing.identifiers)}"
        )
    cheaters = tuple(
        c.identifier
        for c in commitments
        if not _share_is_valid(by_id[c.identifier], c, signing, public)
    )
    if cheaters:
        raise InvalidShare("invalid signature share from signer", cheaters)
    z = sum(s.share for s in shares) % ORDER
    return Signature(signing.group_commitment, z)


# -- Verification -------------------------------------------------------------


def verify_signature_point(group_public_key: Point, message: bytes, signature: Signature) -> bool:
    """True if signature is valid for message under group_public_key
    (RFC 9591 §6.5 verify for prime-order groups). Never raises."""
    if group_public_key.is_identity() or signature.commitment.is_identity():
        return False
    if not 0 <= signature.response < ORDER:
        return False
    challenge = compute_challenge(signature.commitment, group_public_key, message)
    return schnorr_equation_holds(
        group_public_key, signature.commitment, signature.response, challenge
    )


def verify_signature(group_public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Verify a 65-byte FROST signature on message under a 33-byte compressed
    group public key: the check a transaction authorized by a threshold key
    needs on chain. Returns False (never raises) for malformed encodings."""
    try:
        key = decode_element(group_public_key)
        sig = decode_signature(signature)
    except InvalidEncoding:
        return False
    return verify_signature_point(key, message, sig)


# -- Encodings ----------------------------------------------------------------


def encode_signature(signature: Signature) -> bytes:
    """SerializeElement(R) || SerializeScalar(z), 65 bytes. Raises
    InvalidEncoding for an identity R or an out-of-range z."""
    return encode_element(signature.commitment) + encode_scalar(signature.response)


def decode_signature(data: bytes) -> Signature:
    """Parse a 65-byte signature. Raises InvalidEncoding if malformed."""
    if len(data) != SIGNATURE_SIZE:
        raise InvalidEncoding(f"a signature is {SIGNATURE_SIZE} bytes")
    return Signature(decode_element(data[:ELEMENT_SIZE]), decode_scalar(data[ELEMENT_SIZE:]))


def encode_signing_commitment(commitment: SigningCommitment) -> bytes:
    """SerializeScalar(id) || SerializeElement(D) || SerializeElement(E), 98
    bytes (one entry of RFC 9591 §4.3). Raises InvalidEncoding for identity
    points or a bad identifier."""
    return (
        encode_scalar(commitment.identifier)
        + encode_element(commitment.hiding)
        + encode_element(commitment.binding)
    )


def decode_signing_commitment(data: bytes) -> SigningCommitment:
    """Parse a 98-byte signing commitment. Raises InvalidEncoding if malformed
    (including identifier zero and identity points)."""
    if len(data) != COMMITMENT_SIZE:
        raise InvalidEncoding(f"a signing commitment is {COMMITMENT_SIZE} bytes")
    identifier = decode_scalar(data[:SCALAR_SIZE])
    if identifier == 0:
        raise InvalidEncoding("identifier zero")
    hiding = decode_element(data[SCALAR_SIZE : SCALAR_SIZE + ELEMENT_SIZE])
    binding = decode_element(data[SCALAR_SIZE + ELEMENT_SIZE :])
    return SigningCommitment(identifier, hiding, binding)


def encode_signature_share(share: SignatureShare) -> bytes:
    """SerializeScalar(id) || SerializeScalar(z_i), 64 bytes. Raises
    InvalidEncoding for out-of-range values."""
    return encode_scalar(share.identifier) + encode_scalar(share.share)


def decode_signature_share(data: bytes) -> SignatureShare:
    """Parse a 64-byte signature share. Raises InvalidEncoding if malformed."""
    if len(data) != 2 * SCALAR_SIZE:
        raise InvalidEncoding(f"a signature share is {2 * SCALAR_SIZE} bytes")
    identifier = decode_scalar(data[:SCALAR_SIZE])
    if identifier == 0:
        raise InvalidEncoding("identifier zero")
    return SignatureShare(identifier, decode_scalar(data[SCALAR_SIZE:]))


def encode_signing_nonces(nonces: SigningNonces) -> bytes:
    """hiding || binding, 64 bytes: the form a node persists (encrypted) before
    sending its commitment. Raises InvalidEncoding for out-of-range values."""
    return encode_scalar(nonces.hiding) + encode_scalar(nonces.binding)


def decode_signing_nonces(data: bytes) -> SigningNonces:
    """Parse 64 bytes of persisted nonces. Raises InvalidEncoding if malformed
    or a nonce is zero."""
    if len(data) != 2 * SCALAR_SIZE:
        raise InvalidEncoding(f"signing nonces are {2 * SCALAR_SIZE} bytes")
    hiding, binding = decode_scalar(data[:SCALAR_SIZE]), decode_scalar(data[SCALAR_SIZE:])
    if hiding == 0 or binding == 0:
        raise InvalidEncoding("zero nonce")
    return SigningNonces(hiding, binding)
