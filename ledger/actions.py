"""Actions: bodies executed on behalf of an actor address.

A transaction body normally acts for the transaction's sender. A policy
account has no key; its approved proposals run the same bodies with the
policy's address as the actor. Executors of kinds 20-39 are therefore
written as ``ActionExecutor(state, actor, body, ctx)`` and wrapped for
``BODY_EXECUTORS`` with ``by_sender``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ledger.context import BlockContext, Outcome
from ledger.state import State
from ledger.types import Transaction

ActionExecutor = Callable[[State, bytes, Any, BlockContext], Outcome]


def by_sender(action: ActionExecutor) -> Callable[[State, Transaction, BlockContext], Outcome]:
    """A body executor that runs ``action`` with the transaction's sender as the actor."""

    def execute(state: State, tx: Transaction, ctx: BlockContext) -> Outcome:
        return action(state, tx.sender_address, tx.body, ctx)

    execute.__name__ = f"execute_{action.__name__}"
    execute.__doc__ = action.__doc__
    return execute
