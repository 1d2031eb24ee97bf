"""The proof of shuffle: Terelius-Wikström, as written out by Haenni,
Locher, Koenig and Dubuis ("Pseudo-Code Algorithms for Verifiable
Re-Encryption Mix-Nets", FC 2017 workshops, Algorithms 4.4 and 4.5),
on secp256k1 (written additively) and for cells of width W.

Statement: the mail key Y, input cells e_1..e_N and output cells e'_1..e'_N
of width W, and a context (chain, batch, step, shuffler). Witness: a
permutation psi and scalars rho_{i,k} with
e'_i,k = (a_psi(i),k + rho_i,k * G, b_psi(i),k + rho_i,k * Y).

Generators: G, and H, H_1..H_N from hash_to_curve (``hash_to_curve``): no
one knows a relation between them.

Prover, with j_i = psi(i):
  1. permutation commitment, by input position: c_{j_i} = r_{j_i}*G + H_i;
  2. challenges u_j = H(statement, c, j); u'_i = u_{j_i};
  3. commitment chain: chat_0 = H, chat_i = rhat_i*G + u'_i*chat_{i-1};
  4. random w1, w2, w3, w4_k, what_i, w'_i; commitments
       t1 = w1*G,  t2 = w2*G,  t3 = w3*G + sum w'_i*H_i,
       t4a_k = -w4_k*G + sum_i w'_i*a'_i,k,  t4b_k = -w4_k*Y + sum_i w'_i*b'_i,k,
       that_i = what_i*G + w'_i*chat_{i-1};
  5. c = H(statement digest, chat, t1, t2, t3, t4, that);
  6. with rbar = sum r_j, v_N = 1, v_i = u'_{i+1} v_{i+1}, rhat = sum rhat_i v_i,
     rtilde = sum r_j u_j, r'_k = sum_i rho_i,k u'_i:
       s1 = w1 + c*rbar, s2 = w2 + c*rhat, s3 = w3 + c*rtilde, s4_k = w4_k + c*r'_k,
       shat_i = what_i + c*rhat_i, s'_i = w'_i + c*u'_i.

The proof is (c_1..c_N, chat_1..chat_N, c, s1, s2, s3, s4, shat, s'): the
compact form that sends the challenge instead of the t values. The verifier
recomputes every t from the equations below and accepts iff hashing them
gives back c. With cbar = sum c_j - sum H_i, u = prod u_j,
chat = chat_N - u*H:
  t1 = s1*G - c*cbar
  t2 = s2*G - c*chat
  t3 = s3*G + sum s'_i*H_i - c*sum u_j*c_j
  t4a_k = -s4_k*G + sum s'_i*a'_i,k - c*sum u_j*a_j,k      (k = 1..W)
  t4b_k = -s4_k*Y + sum s'_i*b'_i,k - c*sum u_j*b_j,k
  that_i = shat_i*G + s'_i*chat_{i-1} - c*chat_i

The width extension: the same permutation and the same u'_i act on every
component, each component has its own re-encryption exponent r'_k, so t4
and s4 become W pairs and W scalars. Everything else is as for W = 1.

Fiat-Shamir hashes the full statement (the mail key, both batches, the
context and the permutation commitment) before deriving u, and everything
again with all commitments before deriving c, so no part of the statement
can be chosen after a challenge (the "weak Fiat-Shamir" pitfall of
Bernhard, Pereira and Warinschi).

Verification is deterministic and costs exactly
``shuffle_verification_cost(N, W) = 4NW + 5N + 2W + 7`` terms of scalar
multiplication, whatever the proof holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ledger import codec
from ledger.features.mail.curve import LIBSECP256K1, GroupBackend, secret_multi_mul
from ledger.features.mail.elgamal import EncryptedCell, encode_cell
from ledger.features.mail.errors import InvalidParameters, InvalidProof
from ledger.features.mail.hash_to_curve import commitment_base, independent_generators
from ledger.features.mail.params import check_batch_size, check_width
from ledger.features.mail.shuffle import ShuffleWitness
from ledger.features.mail.transcript import (
    NonceSource,
    indexed_scalars,
    transcript_digest,
    transcript_scalar,
)
from ledger.threshold.group import GENERATOR, ORDER, Point, RandomBytes, point_neg

_DOMAIN = "ledger/mail/shuffle/v1"
MAX_SHUFFLER_ID_SIZE = 64


@dataclass(frozen=True)
class ShuffleContext:
    """What a proof of shuffle is bound to: the chain, the batch, the step
    (0 for the first shuffle of the batch, 1 for the next, ...) and the
    shuffler's identity (its validator address or key), so a proof can be
    neither replayed into another batch or step nor claimed by another
    validator.

    Raises InvalidParameters for an empty chain id, a negative batch or step,
    or a shuffler identity that is empty or longer than 64 bytes.
    """

    chain_id: str
    batch: int
    step: int
    shuffler: bytes

    def __post_init__(self) -> None:
        if not self.chain_id or self.batch < 0 or self.step < 0:
            raise InvalidParameters("a shuffle context needs a chain id, a batch and a step")
        if not 0 < len(self.shuffler) <= MAX_SHUFFLER_ID_SIZE:
            raise InvalidParameters("a shuffler identity is 1 to 64 bytes")

    def encode(self) -> bytes:
        """The canonical bytes the proof is bound to."""
        return codec.encode([_DOMAIN, self.chain_id, self.batch, self.step, self.shuffler])


@dataclass(frozen=True)
class ShuffleProof:
    """A Terelius-Wikström proof of shuffle in compact form (names as in
    Haenni et al.): the permutation commitment c (by input position), the
    commitment chain chat, the challenge, and the responses s1, s2, s3,
    s4 (W scalars), shat and s' (N scalars each)."""

    permutation_commitment: tuple[Point, ...]
    commitment_chain: tuple[Point, ...]
    challenge: int
    s1: int
    s2: int
    s3: int
    s4: tuple[int, ...]
    s_hat: tuple[int, ...]
    s_prime: tuple[int, ...]


