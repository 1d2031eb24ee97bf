"""Contracts in the ledger: the deploy, call and fund executors, the
end-of-block steps (scheduled runs, rent and eviction), and the queries the
RPC layer serves.

Who pays what (docs/spec/contracts.md, ADR 0009):

- **deploy**: the sender burns ``deploy_gas(len(module))`` cpu and moves the
  initial cpu, disk and net credits to the contract's address;
- **call**: the sender reserves ``gas_limit`` cpu, burns what the execution
  used and gets the rest back (a REVERT returns the unused gas, a halt burns
  all of it); even a failed call burns its gas;
- **pay_call**: a call that first pays ``amount`` coin to the contract
  (``CALLVALUE``); a failed run gives the payment back;
- everything a contract **sends** is paid by the contract: net credits per
  byte of events and messages, and the gas each message carries (its cpu);
- a **scheduled run** is paid from the contract's cpu;
- every execution counts against the **block gas limit**
  (``Params.max_block_gas``): a call or deploy whose gas does not fit is
  not in the block, a message that does not fit is dropped, and a
  scheduled run that does not fit waits for a later block, where the runs
  that have waited longest go first (docs/adr/0022-block-gas-limit.md);
- **rent**: at the end of every block each contract burns
  ``rent_bytes`` disk credits.

A contract that cannot pay its rent or its scheduled run is **evicted** at
that block boundary: its storage, code and record are deleted and every
balance left at its address (coin, credits, any asset) goes to its deployer;
a ``contract_evicted`` block event says so.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ledger.context import BlockContext, Origin, Outcome
from ledger.crypto import sha256
from ledger.exceptions import (
    ContractHalted,
    ContractReverted,
    InsufficientFunds,
    InvalidInvocation,
    InvalidModule,
    InvalidOperation,
    NoSuchContract,
)
from ledger.features.contracts.bodies import (
    Call,
    Deploy,
    Fund,
    PayCall,
    contract_address,
    value_to_fields,
)
from ledger.features.contracts.credits import (
    CPU,
    CREDIT_ASSETS,
    DISK,
    NET,
    burn,
    can_pay,
    count_burned,
    deploy_gas,
    gas_cost,
    rent_due,
)
from ledger.features.contracts.host import (
    HALT,
    NOT_INVOKED,
    PROGRAMS,
    REVERT,
    SUCCESS,
    run_execution,
)
from ledger.features.contracts.messages import contract_events, deliver_messages, outbox, settle_gas
from ledger.features.contracts.records import (
    ContractRecord,
    StateScanner,
    burned,
    create_contract,
    delete_contract,
    list_contracts,
    mailbox_count,
    read_code,
    read_mailbox,
    read_record,
    scan_storage,
    set_block_messages,
    storage_get,
    storage_keys,
    write_record,
)
from ledger.state import (
    Account,
    BalanceOverflow,
    State,
    StateReader,
    account_key,
    decode_account,
)
from ledger.types import NATIVE_ASSET, Event, Transaction
from vm.errors import ModuleError
from vm.module import decode_module
from vm.validator import load_program


def _move_credits(state: State, source: bytes, target: bytes, credits: tuple[int, ...]) -> None:
    """Move (cpu, disk, net) credits. Raises InsufficientBalance or BalanceOverflow."""
    for asset, amount in zip(CREDIT_ASSETS, credits, strict=True):
        if amount:
            state.sub_balance(source, asset, amount)
            state.add_balance(target, asset, amount)


# -- executors ------------------------------------------------------------------
def execute_deploy(state: State, tx: Transaction, ctx: BlockContext) -> Outcome:
    """Validate the module and create the contract. Raises ExecutionFailure."""
    body = tx.body
    assert isinstance(body, Deploy)
    gas = deploy_gas(len(body.module))
    ctx.gas.charge(gas)  # the module is checked whatever comes of it
    sender = tx.sender_address
    address = contract_address(sender, tx.nonce, body.salt)
    if read_record(state, address) is not None:
        raise InvalidOperation(f"a contract already lives at {address.hex()}")
    try:
        program = load_program(body.module)
    except ModuleError as error:
        raise InvalidModule(f"malformed module: {error}") from error
    if body.schedule is not None:
        index = program.entry_points.get(body.schedule.entry)
        if index is None or program.functions[index].spec.params:
            raise InvalidModule(
                f"schedule entry {body.schedule.entry!r} must be an entry point without parameters"
            )
    if not can_pay(state, sender, CPU, gas_cost(gas) + body.cpu):
        raise InsufficientFunds(f"deploy needs {gas_cost(gas)} cpu for gas plus {body.cpu} credits")
    burn(state, sender, CPU, gas_cost(gas))
    _move_credits(state, sender, address, (body.cpu, body.disk, body.net))
    code_hash = sha256(body.module)
    record = ContractRecord(
        code_hash=code_hash,
        code_size=len(body.module),
        deployer=sender,
        created=ctx.height,
        schedule=body.schedule,
        next_run=0 if body.schedule is None else ctx.height + body.schedule.interval,
    )
    create_contract(state, address, record, body.module)
    PROGRAMS.put(code_hash, program)
    attributes = (("address", address), ("code_hash", code_hash), ("deployer", sender))
    return Outcome(events=(Event("contract_deployed", attributes),), gas_used=gas)


def execute_call(state: State, tx: Transaction, ctx: BlockContext) -> Outcome:
    """Run an entry point paid by the sender, then deliver its messages.
    Raises ExecutionFailure (a failed run still burns its gas)."""
    body = tx.body
    assert isinstance(body, Call)
    return _run_call(state, tx, ctx, body, 0)


def execute_pay_call(state: State, tx: Transaction, ctx: BlockContext) -> Outcome:
    """Pay the contract, then run the call as ``execute_call`` does, with
    ``CALLVALUE`` = the payment. Raises ExecutionFailure (a failed run still
    burns its gas; its payment is reverted with the rest)."""
    body = tx.body
    assert isinstance(body, PayCall)
    return _run_call(state, tx, ctx, body.as_call(), body.amount)


def _run_call(state: State, tx: Transaction, ctx: BlockContext, body: Call, value: int) -> Outcome:
    sender = tx.sender_address
    if read_record(state, body.contract) is None:
        raise NoSuchContract(f"no contract at {body.contract.hex()}")
    reserved = gas_cost(body.gas_limit)
    if not can_pay(state, sender, CPU, reserved):
        raise InsufficientFunds(f"gas limit {body.gas_limit} needs {reserved} cpu credits")
    state.sub_balance(sender, CPU, reserved)
    if value:
        if state.get_account(sender).balance(NATIVE_ASSET) < value:
            raise InsufficientFunds(f"cannot pay {value} {NATIVE_ASSET} with the call")
        state.sub_balance(sender, NATIVE_ASSET, value)
        state.add_balance(body.contract, NATIVE_ASSET, value)
    run = run_execution(
        state, ctx, body.contract, body.entry, body.args, body.gas_limit, sender, value
    )
    if run.status == NOT_INVOKED:
        raise InvalidInvocation(run.error)
    if run.status != SUCCESS:
        failure = ContractReverted if run.status == REVERT else ContractHalted
        used = run.gas_used

        def burn_gas(reverted: State) -> None:
            burn(reverted, sender, CPU, gas_cost(used))

        reason = run.error if run.status != HALT else f"halted: {run.error}"
        raise failure(reason, used, kept_charges=burn_gas)
    settle_gas(state, sender, body.gas_limit, run.gas_used)
    called = Event(
        "contract_called",
        (
            ("contract", body.contract),
            ("entry", body.entry),
            ("gas_used", run.gas_used),
            ("returns", tuple(value_to_fields(v) for v in run.return_values)),
        ),
    )
    origin = Origin(sender, tx.nonce)
    events = [
        called,
        *contract_events(body.contract, run.events),
        *deliver_messages(state, ctx, outbox(body.contract, run, origin)),
    ]
    return Outcome(events=tuple(events), gas_used=run.gas_used)


def execute_fund(state: State, tx: Transaction, ctx: BlockContext) -> Outcome:
    """Move credits from the sender to a live contract. Raises ExecutionFailure."""
    body = tx.body
    assert isinstance(body, Fund)
    if read_record(state, body.contract) is None:
        raise NoSuchContract(f"no contract at {body.contract.hex()}")
    sender = tx.sender_address
    _move_credits(state, sender, body.contract, (body.cpu, body.disk, body.net))
    attributes = (
        ("contract", body.contract),
        ("cpu", body.cpu),
        ("disk", body.disk),
        ("from", sender),
        ("net", body.net),
    )
    return Outcome(events=(Event("contract_funded", attributes),))


# -- end of block ---------------------------------------------------------------
def run_scheduled_contracts(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """Run every contract whose schedule is due at this height, the longest
    due first (ascending ``next_run``, then address), each followed by its
    messages. A contract that cannot reserve its run's gas is evicted
    instead; a run whose gas does not fit in what is left of the block gas
    limit stays due (its ``next_run`` unchanged) and goes earlier in a later
    block."""
    events: list[Event] = []
    due: list[tuple[int, bytes]] = []
    for address in list_contracts(state):
        record = read_record(state, address)
        assert record is not None
        if record.schedule is not None and record.next_run <= ctx.height:
            due.append((record.next_run, address))
    for _next_run, address in sorted(due):
        # Read again: an earlier run's messages may have changed its storage.
        record = read_record(state, address)
        assert record is not None and record.schedule is not None
        schedule = record.schedule
        reserved = gas_cost(schedule.gas)
        if not can_pay(state, address, CPU, reserved):
            events.append(evict_contract(state, address, "cannot pay its scheduled run", ctx))
            continue
        if not ctx.gas.fits(schedule.gas):
            continue
        write_record(state, address, replace(record, next_run=ctx.height + schedule.interval))
        state.sub_balance(address, CPU, reserved)
        run = run_execution(state, ctx, address, schedule.entry, (), schedule.gas, address)
        settle_gas(state, address, schedule.gas, run.gas_used)
        events.append(
            Event(
                "scheduled_run",
                (
                    ("contract", address),
                    ("entry", schedule.entry),
                    ("error", run.error),
                    ("gas_used", run.gas_used),
                    ("status", run.status),
                ),
            )
        )
        events.extend(contract_events(address, run.events))
        scheduled = Origin(address, None)
        events.extend(deliver_messages(state, ctx, outbox(address, run, scheduled)))
    return tuple(events)


def charge_rent(state: State, ctx: BlockContext) -> tuple[Event, ...]:
    """Burn every contract's rent for this block (ascending address order);
    evict the ones that cannot pay. Then reset the block's message count."""
    events: list[Event] = []
    for address in list_contracts(state):
        record = read_record(state, address)
        assert record is not None
        due = rent_due(record.rent_bytes)
        if can_pay(state, address, DISK, due):
            burn(state, address, DISK, due)
        else:
            events.append(evict_contract(state, address, "cannot pay rent", ctx))
    set_block_messages(state, 0)
    return tuple(events)


