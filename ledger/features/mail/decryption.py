"""Threshold decryption of a mixed batch, with Chaum-Pedersen proofs.

The mail key Y = x*G is shared t-of-n among the validators (the threshold
library's DKG and resharing: ``ledger.threshold``); member i holds x_i and
everyone knows Y_i = x_i*G. For the final batch, member i posts a decryption
share: D_m = x_i*a_m for every component m of every cell (N*W points), and
one Chaum-Pedersen proof that log_G Y_i = log_{a_m} D_m for all m at once:

    weights  rho_m = H(context, i, Y_i, all a, all D, m)
    A = sum rho_m*a_m,  D = sum rho_m*D_m
    proof    (c, z): R1 = z*G - c*Y_i, R2 = z*A - c*D, c = H(digest, A, D, R1, R2)

The weights are hashed after every D_m is fixed, so a share with any wrong
D_m passes only with probability about 1/q: the combined proof proves
every component (the batch form of Chaum-Pedersen; one proof instead of
N*W halves the verifier's work). A bad share is blamed on its member.

Any t valid shares combine by Lagrange interpolation at 0:
M_m = b_m - sum_{i in S} lambda_i*D_i,m, the plaintext points, which
``letters.letter_from_points`` turns back into letters. Fewer than t
members learn nothing about the plaintexts (their shares are t-1 points of
a degree t-1 polynomial; DDH hides the rest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger import codec
from ledger.features.mail.curve import LIBSECP256K1, GroupBackend
from ledger.features.mail.elgamal import EncryptedCell, encode_cell
from ledger.features.mail.errors import InvalidDecryptionShare, InvalidParameters
from ledger.features.mail.params import check_batch_size, check_width
from ledger.features.mail.transcript import (
    NonceSource,
    indexed_scalars,
    transcript_digest,
    transcript_scalar,
)
from ledger.threshold.errors import InvalidParameters as ThresholdInvalidParameters
from ledger.threshold.group import GENERATOR, ORDER, Point, RandomBytes
from ledger.threshold.keys import KeyPackage, PublicKeyPackage
from ledger.threshold.polynomial import derive_interpolating_value

_DOMAIN = "ledger/mail/decryption/v1"


@dataclass(frozen=True)
class DecryptionContext:
    """What a decryption share is bound to: the chain and the batch.

    Raises InvalidParameters for an empty chain id or a negative batch.
    """

    chain_id: str
    batch: int

    def __post_init__(self) -> None:
        if not self.chain_id or self.batch < 0:
            raise InvalidParameters("a decryption context needs a chain id and a batch")

    def encode(self) -> bytes:
        """The canonical bytes the proof is bound to."""
        return codec.encode([_DOMAIN, self.chain_id, self.batch])


@dataclass(frozen=True)
class DecryptionShare:
    """Member ``member``'s share for a batch: x_i*a for every component of
    every cell (``factors[cell][component]``), and the proof (c, z)."""

    member: int
    factors: tuple[tuple[Point, ...], ...]
    challenge: int
    response: int


@dataclass(frozen=True)
class DecryptionResult:
    """The plaintext points of every cell, and the members whose shares
    were rejected (ascending)."""

    plaintexts: tuple[tuple[Point, ...], ...]
    rejected: tuple[int, ...]


def _cells_shape(cells: Sequence[EncryptedCell]) -> int:
    check_batch_size(len(cells))
    width = check_width(cells[0].width)
    if any(cell.width != width for cell in cells):
        raise InvalidParameters("cells of different widths in one batch")
    return width


def _statement(
    cells: Sequence[EncryptedCell],
    member: int,
    public_share: Point,
    factors: Sequence[Sequence[Point]],
    context: DecryptionContext,
) -> bytes:
    return transcript_digest(
        b"decryption-statement",
        [
            context.encode(),
            member.to_bytes(32, "big"),
            public_share.sec,
            *(encode_cell(cell) for cell in cells),
            *(d.sec for row in factors for d in row),
        ],
    )


def _challenge(statement: bytes, a: Point, d: Point, r1: Point, r2: Point) -> int:
    digest = transcript_digest(b"decryption-commitments", [statement, a.sec, d.sec, r1.sec, r2.sec])
    return transcript_scalar(b"decryption-challenge", digest)


def _weighted_sum(points: Sequence[Point], statement: bytes, backend: GroupBackend) -> Point:
    """sum rho_m * points[m] with the weights rho_m hashed from the statement."""
    weights = indexed_scalars(b"decryption-weight", statement, len(points))
    return backend.multi_mul(tuple(zip(points, weights, strict=True)))


def _a_points(cells: Sequence[EncryptedCell]) -> list[Point]:
    return [c.a for cell in cells for c in cell.components]


def make_decryption_share(
    key: KeyPackage,
    cells: Sequence[EncryptedCell],
    context: DecryptionContext,
    rng: RandomBytes,
    backend: GroupBackend = LIBSECP256K1,
) -> DecryptionShare:
    """This member's decryption share of the batch, with its proof.

    Raises InvalidParameters for an empty, oversized or mixed-width batch,
    InvalidRandomness if rng misbehaves.
    """
    _cells_shape(cells)
    secret = key.secret_share
    public_share = key.public.verification_share(key.identifier)
    # The key share and the nonce are secret: constant-time products only.
    factors = tuple(
        tuple(backend.secret_mul(c.a, secret) for c in cell.components) for cell in cells
    )
    statement = _statement(cells, key.identifier, public_share, factors, context)
    a_sum = _weighted_sum(_a_points(cells), statement, backend)
    d_sum = backend.secret_mul(a_sum, secret)  # = sum rho_m D_m, one multiplication
    nonce = NonceSource(rng, [secret.to_bytes(32, "big")], statement).scalar(b"k")
    r1 = backend.secret_mul(GENERATOR, nonce)
    r2 = backend.secret_mul(a_sum, nonce)
    challenge = _challenge(statement, a_sum, d_sum, r1, r2)
    return DecryptionShare(key.identifier, factors, challenge, (nonce + challenge * secret) % ORDER)


def verify_decryption_share(
    public: PublicKeyPackage,
    cells: Sequence[EncryptedCell],
    share: DecryptionShare,
    context: DecryptionContext,
    backend: GroupBackend = LIBSECP256K1,
) -> None:
    """Check a member's decryption share of the batch.

    Deterministic; costs decryption_share_verification_cost(N, W). Raises
    InvalidDecryptionShare naming the member if it is not a member of the
    key, the share has the wrong shape or an identity point, or the proof
    fails; InvalidParameters for a malformed batch.
    """
    width = _cells_shape(cells)
    blame = (share.member,)
    try:
        public_share = public.verification_share(share.member)
    except ThresholdInvalidParameters:
        raise InvalidDecryptionShare("not a member of the mail key", blame) from None
    if len(share.factors) != len(cells) or any(len(row) != width for row in share.factors):
        raise InvalidDecryptionShare("the share does not have the shape of the batch", blame)
    if any(d.is_identity() for row in share.factors for d in row):
        raise InvalidDecryptionShare("a decryption factor is the identity", blame)
    if not (0 <= share.challenge < ORDER and 0 <= share.response < ORDER):
        raise InvalidDecryptionShare("a proof scalar is out of range", blame)
    statement = _statement(cells, share.member, public_share, share.factors, context)
    a_sum = _weighted_sum(_a_points(cells), statement, backend)
    d_sum = _weighted_sum([d for row in share.factors for d in row], statement, backend)
    c, z = share.challenge, share.response
    r1 = backend.multi_mul(((GENERATOR, z), (public_share, -c)))
    r2 = backend.multi_mul(((a_sum, z), (d_sum, -c)))
    if _challenge(statement, a_sum, d_sum, r1, r2) != c:
        raise InvalidDecryptionShare("the Chaum-Pedersen proof does not verify", blame)


def decryption_share_verification_cost(count: int, width: int) -> int:
    """Terms of scalar multiplication verify_decryption_share runs: 2NW + 4."""
    return 2 * check_batch_size(count) * check_width(width) + 4


def combine_verified_shares(
    public: PublicKeyPackage,
    cells: Sequence[EncryptedCell],
    shares: Sequence[DecryptionShare],
    backend: GroupBackend = LIBSECP256K1,
) -> tuple[tuple[Point, ...], ...]:
    """The plaintext points of every cell, from shares that have each passed
    verify_decryption_share: the t lowest member identifiers are used.

    Costs combination_cost(N, W, t). Raises InvalidParameters for fewer than
    t shares, two shares from one member, or shares of another shape.
    """
    width = _cells_shape(cells)
    members = sorted(share.member for share in shares)
    if len(set(members)) != len(members):
        raise InvalidParameters("two decryption shares from one member")
    if len(members) < public.threshold:
        raise InvalidParameters(f"{len(members)} shares; the mail key needs {public.threshold}")
    chosen = sorted(shares, key=lambda s: s.member)[: public.threshold]
    signers = [s.member for s in chosen]
    weights = [ORDER - derive_interpolating_value(signers, s.member) for s in chosen]
    for share in chosen:
        if len(share.factors) != len(cells) or any(len(row) != width for row in share.factors):
            raise InvalidParameters(f"the share of member {share.member} has another shape")
    return tuple(
        tuple(
            backend.multi_mul(
                (
                    (component.b, 1),
                    *((share.factors[n][k], w) for share, w in zip(chosen, weights, strict=True)),
                )
            )
            for k, component in enumerate(cell.components)
        )
        for n, cell in enumerate(cells)
    )


def combination_cost(count: int, width: int, threshold: int) -> int:
    """Terms of scalar multiplication combine_verified_shares runs: NW(t + 1)."""
    return check_batch_size(count) * check_width(width) * (threshold + 1)


def decrypt_batch(
    public: PublicKeyPackage,
    cells: Sequence[EncryptedCell],
    shares: Sequence[DecryptionShare],
    context: DecryptionContext,
    backend: GroupBackend = LIBSECP256K1,
) -> DecryptionResult:
    """Verify every share, drop the bad ones and combine t good ones.

    Raises InvalidDecryptionShare naming the members with bad shares if
    fewer than t good ones remain; InvalidParameters for two shares from
    one member or a malformed batch.
    """
    members = [share.member for share in shares]
    if len(set(members)) != len(members):
        raise InvalidParameters("two decryption shares from one member")
    good: list[DecryptionShare] = []
    rejected: list[int] = []
    for share in shares:
        try:
            verify_decryption_share(public, cells, share, context, backend)
        except InvalidDecryptionShare:
            rejected.append(share.member)
        else:
            good.append(share)
    if len(good) < public.threshold:
        raise InvalidDecryptionShare(
            f"only {len(good)} valid decryption shares of {public.threshold} needed",
            tuple(sorted(rejected)),
        )
    plaintexts = combine_verified_shares(public, cells, good, backend)
    return DecryptionResult(plaintexts, tuple(sorted(rejected)))
