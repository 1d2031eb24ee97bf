"""Submitting a letter: the encrypted cell and a proof of knowledge of its
encryption randomness, bound to the submission.

Without the proof, anyone could copy a cell from the batch (or re-encrypt
it) and submit it again: after mixing, two deliveries with the same sealed
payload would show which recipient the copied sender wrote to. That is the
classic replay attack on mixes (Pfitzmann; Wikström's attack on Jakobsson's
mix). With it, a cell is accepted only from someone who knows every r_k
(hence the plaintext, M_k = b_k - r_k*Y): a copy fails because the copier
does not know r_k, a re-encryption because it does not know r_k + s_k, and
a copied proof because the proof is bound to the chain and to the
transaction that carries the cell: its signer's address and nonce
(Schnorr-signed ElGamal, as in Helios and Verificatum).

The proof (compact form): nonces n_k, R_k = n_k*G,
c = H(context, Y, cell, R_1..R_W), z_k = n_k + c*r_k. The verifier
recomputes R_k = z_k*G - c*a_k and checks the hash; that costs 2W terms of
scalar multiplication (``submission_verification_cost``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ledger import codec
from ledger.features.mail.curve import LIBSECP256K1, GroupBackend, base_mul
from ledger.features.mail.elgamal import EncryptedCell, encode_cell, encrypt_points
from ledger.features.mail.errors import InvalidParameters, InvalidProof
from ledger.features.mail.letters import Letter, letter_to_points
from ledger.features.mail.params import ADDRESS_SIZE, check_width
from ledger.features.mail.transcript import NonceSource, transcript_digest, transcript_scalar
from ledger.threshold.group import GENERATOR, ORDER, Point, RandomBytes

_DOMAIN = "ledger/mail/submission/v1"


@dataclass(frozen=True)
class SubmissionContext:
    """What a submission is bound to: the chain, and the transaction that
    carries it, by its signer's address and nonce (the letter's sender, not a
    remailer it passes through).

    The nonce, not the batch, names the submission: the sender knows it when
    it signs, and no other transaction ever has it, so nobody else can submit
    the cell (another signer) and the sender cannot submit it twice (a used
    nonce); and the submission enters whichever batch is open when its
    transaction runs, so it never fails because a batch closed meanwhile.

    Raises InvalidParameters for an empty chain id, a sender that is not 20
    bytes or a nonce outside [0, 2^64).
    """

    chain_id: str
    sender: bytes
    nonce: int

    def __post_init__(self) -> None:
        if not self.chain_id or len(self.sender) != ADDRESS_SIZE or not 0 <= self.nonce < 1 << 64:
            raise InvalidParameters(
                "a submission context needs a chain id, a 20-byte sender and a nonce"
            )

    def encode(self) -> bytes:
        """The canonical bytes the proof is bound to."""
        return codec.encode([_DOMAIN, self.chain_id, self.sender, self.nonce])


@dataclass(frozen=True)
class RandomnessProof:
    """Proof of knowledge of r_1..r_W with a_k = r_k*G: (c, z_1..z_W)."""

    challenge: int
    responses: tuple[int, ...]


@dataclass(frozen=True)
class Submission:
    """An encrypted cell with its proof: what a sender puts in a batch."""

    cell: EncryptedCell
    proof: RandomnessProof


@dataclass(frozen=True)
class SealedSubmission:
    """A submission with the randomness it was made with (secret; kept by
    the sender only if it wants to prove later what it sent)."""

    submission: Submission
    randomness: tuple[int, ...] = field(repr=False)


def _challenge(
    mail_key: Point, cell: EncryptedCell, context: SubmissionContext, nonces: Sequence[Point]
) -> int:
    digest = transcript_digest(
        b"submission", [context.encode(), mail_key.sec, encode_cell(cell), *(r.sec for r in nonces)]
    )
    return transcript_scalar(b"submission-challenge", digest)


def prove_randomness(
    mail_key: Point,
    cell: EncryptedCell,
    randomness: Sequence[int],
    context: SubmissionContext,
    rng: RandomBytes,
) -> RandomnessProof:
    """Prove knowledge of the randomness cell was encrypted with, for context.

    Raises InvalidParameters unless there is one scalar per component,
    InvalidRandomness if rng misbehaves.
    """
    if len(randomness) != cell.width:
        raise InvalidParameters("one randomness scalar per component")
    statement = transcript_digest(b"submission-statement", [context.encode(), encode_cell(cell)])
    source = NonceSource(rng, [r.to_bytes(32, "big") for r in randomness], statement)
    nonces = [source.scalar(b"n", k) for k in range(cell.width)]
    challenge = _challenge(mail_key, cell, context, [base_mul(n) for n in nonces])
    responses = tuple((n + challenge * r) % ORDER for n, r in zip(nonces, randomness, strict=True))
    return RandomnessProof(challenge, responses)


def submit_letter(
    mail_key: Point, letter: Letter, context: SubmissionContext, rng: RandomBytes
) -> SealedSubmission:
    """Embed the letter, encrypt it to the mail key and prove the randomness.

    Raises InvalidLetter for a malformed letter, InvalidRandomness if rng misbehaves.
    """
    cell, randomness = encrypt_points(mail_key, letter_to_points(letter), rng)
    proof = prove_randomness(mail_key, cell, randomness, context, rng)
    return SealedSubmission(Submission(cell, proof), randomness)


def verify_submission(
    mail_key: Point,
    submission: Submission,
    context: SubmissionContext,
    width: int,
    backend: GroupBackend = LIBSECP256K1,
) -> None:
    """Check that submission is a cell of the chain's width whose sender
    knows its encryption randomness, for this context.

    Deterministic; costs submission_verification_cost(width). Raises
    InvalidProof (with the reason) if it does not verify.
    """
    cell, proof = submission.cell, submission.proof
    if cell.width != check_width(width) or len(proof.responses) != width:
        raise InvalidProof(f"the submission is not a cell of width {width}")
    if mail_key.is_identity() or any(
        c.a.is_identity() or c.b.is_identity() for c in cell.components
    ):
        raise InvalidProof("the mail key or a cell component is the identity")
    if not all(0 <= s < ORDER for s in (proof.challenge, *proof.responses)):
        raise InvalidProof("a proof scalar is out of range")
    nonces = [
        backend.multi_mul(((GENERATOR, z), (c.a, -proof.challenge)))
        for c, z in zip(cell.components, proof.responses, strict=True)
    ]
    if _challenge(mail_key, cell, context, nonces) != proof.challenge:
        raise InvalidProof("the proof of knowledge of the encryption randomness does not verify")


def submission_verification_cost(width: int) -> int:
    """Terms of scalar multiplication verify_submission runs: 2W."""
    return 2 * check_width(width)


def cell_fingerprint(cell: EncryptedCell) -> bytes:
    """The first component's a, which no two honestly made cells share: the
    chain refuses a second submission with the same fingerprint in a batch
    (a remailer that passes one transaction's cell on twice) at no cost."""
    return cell.components[0].a.sec
