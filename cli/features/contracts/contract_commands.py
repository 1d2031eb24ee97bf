"""`ledger contract ...`: deploy contracts, call and fund them, read their state.

``deploy``, ``call`` and ``fund`` sign a transaction with a keystore key as
`ledger tx send` does: they show what they are about to sign and ask for
confirmation (unless --yes), submit, wait for inclusion with a spinner and
print the receipt (--no-wait prints the hash and returns at once).
``info``, ``storage`` and ``mailbox`` read the chain over JSON-RPC.

Call arguments are written as for `ledger vm run`: ``42`` or ``0x2a`` an
integer, ``hex:00ff`` or ``str:text`` a byte string, and here also
``lg1...``: an address, passed as its 20 bytes. Storage keys are
``str:TEXT``, ``hex:HEX`` or ``0xHEX``.

Exit codes as for every command (docs/guide/cli.md): 1 bad input (also: no
contract at that address), 3 node error, 4 rejected, 5 included but failed
(e.g. a module that does not validate, a reverted call), 6 timeout.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from cli.context import (
    CliContext,
    CliError,
    ExitCode,
    emit,
    get_context,
    handles_errors,
    is_key_name,
)
from cli.query_commands import as_json, receipt_text, rows
from cli.submission import (
    FEE,
    NONCE,
    PASSWORD_FILE,
    TIMEOUT,
    WAIT,
    Sending,
    parse_amount,
    prepare,
    send_signed,
    wait_with_spinner,
)
from cli.units import parse_count
from cli.vm_commands import ModuleFileError, parse_argument, read_module_file
from consensus.node.rpc.json_format import MAX_PAGE
from ledger.address import AddressError, decode_address, encode_address
from ledger.client import ContractInfo, Mailbox, ReceiptInfo, StoragePage
from ledger.client.keystore import KeyEntry, KeystoreError, did_you_mean
from ledger.crypto import sha256
from ledger.features.contracts.bodies import (
    MAX_CALL_GAS,
    MAX_SALT,
    Call,
    Deploy,
    Fund,
    PayCall,
    Schedule,
    check_entry,
    contract_address,
    schedule_from_value,
)
from ledger.features.contracts.credits import deploy_gas, gas_cost
from ledger.features.contracts.records import RECORD_OVERHEAD_BYTES
from ledger.features.contracts.rpc_json import vm_value_json
from ledger.fields import DecodeError
from ledger.types import MAX_TX_SIZE, Body
from vm.disassembler import format_value
from vm.errors import ModuleError
from vm.limits import MAX_STORAGE_KEY
from vm.module import encode_module
from vm.validator import validate_module
from vm.values import Value, is_value

contract_app = typer.Typer(
    help="Deploy contracts, call and fund them, read their state and mailboxes.",
    no_args_is_help=True,
)

SENDER = typer.Option(..., "--from", help="Key name (NAME or devnet:NAME) that signs and pays.")
CPU = typer.Option("0", "--cpu", help="cpu credits to give the contract (base units).")
DISK = typer.Option("0", "--disk", help="disk credits to give the contract (pay its rent).")
NET = typer.Option("0", "--net", help="net credits to give the contract (pay what it sends).")
HEIGHT = typer.Option(
    None, "--height", min=0, help="Read the state after this block (default: latest)."
)


# -- parsing --------------------------------------------------------------------
def parse_contract(text: str) -> str:
    """A contract address (lg1...). Raises CliError."""
    try:
        decode_address(text)
    except AddressError as exc:
        raise CliError(f"invalid contract address {text!r}: {exc}") from None
    return text


def parse_call_argument(text: str, cli: CliContext | None = None) -> Value:
    """``42``, ``1_000``, ``0x2a``: an integer; ``hex:00ff``, ``str:text``:
    bytes; ``lg1...`` or a key name (``devnet:bob``, with ``cli``): an
    address's 20 bytes. Raises CliError."""
    if text[:3].lower() == "lg1":
        try:
            return decode_address(text)
        except AddressError as exc:
            raise CliError(f"invalid address argument {text!r}: {exc}") from None
    plain = text.replace("_", "") if re.fullmatch(r"[0-9][0-9_]*", text) else text
    try:
        value = parse_argument(plain)
    except typer.BadParameter as exc:
        hint = ""
        if cli is not None and is_key_name(text):
            keystore = cli.keystore()
            try:
                return decode_address(keystore.entry(text).address)
            except KeystoreError:
                hint = did_you_mean(keystore.suggestions(text))
        raise CliError(f"{exc.message}, an address lg1... or a key name{hint}") from None
    if not is_value(value):
        raise CliError(f"argument {text!r} is too large (integers < 2^256, at most 4096 bytes)")
    return value


