"""Fixtures and builders for the mix's tests: seeded random sources, a
mail key shared 3-of-4, batches of real letters, and a backend that counts
the scalar multiplications a verifier asks for."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pytest
from coincurve import PrivateKey

from ledger.address import address_of
from ledger.features.mail.curve import LIBSECP256K1, GroupBackend, Term
from ledger.features.mail.elgamal import EncryptedCell
from ledger.features.mail.letters import seal_letter
from ledger.features.mail.submission import SubmissionContext, submit_letter
from ledger.threshold.group import Point, RandomBytes
from ledger.threshold.keys import KeyPackage, PublicKeyPackage, trusted_dealer_keygen

CHAIN_ID = "mail-test"


def seeded_rng(seed: int) -> RandomBytes:
    """A deterministic random source for tests (never for production)."""
    return random.Random(seed).randbytes


@dataclass(frozen=True)
class MailKey:
    """A mail key shared among members 1..n, threshold t (trusted dealer:
    tests only; the chain's key comes from the DKG)."""

    secret: int
    keys: tuple[KeyPackage, ...]
    public: PublicKeyPackage

    @property
    def public_key(self) -> Point:
        return self.public.group_public_key


def make_mail_key(seed: int, members: int = 4, threshold: int = 3) -> MailKey:
    rng = seeded_rng(seed)
    secret = int.from_bytes(rng(32), "big") % (2**255) + 1
    keys, public = trusted_dealer_keygen(secret, members, threshold, rng)
    return MailKey(secret, tuple(keys), public)


@dataclass(frozen=True)
class Person:
    """A mail user: a secp256k1 key and its address."""

    secret: bytes
    public_key: bytes

    @property
    def address(self) -> bytes:
        return address_of(self.public_key)


def make_people(count: int, rng: RandomBytes) -> list[Person]:
    people = []
    for _ in range(count):
        key = PrivateKey(rng(32))
        people.append(Person(key.secret, key.public_key.format(compressed=True)))
    return people


def letter_batch(
    mail_key: Point,
    senders: Sequence[Person],
    recipients: Sequence[Person],
    width: int,
    rng: RandomBytes,
    batch: int = 1,
) -> tuple[EncryptedCell, ...]:
    """One cell per sender, each a real letter to the matching recipient."""
    cells = []
    for n, (sender, recipient) in enumerate(zip(senders, recipients, strict=True)):
        letter = seal_letter(recipient.public_key, b"letter %d" % n, width, rng)
        context = SubmissionContext(CHAIN_ID, sender.address, batch)
        cells.append(submit_letter(mail_key, letter, context, rng).submission.cell)
    return tuple(cells)


class CountingBackend:
    """Delegates to another backend and counts the terms of every
    multi-scalar multiplication (the unit the cost functions count)."""

    def __init__(self, inner: GroupBackend = LIBSECP256K1) -> None:
        self.inner = inner
        self.name = f"counting({inner.name})"
        self.terms = 0

    def multi_mul(self, terms: Sequence[Term]) -> Point:
        self.terms += len(terms)
        return self.inner.multi_mul(terms)

    def point_sum(self, points: Iterable[Point]) -> Point:
        return self.inner.point_sum(points)

    def secret_mul(self, p: Point, k: int) -> Point:
        return self.inner.secret_mul(p, k)


@pytest.fixture
def rng() -> RandomBytes:
    return seeded_rng(20250101)


@pytest.fixture(scope="session")
def mail_key() -> MailKey:
    return make_mail_key(17)
