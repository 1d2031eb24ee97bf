"""What the client (and other features) may use of the mail feature: sealing
a letter to a recipient and opening one, making a submission bound to the
transaction that carries it, the cell sizes, and reading a decrypted
letter's recipient. See docs/spec/mail.md."""

from __future__ import annotations

from ledger.features.mail.errors import InvalidLetter, MailError, UnreadableLetter
from ledger.features.mail.letters import Letter, open_letter, seal_letter
from ledger.features.mail.params import message_capacity
from ledger.features.mail.submission import SubmissionContext, submit_letter
from ledger.features.mail.wire import encode_submission

__all__ = [
    "InvalidLetter",
    "Letter",
    "MailError",
    "SubmissionContext",
    "UnreadableLetter",
    "encode_submission",
    "message_capacity",
    "open_letter",
    "seal_letter",
    "submit_letter",
]
