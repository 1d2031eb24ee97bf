"""Mailboxes: where the mix delivers each decrypted letter, for its
recipient to read and open, and from where letters disappear.

A mailbox holds a recipient's letters in delivery order, each with its
batch, the sealed bytes (only the recipient's key opens them) and its
delivery height. A letter leaves the state ``retention_blocks`` after it
was delivered (``expire_letters``, an end-of-block step, through an index
by expiry height), or earlier when ``mailbox_capacity`` newer letters have
arrived (the oldest is pushed out). Block history keeps what it kept
before: the ciphertexts, proofs and decryption shares
(docs/spec/mail.md says exactly what stays and what goes).
"""

from __future__ import annotations

from ledger.features.mail.config import MailConfig
from ledger.features.mail.records import (
    MailboxLetter,
    get_expiring,
    get_mailbox_letter,
    get_mailbox_range,
    set_expiring,
    set_mailbox_letter,
    set_mailbox_range,
)
from ledger.state import State


def deliver_letters(
    state: State,
    config: MailConfig,
    height: int,
    batch_id: int,
    letters: list[tuple[bytes, bytes]],
) -> None:
    """Put each (recipient, sealed) in its recipient's mailbox, in order,
    to expire at ``height + retention_blocks``."""
    expires_at = height + config.retention_blocks
    expiring = list(get_expiring(state, expires_at))
    for recipient, sealed in letters:
        next_sequence, first = get_mailbox_range(state, recipient)
        set_mailbox_letter(state, recipient, next_sequence, MailboxLetter(batch_id, sealed, height))
        expiring.append((recipient, next_sequence))
        next_sequence += 1
        while next_sequence - first > config.mailbox_capacity:
            set_mailbox_letter(state, recipient, first, None)
            first += 1
        set_mailbox_range(state, recipient, next_sequence, first)
    set_expiring(state, expires_at, expiring)


def expire_letters(state: State, height: int) -> int:
    """Remove the letters due to expire at ``height``; returns how many were
    still there (a letter pushed out earlier is skipped)."""
    removed = 0
    for recipient, sequence in get_expiring(state, height):
        if get_mailbox_letter(state, recipient, sequence) is None:
            continue
        set_mailbox_letter(state, recipient, sequence, None)
        removed += 1
        next_sequence, first = get_mailbox_range(state, recipient)
        set_mailbox_range(state, recipient, next_sequence, max(first, sequence + 1))
    set_expiring(state, height, ())
    return removed


def read_mailbox(
    state: State, recipient: bytes, start: int = 0, limit: int = 100
) -> tuple[list[tuple[int, MailboxLetter]], int, int]:
    """Up to ``limit`` letters with sequence >= ``start``, oldest first, and
    the mailbox's (next sequence, first sequence held)."""
    next_sequence, first = get_mailbox_range(state, recipient)
    letters = []
    for sequence in range(max(start, first), min(next_sequence, max(start, first) + limit)):
        letter = get_mailbox_letter(state, recipient, sequence)
        if letter is not None:
            letters.append((sequence, letter))
    return letters, next_sequence, first