def parse_storage_key(text: str) -> bytes:
    """``str:TEXT``, ``hex:HEX`` or ``0xHEX``, at most 64 bytes. Raises CliError."""
    if text.startswith("str:"):
        key = text[4:].encode("utf-8")
    elif text.startswith(("hex:", "0x")):
        digits = text[4:] if text.startswith("hex:") else text[2:]
        try:
            key = bytes.fromhex(digits)
        except ValueError:
            raise CliError(f"bad hex in storage key {text!r}") from None
    else:
        raise CliError(f"storage key {text!r}: write str:TEXT, hex:HEX or 0xHEX")
    if len(key) > MAX_STORAGE_KEY:
        raise CliError(f"storage key {text!r} is longer than {MAX_STORAGE_KEY} bytes")
    return key


def parse_schedule(text: str) -> Schedule:
    """``ENTRY:INTERVAL:GAS``, e.g. ``tick:2:500000``. Raises CliError."""
    parts = text.split(":")
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].replace("_", "").isdigit():
        raise CliError(f"--schedule {text!r}: write ENTRY:INTERVAL:GAS, e.g. tick:2:500000")
    try:
        return schedule_from_value((parts[0], int(parts[1]), int(parts[2].replace("_", ""))))
    except DecodeError as exc:
        raise CliError(f"--schedule {text!r}: {exc}") from None


def parse_salt(text: str | None) -> bytes:
    if text is None:
        return b""
    try:
        salt = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        raise CliError(f"--salt {text!r} is not hex") from None
    if len(salt) > MAX_SALT:
        raise CliError(f"--salt is at most {MAX_SALT} bytes")
    return salt


def parse_credits(cpu: str, disk: str, net: str) -> tuple[int, int, int]:
    """--cpu, --disk, --net as amounts. Raises CliError."""
    return parse_count(cpu, "--cpu"), parse_count(disk, "--disk"), parse_count(net, "--net")


def load_module(path: Path) -> bytes:
    """The encoded module of a .asm file or a module file (binary or hex),
    validated here as the deploy will be. Raises CliError."""
    try:
        module = read_module_file(path)
        validate_module(module)
    except ModuleFileError as exc:
        raise CliError(str(exc)) from None
    except ModuleError as exc:
        raise CliError(f"{path}: {exc}") from None
    return encode_module(module)


# -- signing and sending -----------------------------------------------------------
@dataclass(frozen=True)
class Submitted:
    """A transaction the node accepted: its hash, who signed it, with which nonce."""

    hash: bytes
    sender: str  # address
    nonce: int


def sign_and_send(
    cli: CliContext,
    sending: Sending,
    body: Body,
    describe: Callable[[KeyEntry, int], str],
    spends: Mapping[str, int],
) -> Submitted:
    """Check, confirm, sign ``body`` with the sender's key and submit it
    (cli.submission.prepare). ``describe(sender entry, nonce)`` says what
    the transaction does; ``spends`` what it takes besides the fee."""
    prepared = prepare(cli, sending, describe, spends)
    tx = prepared.sign(body)
    if len(tx.encode()) > MAX_TX_SIZE:
        raise CliError(f"the transaction is {len(tx.encode())} bytes; the limit is {MAX_TX_SIZE}")
    tx_hash = send_signed(cli, cli.client(), tx.encode())
    return Submitted(tx_hash, prepared.entry.address, prepared.nonce)


