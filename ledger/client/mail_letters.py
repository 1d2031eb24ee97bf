"""Writing and reading anonymous mail from the client's side (docs/guide/mail.md).

A letter is sealed to the recipient's public key, put in a cell, encrypted
to the validators' mail key and proved (``submit_letter``), bound to the
transaction that will carry it: its sender's address and nonce. The
transaction is a call of the remailer's ``send(submission)``, which spends
one prepaid letter and passes the submission on to the mix. Reading is
opening the sealed letters of one's mailbox with one's own key.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from ledger.features.contracts.bodies import Call as CallBody
from ledger.features.contracts.bodies import PayCall
from ledger.features.mail.interface import (
    Letter,
    MailError,
    SubmissionContext,
    encode_submission,
    open_letter,
    seal_letter,
    submit_letter,
)
from ledger.threshold.errors import ThresholdError
from ledger.threshold.group import decode_element

from .mail_results import MailLetters

BUNDLED_REMAILER_PRICE = 1000
"""Coin per letter at the bundled remailer (vm/contracts/remailer.asm, PRICE)."""
SEND_GAS = 2_000_000
"""Gas a send call may use: the remailer's own work is far below it (and
the unused part comes back); the mix's postage is the remailer's to pay."""
BUY_GAS = 200_000


def letter_call(
    remailer: bytes,
    recipient_key: bytes,
    message: bytes,
    mail_key: bytes,
    cell_width: int,
    chain_id: str,
    sender: bytes,
    nonce: int,
    rng: Callable[[int], bytes] = os.urandom,
) -> CallBody:
    """The remailer call that sends ``message`` to the owner of
    ``recipient_key``, for a transaction from ``sender`` with ``nonce``.

    Raises MailError (InvalidLetter for a message longer than the cell
    holds, InvalidParameters for a malformed key or context)."""
    letter = seal_letter(recipient_key, message, cell_width, rng)
    context = SubmissionContext(chain_id, sender, nonce)
    try:
        key = decode_element(mail_key)
    except ThresholdError as exc:
        raise MailError(f"the mail key is not a point: {exc}") from None
    submission = submit_letter(key, letter, context, rng).submission
    return CallBody(remailer, "send", (encode_submission(submission),), SEND_GAS)


def postage_call(remailer: bytes, letters: int, price: int) -> PayCall:
    """The pay_call of the remailer's ``buy()`` for ``letters`` letters at ``price`` each."""
    return PayCall(remailer, "buy", (), BUY_GAS, letters * price)


@dataclass(frozen=True, slots=True)
class OpenedLetter:
    """A delivered letter after opening: the message, or why it did not open."""

    sequence: int
    batch_id: int
    delivered_at: int
    message: bytes | None
    error: str = ""


def open_letters(page: MailLetters, address: bytes, secret: bytes) -> list[OpenedLetter]:
    """Open every letter of a mailbox page with the recipient's secret key."""
    opened = []
    for item in page.letters:
        try:
            message: bytes | None = open_letter(Letter(address, item.sealed), secret)
            error = ""
        except MailError as exc:
            message, error = None, str(exc)
        opened.append(OpenedLetter(item.sequence, item.batch_id, item.delivered_at, message, error))
    return opened
