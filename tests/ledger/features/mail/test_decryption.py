"""Threshold decryption: honest shares verify and any t of them give the
plaintexts; a bad share is rejected and its member named; both backends
agree; the cost functions count what the verifier and combiner run."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.features.mail.curve import LIBSECP256K1, GroupBackend
from ledger.features.mail.curve_reference import PYTHON_ECDSA
from ledger.features.mail.decryption import (
    DecryptionContext,
    DecryptionShare,
    _statement,
    combination_cost,
    combine_verified_shares,
    decrypt_batch,
    decryption_share_verification_cost,
    make_decryption_share,
    verify_decryption_share,
)
from ledger.features.mail.elgamal import EncryptedCell, decrypt_with_secret
from ledger.features.mail.errors import InvalidDecryptionShare, InvalidParameters
from ledger.features.mail.letters import letter_from_points, open_letter
from ledger.features.mail.transcript import indexed_scalars
from ledger.threshold import dkg, group
from ledger.threshold.group import ORDER
from tests.ledger.threshold.inprocess import run_dkg

from .conftest import CHAIN_ID, CountingBackend, MailKey, letter_batch, make_people, seeded_rng

WIDTH = 3
CONTEXT = DecryptionContext(CHAIN_ID, 5)
SENDERS = make_people(3, seeded_rng(3))
RECIPIENTS = make_people(3, seeded_rng(4))


def batch(mail_key: MailKey) -> tuple[EncryptedCell, ...]:
    return letter_batch(mail_key.public_key, SENDERS, RECIPIENTS, WIDTH, seeded_rng(6))


def shares_of(mail_key: MailKey, cells: tuple[EncryptedCell, ...]) -> list[DecryptionShare]:
    rng = seeded_rng(8)
    return [make_decryption_share(key, cells, CONTEXT, rng) for key in mail_key.keys]


def is_valid(
    mail_key: MailKey,
    cells: tuple[EncryptedCell, ...],
    share: DecryptionShare,
    context: DecryptionContext = CONTEXT,
    backend: GroupBackend = LIBSECP256K1,
) -> bool:
    try:
        verify_decryption_share(mail_key.public, cells, share, context, backend)
    except InvalidDecryptionShare as e:
        assert e.identifiers == (share.member,)
        return False
    return True


def test_honest_shares_verify_and_decrypt(mail_key: MailKey) -> None:
    cells = batch(mail_key)
    shares = shares_of(mail_key, cells)
    expected = tuple(decrypt_with_secret(mail_key.secret, cell) for cell in cells)
    for share in shares:
        assert is_valid(mail_key, cells, share)
    for subset in itertools.combinations(shares, mail_key.public.threshold):
        assert combine_verified_shares(mail_key.public, cells, subset) == expected
    result = decrypt_batch(mail_key.public, cells, shares, CONTEXT)
    assert result.plaintexts == expected and result.rejected == ()
    for points, recipient, n in zip(result.plaintexts, RECIPIENTS, range(3), strict=True):
        letter = letter_from_points(points)
        assert letter.recipient == recipient.address
        assert open_letter(letter, recipient.secret) == b"letter %d" % n


def _changed_factor(share: DecryptionShare) -> DecryptionShare:
    row = share.factors[1]
    changed = (row[0], group.point_add(row[1], group.GENERATOR), *row[2:])
    return replace(share, factors=(share.factors[0], changed, *share.factors[2:]))


def _swapped_factors(share: DecryptionShare) -> DecryptionShare:
    return replace(share, factors=(share.factors[1], share.factors[0], *share.factors[2:]))


def _cancelling_errors(
    share: DecryptionShare, mail_key: MailKey, cells: tuple[EncryptedCell, ...]
) -> DecryptionShare:
    # Two wrong factors whose errors cancel under the honest share's weights:
    # caught, because the weights are hashed from the factors themselves.
    public_share = mail_key.public.verification_share(share.member)
    statement = _statement(cells, share.member, public_share, share.factors, CONTEXT)
    rho = indexed_scalars(b"decryption-weight", statement, 2)
    d0, d1 = share.factors[0][0], share.factors[0][1]
    p = group.base_mul(424242)
    new0 = group.point_add(d0, group.point_mul(p, rho[1]))
    new1 = group.point_add(d1, group.point_neg(group.point_mul(p, rho[0])))
    return replace(share, factors=((new0, new1, *share.factors[0][2:]), *share.factors[1:]))


def test_invalid_shares_are_rejected_and_blamed(mail_key: MailKey) -> None:
    cells = batch(mail_key)
    share = shares_of(mail_key, cells)[1]
    other = shares_of(mail_key, cells)[2]
    bad = {
        "changed factor": _changed_factor(share),
        "swapped factors": _swapped_factors(share),
        "errors cancelling under fixed weights": _cancelling_errors(share, mail_key, cells),
        "another member's factors": replace(share, factors=other.factors),
        "relabelled share": replace(other, member=share.member),
        "bumped response": replace(share, response=(share.response + 1) % ORDER),
        "bumped challenge": replace(share, challenge=(share.challenge + 1) % ORDER),
        "response out of range": replace(share, response=share.response + ORDER),
        "missing row": replace(share, factors=share.factors[:-1]),
        "short row": replace(share, factors=(share.factors[0][:-1], *share.factors[1:])),
        "identity factor": replace(
            share, factors=((group.IDENTITY, *share.factors[0][1:]), *share.factors[1:])
        ),
        "not a member": replace(share, member=9),
    }
    for name, forged in bad.items():
        assert not is_valid(mail_key, cells, forged), name


def test_invalid_share_for_another_batch_or_chain(mail_key: MailKey) -> None:
    cells = batch(mail_key)
    share = shares_of(mail_key, cells)[0]
    assert not is_valid(mail_key, cells, share, replace(CONTEXT, batch=6))
    assert not is_valid(mail_key, cells, share, replace(CONTEXT, chain_id="other"))
    # The same factors over a re-shuffled (different) batch.
    assert not is_valid(mail_key, cells[::-1], share)


@pytest.mark.parametrize(
    "forgery", ["honest", "changed factor", "swapped factors", "bumped response"]
)
def test_backends_agree(mail_key: MailKey, forgery: str) -> None:
    cells = batch(mail_key)
    share = shares_of(mail_key, cells)[0]
    forged = {
        "honest": share,
        "changed factor": _changed_factor(share),
        "swapped factors": _swapped_factors(share),
        "bumped response": replace(share, response=(share.response + 1) % ORDER),
    }[forgery]
    fast = is_valid(mail_key, cells, forged)
    assert fast == is_valid(mail_key, cells, forged, backend=PYTHON_ECDSA) == (forgery == "honest")


def test_share_makers_agree_across_backends(mail_key: MailKey) -> None:
    cells = batch(mail_key)
    made = [
        make_decryption_share(mail_key.keys[1], cells, CONTEXT, seeded_rng(50), backend)
        for backend in (LIBSECP256K1, PYTHON_ECDSA)
    ]
    assert made[0] == made[1] and is_valid(mail_key, cells, made[0])


def test_decrypt_batch_drops_and_names_bad_shares(mail_key: MailKey) -> None:
    cells = batch(mail_key)
    shares = shares_of(mail_key, cells)
    expected = tuple(decrypt_with_secret(mail_key.secret, cell) for cell in cells)
    one_bad = [shares[0], _changed_factor(shares[1]), shares[2], shares[3]]
    result = decrypt_batch(mail_key.public, cells, one_bad, CONTEXT)
    assert result.plaintexts == expected and result.rejected == (2,)
    two_bad = [shares[0], _changed_factor(shares[1]), _swapped_factors(shares[2]), shares[3]]
    with pytest.raises(InvalidDecryptionShare) as raised:
        decrypt_batch(mail_key.public, cells, two_bad, CONTEXT)
    assert raised.value.identifiers == (2, 3)
    with pytest.raises(InvalidParameters):
        decrypt_batch(mail_key.public, cells, [shares[0], shares[0], shares[1]], CONTEXT)


def test_combination_needs_t_distinct_shares(mail_key: MailKey) -> None:
    cells = batch(mail_key)
    shares = shares_of(mail_key, cells)
    with pytest.raises(InvalidParameters):
        combine_verified_shares(mail_key.public, cells, shares[:2])
    with pytest.raises(InvalidParameters):
        combine_verified_shares(mail_key.public, cells, [shares[0], shares[0], shares[1]])
    # t - 1 shares with the wrong Lagrange set give no plaintext.
    partial = combine_verified_shares(replace(mail_key.public, threshold=2), cells, shares[:2])
    assert partial != tuple(decrypt_with_secret(mail_key.secret, cell) for cell in cells)


@settings(max_examples=10, deadline=None)
@given(subset=st.sets(st.integers(min_value=1, max_value=4), min_size=3, max_size=4))
def test_any_t_members_decrypt(subset: set[int], mail_key: MailKey) -> None:
    cells = batch(mail_key)
    shares = [s for s in shares_of(mail_key, cells) if s.member in subset]
    plaintexts = combine_verified_shares(mail_key.public, cells, shares)
    assert plaintexts == tuple(decrypt_with_secret(mail_key.secret, c) for c in cells)


def test_costs_are_what_the_verifier_and_combiner_run(mail_key: MailKey) -> None:
    cells = batch(mail_key)
    shares = shares_of(mail_key, cells)
    counter = CountingBackend()
    verify_decryption_share(mail_key.public, cells, shares[0], CONTEXT, counter)
    assert counter.terms == decryption_share_verification_cost(len(cells), WIDTH) == 2 * 3 * 3 + 4
    counter = CountingBackend()
    combine_verified_shares(mail_key.public, cells, shares, counter)
    assert counter.terms == combination_cost(len(cells), WIDTH, 3)


def test_a_key_from_the_dkg_decrypts() -> None:
    session = dkg.DkgSession(b"mail key epoch 1", 3, (1, 2, 3, 4, 5))
    results = run_dkg(session, seeded_rng(12))
    keys = [results[i].key_package for i in sorted(results)]
    public = keys[0].public
    people = make_people(2, seeded_rng(13))
    cells = letter_batch(public.group_public_key, people, people[::-1], WIDTH, seeded_rng(14))
    shares = [make_decryption_share(k, cells, CONTEXT, seeded_rng(k.identifier)) for k in keys[2:]]
    result = decrypt_batch(public, cells, shares, CONTEXT)
    letters = [letter_from_points(points) for points in result.plaintexts]
    assert [
        open_letter(letter, p.secret) for letter, p in zip(letters, people[::-1], strict=True)
    ] == [
        b"letter 0",
        b"letter 1",
    ]


def test_invalid_contexts() -> None:
    with pytest.raises(InvalidParameters):
        DecryptionContext("", 1)
    with pytest.raises(InvalidParameters):
        DecryptionContext(CHAIN_ID, -1)