def finish(
    cli: CliContext,
    tx_hash: bytes,
    wait: bool,
    timeout: float,
    summary: Callable[[ReceiptInfo | None], list[tuple[str, Any]]],
    data: Callable[[ReceiptInfo | None], dict[str, Any]],
) -> None:
    """Print the hash and the command's summary (with ``wait``, after the
    receipt, followed by it); exit 5 for a failed receipt."""
    if not wait:
        emit(
            cli,
            {"hash": tx_hash.hex(), **data(None), "receipt": None},
            lambda: rows([("submitted", tx_hash.hex()), *summary(None)]),
        )
        return
    if not cli.json:
        typer.echo(f"submitted {tx_hash.hex()}", err=True)
    receipt = wait_with_spinner(cli.client(), tx_hash, timeout)
    pairs = summary(receipt)
    emit(
        cli,
        {"hash": tx_hash.hex(), **data(receipt), "receipt": as_json(receipt)},
        lambda: "\n".join(
            [rows(pairs), receipt_text(receipt)] if pairs else [receipt_text(receipt)]
        ),
    )
    if not receipt.success:
        raise CliError(
            f"transaction failed in block {receipt.block_height}: {receipt.error}", ExitCode.FAILED
        )


def require_contract(cli: CliContext, address: str, height: int | None = None) -> ContractInfo:
    """The contract's info. Raises CliError (exit 1) if there is none."""
    info = cli.client().get_contract(address, height)
    if info is None:
        where = f" after block {height}" if height is not None else ""
        raise CliError(
            f"no contract at {address}{where} (never deployed, or evicted: "
            "`ledger query events` shows evictions)"
        )
    return info


def lifetime(disk: int, rent: int) -> str:
    blocks = disk // rent if rent else 0
    if blocks == 0:
        return (
            f"WARNING: {disk} disk does not pay one block of rent ({rent}): "
            "it will be evicted at the end of its first block"
        )
    return f"its disk pays rent ({rent} per block at this size) for about {blocks} blocks"


