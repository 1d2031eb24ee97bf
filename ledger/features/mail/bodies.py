"""Transaction bodies of the mail kinds (tags 70-79), and the mix's address.

=====  ============  ==========================================================
kind   name          fields
=====  ============  ==========================================================
70     mail_shuffle  batch id, step, shuffle bytes (the batch re-encrypted and
                     permuted, with its proof of shuffle; docs/spec/mail.md)
71     mail_decrypt  batch id, key epoch, decryption share bytes (one factor
                     per point of the batch, with a Chaum-Pedersen proof)
=====  ============  ==========================================================

Both are sent by validators' nodes (consensus.node.mail): the shuffler
whose turn it is, and each holder of the mail key. Letters do not come as a
body of their own: a remailer contract passes each one on as a message to
``MIX_ADDRESS`` with entry ``submit`` and the submission bytes as its one
argument (ledger.features.mail.execution.accept_letter).

Shapes and sizes only here; the rules are in ``execution``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from ledger.address import derive_address
from ledger.fields import check_bytes, check_uint, ensure
from ledger.types import MAX_TX_SIZE

MIX_ADDRESS: Final = derive_address("ledger/mail/mix", b"")
"""Where remailers send letters: a system address (no key, no contract has it)."""
SUBMIT_ENTRY: Final = "submit"
MAX_MAIL_BODY: Final = MAX_TX_SIZE


@dataclass(frozen=True, slots=True)
class MailShuffle:
    """The shuffler whose turn it is posts the batch re-encrypted and permuted,
    with its proof: ``step`` is the number of shuffles already accepted."""

    KIND: ClassVar[int] = 70
    NAME: ClassVar[str] = "mail_shuffle"
    batch_id: int
    step: int
    shuffle: bytes

    def to_fields(self) -> tuple[Any, ...]:
        return (self.batch_id, self.step, self.shuffle)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MailShuffle:
        ensure(len(fields) == 3, "mail_shuffle has 3 fields")
        batch_id, step, shuffle = fields
        return cls(
            check_uint(batch_id, "batch_id"),
            check_uint(step, "step", 1024),
            check_bytes(shuffle, "shuffle", max_size=MAX_MAIL_BODY),
        )


@dataclass(frozen=True, slots=True)
class MailDecrypt:
    """A holder of the mail key posts its decryption share of a shuffled
    batch, made with its share of key epoch ``epoch``."""

    KIND: ClassVar[int] = 71
    NAME: ClassVar[str] = "mail_decrypt"
    batch_id: int
    epoch: int
    share: bytes

    def to_fields(self) -> tuple[Any, ...]:
        return (self.batch_id, self.epoch, self.share)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> MailDecrypt:
        ensure(len(fields) == 3, "mail_decrypt has 3 fields")
        batch_id, epoch, share = fields
        return cls(
            check_uint(batch_id, "batch_id"),
            check_uint(epoch, "epoch"),
            check_bytes(share, "share", max_size=MAX_MAIL_BODY),
        )
