"""Wire encodings of the ceremony messages: round trips, one canonical form,
strict decoding with typed errors; secret shares open only for their
receiver, from their dealer, in their session."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.crypto import SigningKey, sha256
from ledger.threshold import ceremony, dkg, frost, reshare
from ledger.threshold.ceremony import Complaint, Justification, SecretShare
from ledger.threshold.errors import InvalidEncoding
from ledger.threshold.group import ORDER
from ledger.threshold.transport import (
    decode_commitment_list,
    decode_complaint,
    decode_confirmation,
    decode_encrypted_share,
    decode_justification,
    decode_public_key_package,
    decode_reshare_package,
    decode_round1_package,
    decrypt_share,
    encode_commitment_list,
    encode_complaint,
    encode_confirmation,
    encode_encrypted_share,
    encode_justification,
    encode_public_key_package,
    encode_reshare_package,
    encode_round1_package,
    encrypt_share,
)
from tests.hypothesis_profiles import examples
from tests.msgpack_mutations import look_alikes, replaced, value_at, value_paths

from .inprocess import run_dkg, seeded_rng

DEALER = SigningKey(sha256(b"transport test dealer"))
RECEIVER = SigningKey(sha256(b"transport test receiver"))
OTHER = SigningKey(sha256(b"transport test other"))


def _dkg() -> dict[int, ceremony.CeremonyResult]:
    return run_dkg(dkg.DkgSession(b"transport", 2, (1, 2, 3)), seeded_rng(3))


def test_every_message_round_trips() -> None:
    session = dkg.DkgSession(b"transport", 2, (1, 2, 3))
    _, package = dkg.dkg_round1(session, 2, seeded_rng(1))
    assert decode_round1_package(encode_round1_package(package)) == package
    results = _dkg()
    keys = [r.key_package for r in results.values()]
    resharing = reshare.ReshareSession(b"r", keys[0].public, 2, (1, 2, 3))
    _, deal, _ = reshare.reshare_deal(resharing, keys[0], seeded_rng(2))
    assert decode_reshare_package(encode_reshare_package(deal)) == deal
    assert decode_complaint(encode_complaint(Complaint(3, 1))) == Complaint(3, 1)
    justification = Justification(1, 3, 12345)
    assert decode_justification(encode_justification(justification)) == justification
    confirmation = ceremony.confirm(results[1], seeded_rng(4))
    assert decode_confirmation(encode_confirmation(confirmation)) == confirmation
    public = keys[0].public
    assert decode_public_key_package(encode_public_key_package(public)) == public
    commitments = sorted(
        (frost.commit(k, seeded_rng(5))[1] for k in keys), key=lambda c: c.identifier
    )
    assert decode_commitment_list(encode_commitment_list(commitments)) == tuple(commitments)


def _mangled(encode: Callable[[], bytes]) -> list[bytes]:
    good = codec.decode(encode())
    variants: list[Any] = [good[:-1], (*good, 0), ()]
    for index, item in enumerate(good):
        for replacement in (0, -1, b"", b"\x00" * 33, "x", (b"\x02" + b"\xff" * 32,)):
            if replacement != item:
                variants.append((*good[:index], replacement, *good[index + 1 :]))
    return [codec.encode(v) for v in variants]


def _samples() -> list[tuple[bytes, Callable[[bytes], Any], Callable[[Any], bytes]]]:
    """One encoded message of each kind, with its decoder and encoder."""
    session = dkg.DkgSession(b"transport", 2, (1, 2, 3))
    _, package = dkg.dkg_round1(session, 2, seeded_rng(1))
    results = _dkg()
    keys = [r.key_package for r in results.values()]
    resharing = reshare.ReshareSession(b"r", keys[0].public, 2, (1, 2, 3))
    _, deal, _ = reshare.reshare_deal(resharing, keys[0], seeded_rng(2))
    commitments = sorted(
        (frost.commit(k, seeded_rng(5))[1] for k in keys), key=lambda c: c.identifier
    )
    encrypted = encrypt_share(
        SecretShare(1, 2, 424242),
        b"session",
        DEALER.secret,
        DEALER.public_key,
        RECEIVER.public_key,
        bytes(range(12)),
    )
    pairs: list[tuple[Any, Callable[[bytes], Any], Callable[[Any], bytes]]] = [
        (package, decode_round1_package, encode_round1_package),
        (deal, decode_reshare_package, encode_reshare_package),
        (Complaint(3, 1), decode_complaint, encode_complaint),
        (Justification(1, 3, 12345), decode_justification, encode_justification),
        (ceremony.confirm(results[1], seeded_rng(4)), decode_confirmation, encode_confirmation),
        (keys[0].public, decode_public_key_package, encode_public_key_package),
        (commitments, decode_commitment_list, encode_commitment_list),
        (encrypted, decode_encrypted_share, encode_encrypted_share),
    ]
    return [(encode(value), decode, encode) for value, decode, encode in pairs]


SAMPLES = _samples()


@settings(max_examples=examples(300), deadline=None)
@given(st.data())
def test_fuzz_mutated_messages_are_refused_or_canonical(data: st.DataObject) -> None:
    """A ceremony message with a few bytes changed and perhaps cut short is
    refused with InvalidEncoding, or decodes to a message whose encoding is
    exactly those bytes."""
    original, decode, encode = data.draw(st.sampled_from(SAMPLES), label="message")
    mutated = bytearray(original)
    for _ in range(data.draw(st.integers(1, 4), label="changes")):
        position = data.draw(st.integers(0, len(mutated) - 1), label="position")
        mutated[position] = data.draw(st.integers(0, 255), label="byte")
    raw = bytes(mutated[: data.draw(st.integers(0, len(mutated)), label="length")])
    try:
        message = decode(raw)
    except InvalidEncoding:
        return
    assert encode(message) == raw


def test_every_look_alike_value_is_refused_or_canonical() -> None:
    """Exhaustively, for every ceremony message: each value of its msgpack
    tree replaced by each look-alike (tests/msgpack_mutations.py) is refused
    with InvalidEncoding or decodes to a message that encodes to exactly
    those bytes."""
    tried = 0
    for original, decode, encode in SAMPLES:
        tree = msgpack.unpackb(original, raw=False)
        for path in value_paths(tree):
            for value in look_alikes(value_at(tree, path)):
                raw = msgpack.packb(replaced(tree, path, value), use_bin_type=True)
                try:
                    message = decode(raw)
                except InvalidEncoding:
                    continue
                finally:
                    tried += 1
                assert encode(message) == raw, (decode.__name__, path, value)
    assert tried > 100


@pytest.mark.parametrize(
    "encode, decode",
    [
        (lambda: encode_complaint(Complaint(3, 1)), decode_complaint),
        (lambda: encode_justification(Justification(1, 3, 7)), decode_justification),
        (
            lambda: encode_confirmation(ceremony.confirm(_dkg()[1], seeded_rng(4))),
            decode_confirmation,
        ),
        (
            lambda: encode_round1_package(
                dkg.dkg_round1(dkg.DkgSession(b"s", 2, (1, 2)), 1, seeded_rng(1))[1]
            ),
            decode_round1_package,
        ),
        (
            lambda: encode_public_key_package(_dkg()[1].key_package.public),
            decode_public_key_package,
        ),
    ],
)
def test_invalid_encodings_raise_invalid_encoding(
    encode: Callable[[], bytes], decode: Callable[[bytes], object]
) -> None:
    for bad in [b"", b"\xc1", b"\x90", encode() + b"\x00", *_mangled(encode)]:
        with pytest.raises(InvalidEncoding):
            decode(bad)


def test_invalid_scalars_and_orders_are_refused() -> None:
    with pytest.raises(InvalidEncoding):
        decode_justification(codec.encode((1, 3, ORDER.to_bytes(32, "big"))))
    public = _dkg()[1].key_package.public
    group, threshold, shares = codec.decode(encode_public_key_package(public))
    with pytest.raises(InvalidEncoding):
        decode_public_key_package(codec.encode((group, threshold, tuple(reversed(shares)))))
    with pytest.raises(InvalidEncoding):
        decode_public_key_package(codec.encode((group, 4, shares)))
    with pytest.raises(InvalidEncoding):
        decode_commitment_list(codec.encode((b"\x00" * 98,)))


def _seal(share: SecretShare, context: bytes = b"session-1") -> Any:
    return encrypt_share(
        share, context, DEALER.secret, DEALER.public_key, RECEIVER.public_key, bytes(range(12))
    )


def test_a_share_opens_only_for_its_receiver_dealer_and_session() -> None:
    share = SecretShare(1, 2, 424242)
    sealed = decode_encrypted_share(encode_encrypted_share(_seal(share)))
    opened = decrypt_share(
        sealed, b"session-1", RECEIVER.secret, RECEIVER.public_key, DEALER.public_key
    )
    assert opened == share
    wrong_cases = [
        (sealed, b"session-2", RECEIVER, DEALER),  # replayed into another ceremony
        (sealed, b"session-1", OTHER, DEALER),  # another receiver
        (sealed, b"session-1", RECEIVER, OTHER),  # claimed by another dealer
        (_with(sealed, receiver=3), b"session-1", RECEIVER, DEALER),  # re-addressed
        (_with(sealed, ciphertext=bytes(48)), b"session-1", RECEIVER, DEALER),
    ]
    for box, context, receiver, dealer in wrong_cases:
        with pytest.raises(InvalidEncoding):
            decrypt_share(box, context, receiver.secret, receiver.public_key, dealer.public_key)


def _with(sealed: Any, **changes: Any) -> Any:
    from dataclasses import replace

    return replace(sealed, **changes)


def test_encrypted_share_decoding_is_strict() -> None:
    good = codec.decode(encode_encrypted_share(_seal(SecretShare(1, 2, 5))))
    for bad in [
        good[:3],
        (*good[:2], b"\x00" * 11, good[3]),
        (*good[:3], good[3][:-1]),
        (0, *good[1:]),
    ]:
        with pytest.raises(InvalidEncoding):
            decode_encrypted_share(codec.encode(bad))