def evict_contract(state: State, address: bytes, reason: str, ctx: BlockContext) -> Event:
    """Delete the contract at ``address`` and give everything left at its
    address to its deployer (burned instead if the deployer's balance would
    overflow). Returns the ``contract_evicted`` event."""
    record = read_record(state, address)
    assert record is not None
    delete_contract(state, address)
    account = state.get_account(address)
    returned = []
    for asset, amount in account.balances:
        try:
            state.add_balance(record.deployer, asset, amount)
        except BalanceOverflow:
            count_burned(state, asset, amount)
            continue
        returned.append((asset, amount))
    state.set_account(address, Account())
    return Event(
        "contract_evicted",
        (
            ("address", address),
            ("beneficiary", record.deployer),
            ("height", ctx.height),
            ("reason", reason),
            ("returned", tuple(returned)),
        ),
    )


# -- queries for the RPC layer --------------------------------------------------
def contract_info(reader: StateReader, address: bytes) -> dict[str, Any] | None:
    """What there is to know about the contract at ``address`` (None if there
    is none): code hash and size, entry points, deployer, creation height,
    storage keys and bytes, rent per block, schedule, next run and balances."""
    record = read_record(reader, address)
    if record is None:
        return None
    code = read_code(reader, address)
    assert code is not None
    module = decode_module(code)
    raw_account = reader.get_state(account_key(address))
    balances = dict(decode_account(raw_account).balances) if raw_account is not None else {}
    schedule = record.schedule
    return {
        "address": address,
        "code_hash": record.code_hash,
        "code_size": record.code_size,
        "entry_points": [name for name, _ in module.entry_points],
        "deployer": record.deployer,
        "created": record.created,
        "storage_keys": record.storage_keys,
        "storage_bytes": record.storage_bytes,
        "rent_bytes": record.rent_bytes,
        "rent_per_block": rent_due(record.rent_bytes),
        "schedule": None
        if schedule is None
        else {"entry": schedule.entry, "interval": schedule.interval, "gas": schedule.gas},
        "next_run": record.next_run,
        "balances": balances,
    }