def _batch_shape(inputs: Sequence[EncryptedCell], outputs: Sequence[EncryptedCell]) -> int:
    """The width W of a well-formed pair of batches; raises InvalidProof otherwise."""
    try:
        check_batch_size(len(inputs))
    except InvalidParameters as e:
        raise InvalidProof(str(e)) from None
    if len(outputs) != len(inputs):
        raise InvalidProof("the output batch has another size than the input batch")
    width = inputs[0].width
    for cell in (*inputs, *outputs):
        if cell.width != width:
            raise InvalidProof("cells of different widths")
        for c in cell.components:
            if c.a.is_identity() or c.b.is_identity():
                raise InvalidProof("a cell component is the identity")
    return width


def _statement_digest(
    mail_key: Point,
    inputs: Sequence[EncryptedCell],
    outputs: Sequence[EncryptedCell],
    context: ShuffleContext,
    permutation_commitment: Sequence[Point],
) -> bytes:
    return transcript_digest(
        b"shuffle-statement",
        [
            context.encode(),
            mail_key.sec,
            len(inputs).to_bytes(4, "big"),
            inputs[0].width.to_bytes(4, "big"),
            *(encode_cell(cell) for cell in inputs),
            *(encode_cell(cell) for cell in outputs),
            *(c.sec for c in permutation_commitment),
        ],
    )


def _challenge(
    statement: bytes,
    commitment_chain: Sequence[Point],
    t1: Point,
    t2: Point,
    t3: Point,
    t4: Sequence[tuple[Point, Point]],
    t_hat: Sequence[Point],
) -> int:
    # Identity points hash as the byte 0x00: a verifier may recompute them
    # from a forged proof and must still give an answer.
    digest = transcript_digest(
        b"shuffle-commitments",
        [
            statement,
            *(p.sec for p in commitment_chain),
            t1.sec,
            t2.sec,
            t3.sec,
            *(p.sec for pair in t4 for p in pair),
            *(p.sec for p in t_hat),
        ],
    )
    return transcript_scalar(b"shuffle-challenge", digest)


def _encode_witness(witness: ShuffleWitness) -> bytes:
    return b"".join(
        j.to_bytes(4, "big") + b"".join(s.to_bytes(32, "big") for s in rho)
        for j, rho in zip(witness.permutation, witness.randomness, strict=True)
    )


