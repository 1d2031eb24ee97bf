"""The RPC queries of the mix (docs/spec/rpc.md, "Mail").

``MailQueries.methods()`` lists, for the method table of
consensus.node.rpc.methods:

- ``ledger_getMailStatus``: the settings, the mail key, the postage a
  letter needs, the open batch, the batches in flight and the faults
  recorded against current validators (null on a chain without mail);
- ``ledger_getMailBatch``: one batch by id (null if there is none);
- ``ledger_getMailLetters``: a page of the sealed letters delivered to an
  address (only the recipient's key opens them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.features.mail import rpc_json as mail_forms
from ledger.features.mail.queries import mail_batch, mail_letters, mail_status
from ledger.state import StateReader

from . import json_format as jf
from .asset_queries import parse_id
from .dispatch import Method, Param


def parse_sequence(value: object, name: str = "start") -> int:
    """A mailbox sequence number: an integer in [0, 2^64-1]."""
    return parse_id(value, name)


class MailQueries:
    """The mix's query handlers; ``state_at(height)`` gives the state after a
    block (None: the latest; raises BlockNotFound above the tip) and
    ``tip_height()`` the latest height."""

    def __init__(
        self, state_at: Callable[[int | None], StateReader], tip_height: Callable[[], int]
    ) -> None:
        self.state_at = state_at
        self.tip_height = tip_height

    def methods(self) -> list[Method]:
        height = Param("height", jf.parse_height, required=False)
        return [
            Method.of("ledger_getMailStatus", self.get_status, height),
            Method.of(
                "ledger_getMailBatch",
                self.get_batch,
                Param("id", lambda v: parse_id(v, "id")),
                height,
            ),
            Method.of(
                "ledger_getMailLetters",
                self.get_letters,
                Param("address", jf.parse_address),
                Param("start", parse_sequence, False, 0),
                Param("limit", jf.parse_limit, False, jf.DEFAULT_PAGE),
                height,
            ),
        ]

    def get_status(self, height: int | None) -> dict[str, Any] | None:
        state = self.state_at(height)
        status = mail_status(state, self.tip_height() if height is None else height)
        return None if status is None else mail_forms.status_json(status)

    def get_batch(self, batch_id: int, height: int | None) -> dict[str, Any] | None:
        batch = mail_batch(self.state_at(height), batch_id)
        return None if batch is None else mail_forms.batch_json(batch)

    def get_letters(
        self, address: bytes, start: int, limit: int, height: int | None
    ) -> dict[str, Any]:
        letters, next_sequence, first = mail_letters(self.state_at(height), address, start, limit)
        return mail_forms.letters_json(address, letters, next_sequence, first)
