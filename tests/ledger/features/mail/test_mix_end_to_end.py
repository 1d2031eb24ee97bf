"""A whole batch through the pure pipeline, every message crossing as wire
bytes: 16 senders submit, two validators shuffle in turn with proofs, three
of four key holders decrypt (a fourth posts a bad share and is named), and
every recipient reads its own letter. Nothing posted before decryption
shows a recipient or a message."""

from __future__ import annotations

from ledger.features.mail import wire
from ledger.features.mail.decryption import (
    DecryptionContext,
    decrypt_batch,
    make_decryption_share,
    verify_decryption_share,
)
from ledger.features.mail.errors import InvalidDecryptionShare
from ledger.features.mail.letters import letter_from_points, open_letter, seal_letter
from ledger.features.mail.params import DEFAULT_WIDTH
from ledger.features.mail.shuffle import shuffle_cells
from ledger.features.mail.shuffle_proof import ShuffleContext, prove_shuffle, verify_shuffle
from ledger.features.mail.submission import SubmissionContext, submit_letter, verify_submission
from ledger.features.mail.wire import decode_decryption_share, encode_decryption_share

from .conftest import CHAIN_ID, MailKey, make_people, seeded_rng

BATCH = 11
COUNT = 16


def test_sixteen_letters_through_two_shuffles_and_threshold_decryption(mail_key: MailKey) -> None:
    rng = seeded_rng(2024)
    senders = make_people(COUNT, rng)
    recipients = make_people(COUNT, rng)
    messages = [b"letter %d from sender %d" % (n, n) for n in range(COUNT)]
    posted: list[bytes] = []

    # Senders submit; the chain decodes and checks each against its signer.
    cells = []
    for sender, recipient, message in zip(senders, recipients, messages, strict=True):
        letter = seal_letter(recipient.public_key, message, DEFAULT_WIDTH, rng)
        context = SubmissionContext(CHAIN_ID, sender.address, BATCH)
        data = wire.encode_submission(
            submit_letter(mail_key.public_key, letter, context, rng).submission
        )
        posted.append(data)
        submission = wire.decode_submission(data, DEFAULT_WIDTH)
        verify_submission(mail_key.public_key, submission, context, DEFAULT_WIDTH)
        cells.append(submission.cell)
    batch = tuple(cells)

    # Two validators shuffle in turn; each result is checked before the next.
    for step, shuffler in enumerate((b"validator-2", b"validator-4")):
        context = ShuffleContext(CHAIN_ID, BATCH, step, shuffler)
        outputs, witness = shuffle_cells(mail_key.public_key, batch, rng)
        proof = prove_shuffle(mail_key.public_key, batch, outputs, witness, context, rng)
        data = wire.encode_shuffle(outputs, proof)
        posted.append(data)
        outputs, proof = wire.decode_shuffle(data, COUNT, DEFAULT_WIDTH)
        verify_shuffle(mail_key.public_key, batch, outputs, proof, context)
        batch = outputs

    # Members 1, 2 and 4 decrypt honestly; member 3 posts a share for another batch.
    context = DecryptionContext(CHAIN_ID, BATCH)
    shares = []
    for key in mail_key.keys:
        share_context = context if key.identifier != 3 else DecryptionContext(CHAIN_ID, BATCH + 1)
        data = encode_decryption_share(make_decryption_share(key, batch, share_context, rng))
        posted.append(data)
        shares.append(decode_decryption_share(data, COUNT, DEFAULT_WIDTH))
    try:
        verify_decryption_share(mail_key.public, batch, shares[2], context)
    except InvalidDecryptionShare as e:
        assert e.identifiers == (3,)
    else:
        raise AssertionError("a share for another batch was accepted")
    result = decrypt_batch(mail_key.public, batch, shares, context)
    assert result.rejected == (3,)

    delivered = [letter_from_points(points) for points in result.plaintexts]
    by_address = {r.address: (r, m) for r, m in zip(recipients, messages, strict=True)}
    assert sorted(letter.recipient for letter in delivered) == sorted(by_address)
    for letter in delivered:
        recipient, message = by_address[letter.recipient]
        assert open_letter(letter, recipient.secret) == message

    public = b"".join(posted)
    for recipient, message in zip(recipients, messages, strict=True):
        assert message not in public
        assert recipient.address not in public
    for letter in delivered:
        assert letter.sealed not in public