def prove_shuffle(
    mail_key: Point,
    inputs: Sequence[EncryptedCell],
    outputs: Sequence[EncryptedCell],
    witness: ShuffleWitness,
    context: ShuffleContext,
    rng: RandomBytes,
    backend: GroupBackend = LIBSECP256K1,
) -> ShuffleProof:
    """Prove that outputs are inputs re-encrypted and permuted as witness says.

    The secret values (commitment randomness, nonces) are hedged: hashed
    from 32 fresh random bytes, the witness and the statement. Raises
    InvalidParameters if the witness does not fit the batch (a witness that
    fits but does not match the outputs gives a proof that does not verify),
    InvalidRandomness if rng misbehaves.
    """
    try:
        width = _batch_shape(inputs, outputs)
    except InvalidProof as e:
        raise InvalidParameters(e.reason) from None
    count = len(inputs)
    psi = witness.permutation
    if len(psi) != count or any(len(rho) != width for rho in witness.randomness):
        raise InvalidParameters("the witness does not fit the batch")
    h = commitment_base()
    hs = independent_generators(count)
    source = NonceSource(
        rng,
        [_encode_witness(witness)],
        _statement_digest(mail_key, inputs, outputs, context, ()),
    )

    # 1. Permutation commitment, by input position: c_{psi(i)} = r_{psi(i)} G + H_i.
    r = [source.scalar(b"r", j) for j in range(count)]
    position_of = {j: i for i, j in enumerate(psi)}
    commitment = tuple(
        backend.point_sum((backend.secret_mul(GENERATOR, r[j]), hs[position_of[j]]))
        for j in range(count)
    )
    # 2. Challenges u_j and their permutation u'_i = u_{psi(i)}.
    statement = _statement_digest(mail_key, inputs, outputs, context, commitment)
    u = indexed_scalars(b"shuffle-u", statement, count)
    u_prime = [u[j] for j in psi]
    # 3. Commitment chain chat_i = rhat_i G + u'_i chat_{i-1}, chat_0 = H.
    r_hat = [source.scalar(b"rhat", i) for i in range(count)]
    chain: list[Point] = []
    previous = h
    for i in range(count):
        previous = secret_multi_mul(((GENERATOR, r_hat[i]), (previous, u_prime[i])), backend)
        chain.append(previous)
    # 4. Commitments.
    w1, w2, w3 = (source.scalar(label) for label in (b"w1", b"w2", b"w3"))
    w4 = [source.scalar(b"w4", k) for k in range(width)]
    w_hat = [source.scalar(b"what", i) for i in range(count)]
    w_prime = [source.scalar(b"wprime", i) for i in range(count)]
    # Every scalar here is secret (nonces, and u'_i reveals the permutation):
    # constant-time products only.
    t1 = backend.secret_mul(GENERATOR, w1)
    t2 = backend.secret_mul(GENERATOR, w2)
    t3 = secret_multi_mul(((GENERATOR, w3), *zip(hs, w_prime, strict=True)), backend)
    t4 = [
        (
            secret_multi_mul(
                (
                    (GENERATOR, -w4[k]),
                    *((e.components[k].a, w) for e, w in zip(outputs, w_prime, strict=True)),
                ),
                backend,
            ),
            secret_multi_mul(
                (
                    (mail_key, -w4[k]),
                    *((e.components[k].b, w) for e, w in zip(outputs, w_prime, strict=True)),
                ),
                backend,
            ),
        )
        for k in range(width)
    ]
    t_hat = [
        secret_multi_mul(((GENERATOR, w_hat[i]), (prior, w_prime[i])), backend)
        for i, prior in enumerate([h, *chain[:-1]])
    ]
    # 5. Challenge.
    c = _challenge(statement, chain, t1, t2, t3, t4, t_hat)
    # 6. Responses.
    v = [1] * count
    for i in range(count - 2, -1, -1):
        v[i] = u_prime[i + 1] * v[i + 1] % ORDER
    r_bar = sum(r) % ORDER
    r_hat_total = sum(a * b for a, b in zip(r_hat, v, strict=True)) % ORDER
    r_tilde = sum(a * b for a, b in zip(r, u, strict=True)) % ORDER
    r_prime = [
        sum(rho[k] * up for rho, up in zip(witness.randomness, u_prime, strict=True)) % ORDER
        for k in range(width)
    ]
    return ShuffleProof(
        permutation_commitment=commitment,
        commitment_chain=tuple(chain),
        challenge=c,
        s1=(w1 + c * r_bar) % ORDER,
        s2=(w2 + c * r_hat_total) % ORDER,
        s3=(w3 + c * r_tilde) % ORDER,
        s4=tuple((w4[k] + c * r_prime[k]) % ORDER for k in range(width)),
        s_hat=tuple((w_hat[i] + c * r_hat[i]) % ORDER for i in range(count)),
        s_prime=tuple((w_prime[i] + c * u_prime[i]) % ORDER for i in range(count)),
    )