# -- commands: transactions ----------------------------------------------------------
@contract_app.command("deploy")
@handles_errors
def deploy(
    ctx: typer.Context,
    module_file: Path = typer.Argument(..., help="Assembly (.asm) or module file (binary or hex)."),
    sender: str = SENDER,
    cpu: str = CPU,
    disk: str = DISK,
    net: str = NET,
    salt: str | None = typer.Option(
        None, "--salt", help="Up to 32 bytes (hex) to vary the address."
    ),
    schedule: str | None = typer.Option(
        None, "--schedule", help="Run ENTRY every INTERVAL blocks with GAS gas: ENTRY:INTERVAL:GAS."
    ),
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Deploy a contract with initial credits; prints its address."""
    cli = get_context(ctx)
    module = load_module(module_file)
    credits = parse_credits(cpu, disk, net)
    salt_bytes = parse_salt(salt)
    plan = parse_schedule(schedule) if schedule is not None else None
    body = Deploy(module, credits[0], credits[1], credits[2], salt_bytes, plan)
    rent = RECORD_OVERHEAD_BYTES + len(module)

    def address_for(sender_address: str, nonce_value: int) -> str:
        return encode_address(
            contract_address(decode_address(sender_address), nonce_value, salt_bytes)
        )

    def describe(entry: KeyEntry, nonce_value: int) -> str:
        address = address_for(entry.address, nonce_value)
        runs = (
            ""
            if plan is None
            else (f"; run {plan.entry}() every {plan.interval} blocks with {plan.gas} gas")
        )
        return (
            f"Deploy {module_file.name} ({len(module)} bytes, code hash "
            f"{sha256(module).hex()[:16]}...) as {address}, "
            f"giving it cpu {credits[0]}, disk {credits[1]}, net {credits[2]}{runs}; "
            f"deploy gas {gas} ({gas_cost(gas)} cpu) ({lifetime(credits[1], rent)})"
        )

    gas = deploy_gas(len(module))
    spends = {"cpu": gas_cost(gas) + credits[0], "disk": credits[1], "net": credits[2]}
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    submitted = sign_and_send(cli, sending, body, describe, spends)
    address = address_for(submitted.sender, submitted.nonce)
    finish(
        cli,
        submitted.hash,
        wait,
        timeout,
        lambda receipt: [
            ("contract", address if receipt is not None else f"{address} (once included)")
        ],
        lambda receipt: {"address": address},
    )


@contract_app.command("call")
@handles_errors
def call(
    ctx: typer.Context,
    contract: str = typer.Argument(..., help="Contract address (lg1...)."),
    entry: str = typer.Argument(..., help="Entry point."),
    args: list[str] | None = typer.Argument(
        None,
        help="Arguments: 42 or 1_000, 0x2a, hex:00ff, str:text, an address (lg1...) or a key name.",
    ),
    sender: str = SENDER,
    gas: int = typer.Option(
        1_000_000,
        "--gas",
        min=1,
        max=MAX_CALL_GAS,
        help="Gas limit (paid in cpu; unused comes back).",
    ),
    pay: str | None = typer.Option(
        None,
        "--pay",
        help="Coin paid to the contract with the call (a pay_call; the contract reads it "
        "with CALLVALUE; a failed call gives it back).",
    ),
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Call an entry point of a contract; prints what it returned."""
    cli = get_context(ctx)
    address = parse_contract(contract)
    try:
        check_entry(entry)
    except DecodeError:
        raise CliError(f"invalid entry point name {entry!r}") from None
    values = tuple(parse_call_argument(a, cli) for a in args or [])
    info = require_contract(cli, address)
    if entry not in info.entry_points:
        raise CliError(
            f"{address} has no entry point {entry!r} (it has {', '.join(info.entry_points)})"
        )
    amount = 0 if pay is None else parse_amount(pay, "--pay", cli)
    if pay is not None and amount == 0:
        raise CliError("--pay must be at least 1 (leave it out for a call without payment)")
    body: Call | PayCall = Call(decode_address(address), entry, values, gas)
    if amount:
        body = PayCall(body.contract, entry, values, gas, amount)
    shown = ", ".join(format_value(v) for v in values)
    paying = f", paying {amount} coin" if amount else ""

    def describe(entry_of_sender: KeyEntry, nonce_value: int) -> str:
        return (
            f"Call {entry}({shown}) on {address}{paying} with up to {gas} gas "
            f"({gas_cost(gas)} cpu)"
        )

    def summary(receipt: ReceiptInfo | None) -> list[tuple[str, Any]]:
        if receipt is None or not receipt.success:
            return []
        returned = receipt.return_values
        return [("returned", ", ".join(format_value(v) for v in returned) or "-")]

    def data(receipt: ReceiptInfo | None) -> dict[str, Any]:
        returned = receipt.return_values if receipt is not None else ()
        return {"returns": [vm_value_json(v) for v in returned]}

    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    spends = {"cpu": gas_cost(gas)} | ({"coin": amount} if amount else {})
    submitted = sign_and_send(cli, sending, body, describe, spends)
    finish(cli, submitted.hash, wait, timeout, summary, data)


@contract_app.command("fund")
@handles_errors
def fund(
    ctx: typer.Context,
    contract: str = typer.Argument(..., help="Contract address (lg1...)."),
    sender: str = SENDER,
    cpu: str = CPU,
    disk: str = DISK,
    net: str = NET,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Give a live contract more credits (disk to keep it alive)."""
    cli = get_context(ctx)
    address = parse_contract(contract)
    credits = parse_credits(cpu, disk, net)
    if not any(credits):
        raise CliError("nothing to fund: give --cpu, --disk and/or --net")
    info = require_contract(cli, address)
    body = Fund(decode_address(address), credits[0], credits[1], credits[2])

    def describe(entry: KeyEntry, nonce_value: int) -> str:
        disk_after = info.balance("disk") + credits[1]
        return (
            f"Fund {address} with cpu {credits[0]}, disk {credits[1]}, net {credits[2]} "
            f"(then {lifetime(disk_after, info.rent_per_block)})"
        )

    spends = {"cpu": credits[0], "disk": credits[1], "net": credits[2]}
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    submitted = sign_and_send(cli, sending, body, describe, spends)
    finish(cli, submitted.hash, wait, timeout, lambda receipt: [], lambda receipt: {})


# -- commands: queries --------------------------------------------------------------------
def contract_text(info: ContractInfo) -> str:
    schedule = info.schedule
    pairs: list[tuple[str, Any]] = [
        ("address", info.address),
        ("deployer", info.deployer),
        ("created", f"block {info.created}"),
        ("code", f"{info.code_size} bytes, hash {info.code_hash.hex()}"),
        ("entry points", ", ".join(info.entry_points)),
        ("storage", f"{info.storage_keys} keys, {info.storage_bytes} bytes"),
        ("rent", f"{info.rent_per_block} disk per block ({info.rent_bytes} bytes rented)"),
        ("lives", f"{info.blocks_left} more blocks at this size (fund --disk to extend)"),
        (
            "schedule",
            "none"
            if schedule is None
            else f"{schedule.entry}() every {schedule.interval} blocks, {schedule.gas} gas; "
            f"next at block {info.next_run}",
        ),
    ]
    pairs += [(f"balance {asset}", amount) for asset, amount in sorted(info.balances.items())]
    return rows(pairs)


@contract_app.command("info")
@handles_errors
def info(
    ctx: typer.Context,
    contract: str = typer.Argument(..., help="Contract address (lg1...)."),
    height: int | None = HEIGHT,
) -> None:
    """A contract's code, deployer, storage size, rent, schedule and balances."""
    cli = get_context(ctx)
    found = require_contract(cli, parse_contract(contract), height)
    emit(cli, as_json(found), lambda: contract_text(found))


def storage_page_text(page: StoragePage) -> str:
    if not page.items:
        return f"no storage entries (at block {page.height})"
    return "\n".join(f"{format_value(k)} = {format_value(v)}" for k, v in page.items)


@contract_app.command("storage")
@handles_errors
def storage(
    ctx: typer.Context,
    contract: str = typer.Argument(..., help="Contract address (lg1...)."),
    key: str | None = typer.Argument(
        None, help="One key (str:TEXT, hex:HEX, 0xHEX); without it, list the entries."
    ),
    start: str | None = typer.Option(None, "--start", help="List from this key on."),
    limit: int = typer.Option(100, "--limit", min=1, max=MAX_PAGE, help="Most entries to list."),
    height: int | None = typer.Option(
        None, "--height", min=0, help="With KEY: read it after this block (default: latest)."
    ),
) -> None:
    """One storage value, or the storage entries in key order (latest state)."""
    cli = get_context(ctx)
    address = parse_contract(contract)
    client = cli.client()
    require_contract(cli, address, height)  # exit 1, as `contract info`, if there is none
    if key is not None:
        if start is not None:
            raise CliError("give either a KEY or --start, not both")
        key_bytes = parse_storage_key(key)
        value = client.get_contract_storage(address, key_bytes, height)
        emit(
            cli,
            {"address": address, "key": key_bytes.hex(), "value": as_json(value)},
            lambda: "(absent)" if value is None else format_value(value),
        )
        return
    if height is not None:
        raise CliError("--height needs a KEY: the listing shows the latest state only")
    page = client.get_contract_storage_items(
        address, parse_storage_key(start) if start is not None else b"", limit
    )
    data = {
        "address": page.address,
        "height": page.height,
        "items": [{"key": k.hex(), "value": v.hex()} for k, v in page.items],
        "next": as_json(page.next),
    }
    emit(cli, data, lambda: storage_page_text(page))
    if page.next is not None and not cli.json:
        typer.echo(f"more: ledger contract storage {address} --start 0x{page.next.hex()}", err=True)


def mailbox_text(mailbox: Mailbox) -> str:
    if not mailbox.messages:
        return f"the mailbox of {mailbox.address} is empty ({mailbox.received} received)"
    lines = [
        f"mailbox of {mailbox.address}: {len(mailbox.messages)} messages "
        f"({mailbox.received} received, the newest 64 are kept)"
    ]
    for message in mailbox.messages:
        args = ", ".join(format_value(a) for a in message.args)
        lines.append(
            f"  #{message.sequence}  block {message.height}  from {message.sender}  "
            f"{message.entry}({args})"
        )
    return "\n".join(lines)


@contract_app.command("mailbox")
@handles_errors
def mailbox(
    ctx: typer.Context,
    account: str = typer.Argument(..., help="Address (lg1...) or key name."),
    height: int | None = HEIGHT,
) -> None:
    """The messages contracts sent to an address (the newest 64), oldest first."""
    cli = get_context(ctx)
    found = cli.client().get_mailbox(cli.resolve_address(account), height)
    data = as_json(found)
    for message, shown in zip(found.messages, data["messages"], strict=True):
        shown["args"] = [vm_value_json(a) for a in message.args]
    emit(cli, data, lambda: mailbox_text(found))
