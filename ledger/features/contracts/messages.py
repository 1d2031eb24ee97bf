"""Actor-style messages between contracts, and mailboxes.

A contract never calls another synchronously: SEND queues a message, and the
ledger delivers it after the sending execution has finished. The messages
that follow one call (or one scheduled run) form one FIFO queue, delivered
breadth-first: first the messages the call sent, in the order it sent them,
then the messages those deliveries sent, and so on. Each delivery is a new
execution with the message's own gas, in its own journal scope, so its
failure reverts only itself; the sender pays the gas from its cpu credits
(reserved when it sent the message, the unused part refunded after the
delivery). A reply is just a message back to ``CALLER``.

The recipient decides what a delivery is:

- a feature's system address (ledger.registry, e.g. the mail feature's
  mix): that feature's handler, in a journal scope of its own, told the
  sender and the origin (the transaction, by signer and nonce, or the
  scheduled run that started the chain of executions), and paid from the
  message's gas like a contract run;
- a 20-byte address with a contract: run its entry point ``entry(args)``,
  with the sender as ``CALLER``;
- any other 20-byte address: append ``(sender, height, entry, args)`` to its
  mailbox (readable over RPC), no gas used;
- anything else: the delivery fails.

At most MAX_MESSAGES_PER_RUN deliveries follow one call or scheduled run,
and MAX_MESSAGES_PER_BLOCK happen in one block; messages beyond either limit
are dropped (their gas refunded) and reported. So is a message to a
contract whose gas does not fit in what is left of the block gas limit
(ledger.context.BlockGas, docs/adr/0022-block-gas-limit.md).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from ledger.address import ADDRESS_SIZE
from ledger.context import BlockContext, Delivery, Origin
from ledger.exceptions import ExecutionFailure
from ledger.features.contracts.credits import (
    CPU,
    MAX_MESSAGES_PER_BLOCK,
    MAX_MESSAGES_PER_RUN,
    count_burned,
    gas_cost,
)
from ledger.features.contracts.host import NOT_INVOKED, REVERT, SUCCESS, Run, run_execution
from ledger.features.contracts.records import (
    MailboxEntry,
    append_mail,
    block_messages,
    read_record,
    set_block_messages,
)
from ledger.registry import RULES, SystemAddressHandler
from ledger.state import State
from ledger.types import Event
from vm.effects import Event as VMEvent
from vm.effects import Message

MAILBOX: str = "mailbox"
DROPPED: str = "dropped"
UNDELIVERABLE: str = "undeliverable"


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message in flight; its gas is already reserved from ``sender``'s
    cpu. ``origin`` is what started the chain of executions it belongs to."""

    sender: bytes
    message: Message
    origin: Origin


def settle_gas(state: State, payer: bytes, reserved_gas: int, gas_used: int) -> None:
    """Burn the cpu for ``gas_used`` out of a reservation of ``reserved_gas``
    already taken from ``payer``, and refund the rest."""
    assert 0 <= gas_used <= reserved_gas
    count_burned(state, CPU, gas_cost(gas_used))
    refund = gas_cost(reserved_gas - gas_used)
    if refund:
        state.add_balance(payer, CPU, refund)


def contract_events(contract: bytes, events: Iterable[VMEvent]) -> list[Event]:
    """A contract's EMITs as receipt events."""
    return [
        Event(
            "contract_event",
            (("contract", contract), ("data", event.data), ("topic", event.topic)),
        )
        for event in events
    ]


def outbox(sender: bytes, run: Run, origin: Origin) -> list[Envelope]:
    """The messages a successful run sent, ready for delivery."""
    return [Envelope(sender, message, origin) for message in run.messages]


def deliver_messages(state: State, ctx: BlockContext, first: Iterable[Envelope]) -> list[Event]:
    """Deliver ``first`` and everything their deliveries send, breadth-first.
    Returns the events of every delivery, in delivery order."""
    queue = deque(first)
    delivered = 0
    events: list[Event] = []
    while queue:
        envelope = queue.popleft()
        in_block = block_messages(state)
        if delivered >= MAX_MESSAGES_PER_RUN or in_block >= MAX_MESSAGES_PER_BLOCK:
            settle_gas(state, envelope.sender, envelope.message.gas, 0)
            events.append(message_event(envelope, DROPPED, 0, "message limit reached"))
            continue
        delivered += 1
        set_block_messages(state, in_block + 1)
        events.extend(deliver(state, ctx, envelope, queue))
    return events


def deliver(
    state: State, ctx: BlockContext, envelope: Envelope, queue: deque[Envelope]
) -> list[Event]:
    """Deliver one message; what it sends joins the end of ``queue``."""
    message = envelope.message
    recipient = message.recipient
    if len(recipient) != ADDRESS_SIZE:
        settle_gas(state, envelope.sender, message.gas, 0)
        return [message_event(envelope, UNDELIVERABLE, 0, "recipient is not a 20-byte address")]
    handler = RULES.system_addresses.get(recipient)
    if handler is not None:
        return deliver_to_system_address(state, ctx, envelope, handler)
    if read_record(state, recipient) is None:
        mail = MailboxEntry(envelope.sender, ctx.height, message.entry, message.args)
        append_mail(state, recipient, mail)
        settle_gas(state, envelope.sender, message.gas, 0)
        return [message_event(envelope, MAILBOX, 0)]
    if not ctx.gas.fits(message.gas):
        settle_gas(state, envelope.sender, message.gas, 0)
        return [message_event(envelope, DROPPED, 0, "block gas limit reached")]
    run = run_execution(
        state, ctx, recipient, message.entry, message.args, message.gas, envelope.sender
    )
    settle_gas(state, envelope.sender, message.gas, run.gas_used)
    status = UNDELIVERABLE if run.status == NOT_INVOKED else run.status
    queue.extend(outbox(recipient, run, envelope.origin))
    return [
        message_event(envelope, status, run.gas_used, run.error),
        *contract_events(recipient, run.events),
    ]


def deliver_to_system_address(
    state: State, ctx: BlockContext, envelope: Envelope, handler: SystemAddressHandler
) -> list[Event]:
    """Hand one message to a feature's system address. The handler's effects
    are kept only if it accepts the message; the gas it reports used (at most
    the message's gas) is burned either way and the rest refunded."""
    message = envelope.message
    delivery = Delivery(
        envelope.sender, envelope.origin, message.entry, tuple(message.args), message.gas
    )
    state.begin()
    try:
        outcome = handler(state, ctx, delivery)
    except ExecutionFailure as refusal:
        state.revert()
        used = min(refusal.gas_used, message.gas)
        settle_gas(state, envelope.sender, message.gas, used)
        return [message_event(envelope, REVERT, used, refusal.message)]
    state.commit()
    used = min(outcome.gas_used, message.gas)
    settle_gas(state, envelope.sender, message.gas, used)
    return [message_event(envelope, SUCCESS, used), *outcome.events]


def message_event(envelope: Envelope, status: str, gas_used: int, error: str = "") -> Event:
    """``message``: what became of one delivery."""
    message = envelope.message
    return Event(
        "message",
        (
            ("entry", message.entry),
            ("error", error),
            ("from", envelope.sender),
            ("gas_used", gas_used),
            ("status", status),
            ("to", message.recipient),
        ),
    )