def contract_storage(reader: StateReader, address: bytes, key: bytes) -> bytes | None:
    """The value stored at ``key`` by the contract at ``address``, or None."""
    return storage_get(reader, address, key)


def contract_storage_items(
    reader: StateReader, address: bytes, start: bytes = b"", limit: int = 100
) -> list[tuple[bytes, bytes]]:
    """Up to ``limit`` storage entries with key >= ``start``, in key order
    (page through with start = last key + b"\x00")."""
    keys = [key for key in storage_keys(reader, address) if key >= start][:limit]
    items = []
    for key in keys:
        value = storage_get(reader, address, key)
        assert value is not None
        items.append((key, value))
    return items


def contract_storage_page(
    scanner: StateScanner, address: bytes, start: bytes = b"", limit: int = 100
) -> list[tuple[bytes, bytes]]:
    """What contract_storage_items returns, from a state that can be scanned in
    key order (the store's latest state), reading only the entries returned."""
    return scan_storage(scanner, address, start, limit)


def mailbox_received(reader: StateReader, address: bytes) -> int:
    """How many messages the mailbox of ``address`` has ever received (it
    holds the newest 64 of them)."""
    return mailbox_count(reader, address)


def mailbox(reader: StateReader, address: bytes) -> list[dict[str, Any]]:
    """The messages held in the mailbox of ``address``, oldest first."""
    return [
        {
            "sequence": sequence,
            "sender": mail.sender,
            "height": mail.height,
            "entry": mail.entry,
            "args": list(mail.args),
        }
        for sequence, mail in read_mailbox(reader, address)
    ]


def contract_addresses(reader: StateReader) -> list[bytes]:
    """Every live contract, ascending."""
    return list_contracts(reader)


def burned_credits(reader: StateReader) -> dict[str, int]:
    """How much cpu, disk and net contracts have burned since genesis."""
    return {asset: burned(reader, asset) for asset in (CPU, DISK, NET)}