def _check_proof_shape(proof: ShuffleProof, count: int, width: int) -> None:
    lengths = (
        len(proof.permutation_commitment),
        len(proof.commitment_chain),
        len(proof.s_hat),
        len(proof.s_prime),
    )
    if lengths != (count,) * 4 or len(proof.s4) != width:
        raise InvalidProof("the proof does not have the shape of the batch")
    scalars = (proof.challenge, proof.s1, proof.s2, proof.s3, *proof.s4, *proof.s_hat)
    if not all(0 <= s < ORDER for s in (*scalars, *proof.s_prime)):
        raise InvalidProof("a proof scalar is out of range")


def verify_shuffle(
    mail_key: Point,
    inputs: Sequence[EncryptedCell],
    outputs: Sequence[EncryptedCell],
    proof: ShuffleProof,
    context: ShuffleContext,
    backend: GroupBackend = LIBSECP256K1,
) -> None:
    """Check that outputs are a re-encryption and permutation of inputs
    under mail_key, for this context.

    Deterministic; costs at most shuffle_verification_cost(N, W) terms of
    scalar multiplication. Raises InvalidProof (with the reason) if the
    batches are malformed or the proof does not verify.
    """
    width = _batch_shape(inputs, outputs)
    count = len(inputs)
    _check_proof_shape(proof, count, width)
    if mail_key.is_identity():
        raise InvalidProof("the mail key is the identity")
    h = commitment_base()
    hs = independent_generators(count)
    c = proof.challenge
    commitment, chain = proof.permutation_commitment, proof.commitment_chain
    statement = _statement_digest(mail_key, inputs, outputs, context, commitment)
    u = indexed_scalars(b"shuffle-u", statement, count)

    c_bar = backend.point_sum((*commitment, *(point_neg(p) for p in hs)))
    u_product = 1
    for value in u:
        u_product = u_product * value % ORDER
    c_hat = backend.multi_mul(((chain[-1], 1), (h, -u_product)))
    t1 = backend.multi_mul(((GENERATOR, proof.s1), (c_bar, -c)))
    t2 = backend.multi_mul(((GENERATOR, proof.s2), (c_hat, -c)))
    t3 = backend.multi_mul(
        (
            (GENERATOR, proof.s3),
            *zip(hs, proof.s_prime, strict=True),
            *((cj, -c * uj) for cj, uj in zip(commitment, u, strict=True)),
        )
    )
    t4 = [
        (
            backend.multi_mul(
                (
                    (GENERATOR, -proof.s4[k]),
                    *((e.components[k].a, s) for e, s in zip(outputs, proof.s_prime, strict=True)),
                    *((e.components[k].a, -c * uj) for e, uj in zip(inputs, u, strict=True)),
                )
            ),
            backend.multi_mul(
                (
                    (mail_key, -proof.s4[k]),
                    *((e.components[k].b, s) for e, s in zip(outputs, proof.s_prime, strict=True)),
                    *((e.components[k].b, -c * uj) for e, uj in zip(inputs, u, strict=True)),
                )
            ),
        )
        for k in range(width)
    ]
    t_hat = [
        backend.multi_mul(((GENERATOR, proof.s_hat[i]), (prior, proof.s_prime[i]), (chain[i], -c)))
        for i, prior in enumerate([h, *chain[:-1]])
    ]
    if _challenge(statement, chain, t1, t2, t3, t4, t_hat) != c:
        raise InvalidProof("the proof of shuffle does not verify")


def shuffle_verification_cost(count: int, width: int) -> int:
    """Terms of scalar multiplication verify_shuffle runs for N cells of
    width W: 4NW + 5N + 2W + 7 (t4: W(4N + 2), t3: 2N + 1, that: 3N, and
    6 for chat, t1, t2).

    Raises InvalidParameters for a batch size or width out of range.
    """
    check_batch_size(count)
    check_width(width)
    return 4 * count * width + 5 * count + 2 * width + 7
