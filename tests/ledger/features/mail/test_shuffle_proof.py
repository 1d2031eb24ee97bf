"""The proof of shuffle: honest shuffles verify; tampered, dropped,
duplicated and replaced cells, a wrong permutation commitment, any changed
response and a moved context are rejected; both backends agree; the cost
function counts exactly what the verifier runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.features.mail.curve import LIBSECP256K1, GroupBackend
from ledger.features.mail.curve_reference import PYTHON_ECDSA
from ledger.features.mail.elgamal import Ciphertext, EncryptedCell, encrypt_points, reencrypt
from ledger.features.mail.embedding import embed_bytes
from ledger.features.mail.errors import InvalidParameters, InvalidProof
from ledger.features.mail.params import CHUNK_SIZE
from ledger.features.mail.shuffle import ShuffleWitness, apply_shuffle, shuffle_cells
from ledger.features.mail.shuffle_proof import (
    ShuffleContext,
    ShuffleProof,
    prove_shuffle,
    shuffle_verification_cost,
    verify_shuffle,
)
from ledger.features.mail.transcript import random_scalar
from ledger.threshold import group
from ledger.threshold.group import ORDER, Point, RandomBytes

from .conftest import CHAIN_ID, CountingBackend, seeded_rng

MAIL_KEY = group.base_mul(0xC0FFEE)
CONTEXT = ShuffleContext(CHAIN_ID, 3, 0, b"validator-1")


@dataclass(frozen=True)
class Shuffled:
    inputs: tuple[EncryptedCell, ...]
    outputs: tuple[EncryptedCell, ...]
    witness: ShuffleWitness
    proof: ShuffleProof


def random_cells(count: int, width: int, rng: RandomBytes) -> tuple[EncryptedCell, ...]:
    return tuple(
        encrypt_points(MAIL_KEY, embed_bytes(rng(CHUNK_SIZE * width)), rng)[0] for _ in range(count)
    )


def honest_shuffle(count: int, width: int, seed: int) -> Shuffled:
    rng = seeded_rng(seed)
    inputs = random_cells(count, width, rng)
    outputs, witness = shuffle_cells(MAIL_KEY, inputs, rng)
    proof = prove_shuffle(MAIL_KEY, inputs, outputs, witness, CONTEXT, rng)
    return Shuffled(inputs, outputs, witness, proof)


def accepted(
    s: Shuffled,
    *,
    inputs: tuple[EncryptedCell, ...] | None = None,
    outputs: tuple[EncryptedCell, ...] | None = None,
    proof: ShuffleProof | None = None,
    context: ShuffleContext = CONTEXT,
    mail_key: Point = MAIL_KEY,
    backend: GroupBackend = LIBSECP256K1,
) -> bool:
    try:
        verify_shuffle(
            mail_key,
            s.inputs if inputs is None else inputs,
            s.outputs if outputs is None else outputs,
            s.proof if proof is None else proof,
            context,
            backend,
        )
    except InvalidProof:
        return False
    return True


# -- tampering, as functions from an honest shuffle to (inputs, outputs, proof) --

Tamper = Callable[
    [Shuffled], tuple[tuple[EncryptedCell, ...], tuple[EncryptedCell, ...], ShuffleProof]
]


def swap_outputs(
    s: Shuffled,
) -> tuple[tuple[EncryptedCell, ...], tuple[EncryptedCell, ...], ShuffleProof]:
    outputs = list(s.outputs)
    outputs[0], outputs[-1] = outputs[-1], outputs[0]
    return s.inputs, tuple(outputs), s.proof


def duplicate_output(
    s: Shuffled,
) -> tuple[tuple[EncryptedCell, ...], tuple[EncryptedCell, ...], ShuffleProof]:
    return s.inputs, (s.outputs[1], *s.outputs[1:]), s.proof


def duplicate_reencrypted(
    s: Shuffled,
) -> tuple[tuple[EncryptedCell, ...], tuple[EncryptedCell, ...], ShuffleProof]:
    rng = seeded_rng(99)
    copy = reencrypt(
        MAIL_KEY, s.outputs[1], [random_scalar(rng) for _ in range(s.outputs[1].width)]
    )
    return s.inputs, (copy, *s.outputs[1:]), s.proof


def replace_output(
    s: Shuffled,
) -> tuple[tuple[EncryptedCell, ...], tuple[EncryptedCell, ...], ShuffleProof]:
    fresh = random_cells(1, s.outputs[0].width, seeded_rng(98))[0]
    return s.inputs, (fresh, *s.outputs[1:]), s.proof


def alter_component(
    s: Shuffled,
) -> tuple[tuple[EncryptedCell, ...], tuple[EncryptedCell, ...], ShuffleProof]:
    first = s.outputs[0].components[-1]
    changed = Ciphertext(first.a, group.point_add(first.b, group.GENERATOR))
    cell = EncryptedCell((*s.outputs[0].components[:-1], changed))
    return s.inputs, (cell, *s.outputs[1:]), s.proof


def alter_input(
    s: Shuffled,
) -> tuple[tuple[EncryptedCell, ...], tuple[EncryptedCell, ...], ShuffleProof]:
    fresh = random_cells(1, s.inputs[0].width, seeded_rng(97))[0]
    return (fresh, *s.inputs[1:]), s.outputs, s.proof


def swap_commitments(
    s: Shuffled,
) -> tuple[tuple[EncryptedCell, ...], tuple[EncryptedCell, ...], ShuffleProof]:
    c = list(s.proof.permutation_commitment)
    c[0], c[-1] = c[-1], c[0]
    return s.inputs, s.outputs, replace(s.proof, permutation_commitment=tuple(c))


def replace_commitment(
    s: Shuffled,
) -> tuple[tuple[EncryptedCell, ...], tuple[EncryptedCell, ...], ShuffleProof]:
    c = (group.base_mul(5), *s.proof.permutation_commitment[1:])
    return s.inputs, s.outputs, replace(s.proof, permutation_commitment=c)


def alter_chain(
    s: Shuffled,
) -> tuple[tuple[EncryptedCell, ...], tuple[EncryptedCell, ...], ShuffleProof]:
    chain = (
        group.point_add(s.proof.commitment_chain[0], group.GENERATOR),
        *s.proof.commitment_chain[1:],
    )
    return s.inputs, s.outputs, replace(s.proof, commitment_chain=chain)


def _bump(values: tuple[int, ...]) -> tuple[int, ...]:
    return ((values[0] + 1) % ORDER, *values[1:])


def _scalar_tamper(field: str) -> Tamper:
    def tamper(
        s: Shuffled,
    ) -> tuple[tuple[EncryptedCell, ...], tuple[EncryptedCell, ...], ShuffleProof]:
        value = getattr(s.proof, field)
        new = _bump(value) if isinstance(value, tuple) else (value + 1) % ORDER
        return s.inputs, s.outputs, replace(s.proof, **{field: new})

    return tamper


TAMPERS: dict[str, Tamper] = {
    "swapped outputs": swap_outputs,
    "duplicated output": duplicate_output,
    "duplicated re-encrypted output": duplicate_reencrypted,
    "replaced output": replace_output,
    "altered component": alter_component,
    "altered input": alter_input,
    "swapped permutation commitments": swap_commitments,
    "replaced permutation commitment": replace_commitment,
    "altered commitment chain": alter_chain,
    **{
        f"altered {f}": _scalar_tamper(f)
        for f in ("challenge", "s1", "s2", "s3", "s4", "s_hat", "s_prime")
    },
}


@settings(max_examples=25, deadline=None)
@given(
    count=st.integers(min_value=1, max_value=7),
    width=st.integers(min_value=3, max_value=5),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_honest_shuffles_verify(count: int, width: int, seed: int) -> None:
    s = honest_shuffle(count, width, seed)
    assert s.outputs == apply_shuffle(MAIL_KEY, s.inputs, s.witness)
    assert accepted(s)


@pytest.mark.parametrize("tamper", sorted(TAMPERS))
@settings(max_examples=5, deadline=None)
@given(
    count=st.integers(min_value=2, max_value=6),
    seed=st.integers(min_value=0, max_value=2**32),
)
def test_invalid_tampered_shuffles(count: int, seed: int, tamper: str) -> None:
    s = honest_shuffle(count, 3, seed)
    inputs, outputs, proof = TAMPERS[tamper](s)
    assert not accepted(s, inputs=inputs, outputs=outputs, proof=proof)


@pytest.mark.parametrize("drop", [0, -1])
def test_invalid_dropped_cell(drop: int) -> None:
    s = honest_shuffle(4, 3, 1)
    outputs = tuple(c for i, c in enumerate(s.outputs) if i != drop % 4)
    with pytest.raises(InvalidProof, match="size"):
        verify_shuffle(MAIL_KEY, s.inputs, outputs, s.proof, CONTEXT)


def test_invalid_dishonest_shuffler_cannot_prove_a_duplication() -> None:
    # The shuffler outputs input 0 twice (re-encrypted) and drops input 1,
    # then proves with a real permutation and its randomness: rejected.
    rng = seeded_rng(5)
    inputs = random_cells(4, 3, rng)
    witness = ShuffleWitness(
        (0, 1, 2, 3), tuple(tuple(random_scalar(rng) for _ in range(3)) for _ in range(4))
    )
    mapping = (0, 0, 2, 3)
    outputs = tuple(
        reencrypt(MAIL_KEY, inputs[j], s) for j, s in zip(mapping, witness.randomness, strict=True)
    )
    proof = prove_shuffle(MAIL_KEY, inputs, outputs, witness, CONTEXT, rng)
    with pytest.raises(InvalidProof):
        verify_shuffle(MAIL_KEY, inputs, outputs, proof, CONTEXT)


def test_invalid_dishonest_shuffler_cannot_prove_a_replacement() -> None:
    # The shuffler swaps in a cell of its own and proves over its real outputs.
    s = honest_shuffle(4, 3, 6)
    outputs = (random_cells(1, 3, seeded_rng(7))[0], *s.outputs[1:])
    proof = prove_shuffle(MAIL_KEY, s.inputs, outputs, s.witness, CONTEXT, seeded_rng(8))
    assert not accepted(s, outputs=outputs, proof=proof)


def test_invalid_proof_in_another_context() -> None:
    s = honest_shuffle(3, 3, 2)
    for context in (
        replace(CONTEXT, batch=4),
        replace(CONTEXT, step=1),
        replace(CONTEXT, shuffler=b"validator-2"),
        replace(CONTEXT, chain_id="other"),
    ):
        assert not accepted(s, context=context)
    assert not accepted(s, mail_key=group.base_mul(7))
    assert accepted(s)


def test_invalid_shapes_and_scalars() -> None:
    s = honest_shuffle(3, 3, 3)
    with pytest.raises(InvalidProof, match="shape"):
        verify_shuffle(
            MAIL_KEY, s.inputs, s.outputs, replace(s.proof, s_hat=s.proof.s_hat[:-1]), CONTEXT
        )
    with pytest.raises(InvalidProof, match="shape"):
        verify_shuffle(
            MAIL_KEY, s.inputs, s.outputs, replace(s.proof, s4=(*s.proof.s4, 1)), CONTEXT
        )
    with pytest.raises(InvalidProof, match="range"):
        verify_shuffle(
            MAIL_KEY, s.inputs, s.outputs, replace(s.proof, s1=s.proof.s1 + ORDER), CONTEXT
        )
    wider = random_cells(3, 4, seeded_rng(4))
    with pytest.raises(InvalidProof, match="widths"):
        verify_shuffle(MAIL_KEY, s.inputs, wider, s.proof, CONTEXT)
    with pytest.raises(InvalidProof):
        verify_shuffle(MAIL_KEY, (), (), s.proof, CONTEXT)
    identity_cell = EncryptedCell(
        (Ciphertext(group.IDENTITY, s.outputs[0].components[0].b), *s.outputs[0].components[1:])
    )
    with pytest.raises(InvalidProof, match="identity"):
        verify_shuffle(MAIL_KEY, s.inputs, (identity_cell, *s.outputs[1:]), s.proof, CONTEXT)
    with pytest.raises(InvalidProof, match="identity"):
        verify_shuffle(group.IDENTITY, s.inputs, s.outputs, s.proof, CONTEXT)


def test_prover_refuses_a_witness_of_another_shape() -> None:
    s = honest_shuffle(3, 3, 4)
    short = ShuffleWitness((1, 0), s.witness.randomness[:2])
    with pytest.raises(InvalidParameters):
        prove_shuffle(MAIL_KEY, s.inputs, s.outputs, short, CONTEXT, seeded_rng(1))
    narrow = ShuffleWitness(s.witness.permutation, tuple(r[:2] for r in s.witness.randomness))
    with pytest.raises(InvalidParameters):
        prove_shuffle(MAIL_KEY, s.inputs, s.outputs, narrow, CONTEXT, seeded_rng(1))
    with pytest.raises(InvalidParameters):
        ShuffleWitness((0, 0, 1), s.witness.randomness)


def test_proofs_are_randomized_and_hide_the_witness() -> None:
    s = honest_shuffle(4, 3, 10)
    again = prove_shuffle(MAIL_KEY, s.inputs, s.outputs, s.witness, CONTEXT, seeded_rng(11))
    assert again.permutation_commitment != s.proof.permutation_commitment
    assert accepted(s, proof=again)
    # A broken random source is hedged by the witness: still a valid, fresh proof.
    constant = prove_shuffle(MAIL_KEY, s.inputs, s.outputs, s.witness, CONTEXT, lambda n: bytes(n))
    assert accepted(s, proof=constant)


CROSS_CHECK_CASES = [
    "honest",
    "swapped outputs",
    "duplicated output",
    "replaced output",
    "swapped permutation commitments",
    "altered s_prime",
    "altered s4",
]


@pytest.mark.parametrize("case", CROSS_CHECK_CASES)
def test_backends_agree(case: str) -> None:
    s = honest_shuffle(3, 3, 21)
    inputs, outputs, proof = (
        (s.inputs, s.outputs, s.proof) if case == "honest" else TAMPERS[case](s)
    )
    fast = accepted(s, inputs=inputs, outputs=outputs, proof=proof)
    reference = accepted(s, inputs=inputs, outputs=outputs, proof=proof, backend=PYTHON_ECDSA)
    assert fast == reference == (case == "honest")


@pytest.mark.parametrize(("count", "width"), [(1, 3), (5, 3), (4, 8)])
def test_cost_is_exactly_what_the_verifier_runs(count: int, width: int) -> None:
    s = honest_shuffle(count, width, 30)
    counter = CountingBackend()
    verify_shuffle(MAIL_KEY, s.inputs, s.outputs, s.proof, CONTEXT, counter)
    assert counter.terms == shuffle_verification_cost(count, width)
    counter = CountingBackend()
    _, outputs, proof = alter_component(s)
    with pytest.raises(InvalidProof):
        verify_shuffle(MAIL_KEY, s.inputs, outputs, proof, CONTEXT, counter)
    assert counter.terms <= shuffle_verification_cost(count, width)


def test_cost_formula() -> None:
    assert shuffle_verification_cost(64, 8) == 4 * 64 * 8 + 5 * 64 + 2 * 8 + 7
    with pytest.raises(InvalidParameters):
        shuffle_verification_cost(0, 8)
    with pytest.raises(InvalidParameters):
        shuffle_verification_cost(4, 2)


def test_invalid_contexts() -> None:
    for args in (
        ("", 1, 0, b"v"),
        (CHAIN_ID, -1, 0, b"v"),
        (CHAIN_ID, 1, -1, b"v"),
        (CHAIN_ID, 1, 0, b""),
        (CHAIN_ID, 1, 0, bytes(65)),
    ):
        with pytest.raises(InvalidParameters):
            ShuffleContext(*args)  # type: ignore[arg-type]


def test_provers_agree_across_backends() -> None:
    # Proving is deterministic given the random source: the python-ecdsa
    # backend must produce the same outputs and the same proof, byte for
    # byte, as libsecp256k1 (whose secret products go through secp256k1_ecdh).
    inputs = random_cells(3, 3, seeded_rng(40))
    results = []
    for backend in (LIBSECP256K1, PYTHON_ECDSA):
        rng = seeded_rng(41)
        outputs, witness = shuffle_cells(MAIL_KEY, inputs, rng, backend)
        proof = prove_shuffle(MAIL_KEY, inputs, outputs, witness, CONTEXT, rng, backend)
        results.append((outputs, proof))
    assert results[0] == results[1]
    verify_shuffle(MAIL_KEY, inputs, *results[0], CONTEXT)
