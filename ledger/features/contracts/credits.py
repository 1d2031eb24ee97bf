"""Resource credits: what contract work costs, who pays, and where it goes.

Credits are ordinary assets held in account balances: ``cpu`` pays gas,
``disk`` pays rent on stored bytes at every block boundary, ``net`` pays for
the bytes of events and messages a contract sends. A contract holds its own
credits in the balances of its own address.

Every credit spent is **burned**: taken out of a balance, added to the
public burn counter of its asset (ledger.features.contracts.records.burned) and taken
off the asset's recorded supply (ledger.features.bank.assets), so for every asset
``sum of balances + escrow == recorded supply`` and ``genesis supply +
mints - burned == recorded supply`` at every block boundary. Gas reserved
for an execution but not used is refunded before the transaction (or
end-of-block step) finishes, so nothing is ever in flight between blocks.

The prices and limits are consensus constants (docs/spec/contracts.md);
changing one is a hard fork.
"""

from __future__ import annotations

from typing import Final

from ledger.features.bank.interface import record_burn
from ledger.features.contracts.bodies import MAX_CALL_GAS, Call, Deploy, Fund, PayCall
from ledger.features.contracts.records import add_burned
from ledger.state import State
from ledger.types import NATIVE_ASSET
from vm.effects import Event, Message

CPU: Final = "cpu"
DISK: Final = "disk"
NET: Final = "net"
CREDIT_ASSETS: Final = (CPU, DISK, NET)

GAS_PRICE: Final = 1
"""cpu credits per unit of gas."""
RENT_PRICE: Final = 1
"""disk credits per rented byte (ContractRecord.rent_bytes) per block."""
NET_PRICE: Final = 1
"""net credits per byte of an event or message a contract sends."""
DEPLOY_GAS_BASE: Final = 10_000
DEPLOY_GAS_PER_BYTE: Final = 8
"""Gas a deploy burns from the deployer's cpu: validating and compiling a
module is work every validator does."""

MAX_EXECUTION_GAS: Final = MAX_CALL_GAS
"""Most gas any one execution (call, message or scheduled run) may have."""
MAX_MESSAGES_PER_RUN: Final = 256
"""Most deliveries that follow one call or one scheduled run."""
MAX_MESSAGES_PER_BLOCK: Final = 4_096
"""Most deliveries in one block, over all transactions and scheduled runs."""


def deploy_gas(module_size: int) -> int:
    """Gas a deploy of a module of ``module_size`` bytes burns."""
    return DEPLOY_GAS_BASE + DEPLOY_GAS_PER_BYTE * module_size


def event_bytes(event: Event) -> int:
    """Billable size of an event: topic and data."""
    return len(event.topic) + len(event.data)


def message_bytes(message: Message) -> int:
    """Billable size of a message: recipient, entry name and arguments (an
    int counts as 32 bytes, as in the VM's SEND gas)."""
    args = sum(len(a) if isinstance(a, bytes) else 32 for a in message.args)
    return len(message.recipient) + len(message.entry) + args


def network_cost(events: tuple[Event, ...], messages: tuple[Message, ...]) -> int:
    """net credits owed for sending ``events`` and ``messages``."""
    size = sum(event_bytes(e) for e in events) + sum(message_bytes(m) for m in messages)
    return NET_PRICE * size


def gas_cost(gas: int) -> int:
    """cpu credits for ``gas`` units."""
    return GAS_PRICE * gas


def rent_due(rent_bytes: int) -> int:
    """disk credits a contract of ``rent_bytes`` owes for one block."""
    return RENT_PRICE * rent_bytes


def burn(state: State, address: bytes, asset: str, amount: int) -> None:
    """Take ``amount`` of ``asset`` from ``address`` and count it as burned.
    Raises InsufficientBalance."""
    if amount:
        state.sub_balance(address, asset, amount)
        count_burned(state, asset, amount)


def count_burned(state: State, asset: str, amount: int) -> None:
    """Count ``amount`` of ``asset``, already taken out of every balance, as
    burned: the public burn counter goes up and the recorded supply down."""
    if amount:
        add_burned(state, asset, amount)
        record_burn(state, asset, amount)


def can_pay(state: State, address: bytes, asset: str, amount: int) -> bool:
    return state.get_account(address).balance(asset) >= amount


def deploy_spends(body: Deploy) -> tuple[tuple[str, int], ...]:
    """What a deploy takes from its sender: the deploy gas and the credits
    it gives the contract."""
    gas = gas_cost(deploy_gas(len(body.module)))
    return ((CPU, gas + body.cpu), (DISK, body.disk), (NET, body.net))


def call_spends(body: Call) -> tuple[tuple[str, int], ...]:
    """What a call takes from its sender at most: its whole gas limit in cpu."""
    return ((CPU, gas_cost(body.gas_limit)),)


def fund_spends(body: Fund) -> tuple[tuple[str, int], ...]:
    """What funding a contract takes from its sender: the credits given."""
    return ((CPU, body.cpu), (DISK, body.disk), (NET, body.net))


def deploy_gas_of(body: Deploy) -> int:
    """The gas a deploy uses (validating and compiling its module)."""
    return deploy_gas(len(body.module))


def call_gas(body: Call) -> int:
    """The most gas a call may use: its gas limit."""
    return body.gas_limit


def pay_call_spends(body: PayCall) -> tuple[tuple[str, int], ...]:
    """What a paid call takes from its sender at most: its whole gas limit
    in cpu and the coin it pays."""
    return ((CPU, gas_cost(body.gas_limit)), (NATIVE_ASSET, body.amount))


def pay_call_gas(body: PayCall) -> int:
    """The most gas a paid call may use: its gas limit."""
    return body.gas_limit
