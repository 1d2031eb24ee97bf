"""`ledger query ...`: read the chain through a node's JSON-RPC API (--node)."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Any

import typer

from ledger.client import (
    AccountInfo,
    AccountProof,
    BlockEvents,
    BlockInfo,
    EventInfo,
    LedgerClient,
    ReceiptInfo,
    StatusInfo,
    TransactionInfo,
    TransportError,
)
from ledger.client.results import event_value
from vm.disassembler import format_value

from . import units
from .context import CliContext, CliError, ExitCode, emit, get_context, handles_errors

query_app = typer.Typer(
    help="Query balances, accounts, transactions, blocks, the node.", no_args_is_help=True
)

MAX_EVENT_BLOCKS = 1000
HEIGHT = typer.Option(
    None, "--height", min=0, help="Query the state after this block (default: latest)."
)


# Fields that hold amounts (and nonces, fees, gas, power): decimal strings in
# JSON output, as in the RPC API (docs/spec/rpc.md), whatever their size.
AMOUNT_FIELDS = frozenset(
    {
        "amount",
        "balance",
        "balances",
        "fee",
        "fee_charged",
        "gas",
        "gas_used",
        "supply",
        "max_supply",
        "remaining",
        "spent",
        "price_sell",
        "price_buy",
        "power",
        "voting_power",
        "total_power",
        "nonce",
        "min_fee",
        "cpu_credits_per_block",
        "disk_credits_per_block",
        "net_credits_per_block",
        "rent_per_block",
    }
)


def as_json(value: Any, name: str | None = None) -> Any:
    """A client result as JSON-ready data: bytes as hex; amounts (the fields
    named in AMOUNT_FIELDS, and every value of a ``balances`` map) as decimal
    strings; other integers as numbers unless too large for a double."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_json(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value) if name in AMOUNT_FIELDS or abs(value) >= 1 << 53 else value
    if isinstance(value, dict):
        inner = name if name == "balances" else None
        return {str(k): as_json(v, inner) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v, name) for v in value]
    return str(value)


def format_time(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def rows(pairs: list[tuple[str, Any]]) -> str:
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k:{width}}  {v}" for k, v in pairs)


def balance_rows(cli: CliContext | None, balances: dict[str, int]) -> list[tuple[str, Any]]:
    """``balance ASSET`` rows, amounts with their asset's decimals."""
    return [
        (f"balance {asset}", amount_of(cli, amount, asset))
        for asset, amount in sorted(balances.items())
    ]


def amount_of(cli: CliContext | None, amount: int, asset: str) -> str:
    """An amount for text output: with the asset's decimals when a node can say them."""
    if cli is None:
        return units.amount_text(amount, asset, units.COIN_DECIMALS if asset == units.COIN else 0)
    return units.shown_amount(cli, amount, asset)


def account_text(account: AccountInfo, cli: CliContext | None = None) -> str:
    pairs: list[tuple[str, Any]] = [("address", account.address), ("nonce", account.nonce)]
    pairs += balance_rows(cli, account.balances)
    if not account.balances:
        pairs.append(("balances", "(none)"))
    return rows(pairs)


def body_text(body: dict[str, Any]) -> str:
    """A transaction body's fields, one ``name=value`` after the other."""
    return ", ".join(f"{k}={v}" for k, v in body.items())


def transaction_text(tx: TransactionInfo, cli: CliContext | None = None) -> str:
    where = (
        "pending (in the mempool)" if tx.pending else f"block {tx.block_height}, index {tx.index}"
    )
    return rows(
        [
            ("hash", tx.hash.hex()),
            ("status", where),
            ("from", tx.sender),
            ("nonce", tx.nonce),
            ("fee", amount_of(cli, tx.fee, units.COIN)),
            ("kind", tx.kind),
            ("body", body_text(tx.body)),
        ]
    )


def event_text(event: EventInfo, cli: CliContext | None = None) -> str:
    """An event's attributes for people: amounts with their asset (``amount=5
    base units (0.000000000000000005 coin)``, ``returned=5 cpu, 10 disk``),
    gas as gas, what a call returned as values."""
    attributes = event.attributes
    asset = attributes.get("asset")
    parts = []
    for key, value in attributes.items():
        shown: Any = value
        if key in ("amount", "balance") and isinstance(asset, str) and _is_amount(value):
            shown = amount_of(cli, int(value), asset)
        elif key == "gas_used" and _is_amount(value):
            shown = f"{value} gas"
        elif key == "returns" and isinstance(value, list):
            shown = ", ".join(format_value(v) for v in _returned_values(value)) or "nothing"
        elif _is_asset_amounts(value):
            shown = ", ".join(amount_of(cli, int(a), s) for s, a in value) or "nothing"
        parts.append(f"{key}={shown}")
    return ", ".join(parts)


def _is_amount(value: Any) -> bool:
    return isinstance(value, str) and value.isdigit()


def _is_asset_amounts(value: Any) -> bool:
    """``[[asset, amount], ...]``, as in a contract_evicted event's ``returned``."""
    return isinstance(value, list) and all(
        isinstance(item, list)
        and len(item) == 2
        and isinstance(item[0], str)
        and _is_amount(item[1])
        for item in value
    )


def _returned_values(value: list[Any]) -> list[int | bytes]:
    try:
        return [event_value(v) for v in value]
    except (TypeError, ValueError):
        return []


def receipt_text(receipt: ReceiptInfo, cli: CliContext | None = None) -> str:
    status = "success" if receipt.success else f"FAILED (status {receipt.status}): {receipt.error}"
    pairs: list[tuple[str, Any]] = [
        ("transaction", receipt.transaction_hash.hex()),
        ("status", status),
        ("block", f"{receipt.block_height} ({receipt.block_hash.hex()}), index {receipt.index}"),
        ("from", receipt.sender),
        ("fee charged", amount_of(cli, receipt.fee_charged, units.COIN)),
    ]
    for event in receipt.events:
        pairs.append((f"event {event.kind}", event_text(event, cli)))
    return rows(pairs)


def block_text(block: BlockInfo, cli: CliContext | None = None) -> str:
    pairs: list[tuple[str, Any]] = [
        ("height", block.height),
        ("hash", block.hash.hex()),
        ("time", format_time(block.time_ms)),
        ("proposer", block.proposer),
        ("state root", block.state_root.hex()),
        ("prev hash", block.prev_hash.hex()),
        ("transactions", block.tx_count),
    ]
    if block.transactions:  # --full: what each one does
        for tx in block.transactions:
            pairs.append(
                (
                    f"  tx {tx.index}",
                    f"{tx.hash.hex()}  {tx.kind} from {tx.sender}, nonce {tx.nonce}, "
                    f"fee {tx.fee}: {body_text(tx.body)}",
                )
            )
    else:
        pairs += [(f"  tx {i}", h.hex()) for i, h in enumerate(block.transaction_hashes)]
    return rows(pairs)


def parse_hash(text: str) -> bytes:
    try:
        value = bytes.fromhex(text.removeprefix("0x"))
    except ValueError:
        value = b""
    if len(value) != 32:
        raise CliError(f"{text!r} is not a 32-byte hash in hex")
    return value


@query_app.command("balance")
@handles_errors
def balance(
    ctx: typer.Context,
    account: str = typer.Argument(..., help="Address (lg1...) or key name."),
    asset: str = typer.Option("coin", "--asset", help="Asset id."),
    height: int | None = HEIGHT,
) -> None:
    """The balance of one asset, in base units (and whole units: 1 coin = 10^18 base units)."""
    cli = get_context(ctx)
    address = cli.resolve_address(account)
    amount = cli.client().get_balance(address, asset, height)
    emit(
        cli,
        {"address": address, "asset": asset, "balance": str(amount)},
        lambda: amount_of(cli, amount, asset),
    )


@query_app.command("account")
@handles_errors
def account(
    ctx: typer.Context,
    account: str = typer.Argument(..., help="Address (lg1...) or key name."),
    height: int | None = HEIGHT,
) -> None:
    """An account's nonce and balances."""
    cli = get_context(ctx)
    info = cli.client().get_account(cli.resolve_address(account), height)
    emit(cli, as_json(info), lambda: account_text(info, cli))


@query_app.command("tx")
@handles_errors
def transaction(
    ctx: typer.Context, tx_hash: str = typer.Argument(..., help="Transaction hash (hex).")
) -> None:
    """A transaction, committed or pending."""
    cli = get_context(ctx)
    info = cli.client().get_transaction(parse_hash(tx_hash))
    if info is None:
        raise CliError(f"transaction {tx_hash} is unknown to the node")
    emit(cli, as_json(info), lambda: transaction_text(info, cli))


@query_app.command("receipt")
@handles_errors
def receipt(
    ctx: typer.Context, tx_hash: str = typer.Argument(..., help="Transaction hash (hex).")
) -> None:
    """A transaction's receipt (an error while it is pending)."""
    cli = get_context(ctx)
    info = cli.client().get_receipt(parse_hash(tx_hash))
    if info is None:
        raise CliError(f"no receipt for {tx_hash}: pending or unknown")
    emit(cli, as_json(info), lambda: receipt_text(info, cli))


@query_app.command("block")
@handles_errors
def block(
    ctx: typer.Context,
    block_id: str = typer.Argument("latest", help="Height, block hash (hex) or 'latest'."),
    full: bool = typer.Option(
        False, "--full", help="Show each transaction: its kind, sender and what it does."
    ),
) -> None:
    """A block by height or hash."""
    cli = get_context(ctx)
    key: int | str | bytes
    if block_id == "latest":
        key = "latest"
    elif block_id.isdigit():
        key = int(block_id)
    else:
        key = parse_hash(block_id)
    info = cli.client().get_block(key, full)
    if info is None:
        raise CliError(f"no block {block_id}")
    emit(cli, as_json(info), lambda: block_text(info, cli))


def block_events_text(
    found: list[BlockEvents], first: int, last: int, cli: CliContext | None = None
) -> str:
    where = f"block {first}" if first == last else f"blocks {first}..{last}"
    if not found:
        return f"no end-of-block events in {where}"
    lines = []
    for block_events in found:
        for event in block_events.events:
            lines.append(f"block {block_events.height}  {event.kind}  {event_text(event, cli)}")
    return "\n".join(lines)


@query_app.command("events")
@handles_errors
def events(
    ctx: typer.Context,
    height: str = typer.Argument("latest", help="Block height or 'latest'."),
    to: int | None = typer.Option(
        None, "--to", min=1, help=f"Up to this block too (at most {MAX_EVENT_BLOCKS} blocks)."
    ),
    kinds: list[str] | None = typer.Option(
        None,
        "--kind",
        help="Only events of this kind (repeat for several): contract_evicted, "
        "scheduled_run, message, mint, ...",
    ),
) -> None:
    """End-of-block events: scheduled contract runs, their messages, contract
    evictions, the validators' credits."""
    cli = get_context(ctx)
    client = cli.client()
    tip = client.block_number()
    if height == "latest":
        first = tip
    elif height.isdigit():
        first = int(height)
    else:
        raise CliError(f"{height!r} is not a block height")
    last = first if to is None else min(to, tip)
    if first < 1 or first > tip:
        raise CliError(f"no block {first} (the tip is {tip})")
    if last < first or last - first >= MAX_EVENT_BLOCKS:
        raise CliError(f"--to must be in [{first}, {first + MAX_EVENT_BLOCKS - 1}]")
    wanted = set(kinds or ())
    found = []
    for number in range(first, last + 1):
        block_events = client.get_block_events(number)
        if block_events is None:
            continue
        if wanted:
            kept = tuple(e for e in block_events.events if e.kind in wanted)
            block_events = dataclasses.replace(block_events, events=kept)
        if block_events.events:
            found.append(block_events)
    emit(
        cli,
        {"from": first, "to": last, "blocks": [as_json(b) for b in found]},
        lambda: block_events_text(found, first, last, cli),
    )


@query_app.command("validators")
@handles_errors
def validators(ctx: typer.Context, height: int | None = HEIGHT) -> None:
    """The validator set (of the next block, or of block --height)."""
    cli = get_context(ctx)
    info = cli.client().validators(height)
    emit(
        cli,
        as_json(info),
        lambda: "\n".join(
            [f"validators of block {info.height} (total power {info.total_power}):"]
            + [f"  {v.name:12} {v.address} power {v.power}" for v in info.validators]
        ),
    )


def wait_for_height(client: LedgerClient, height: int, timeout: float) -> StatusInfo:
    """The node's status once its height is at least ``height``, retrying while
    the node does not answer yet (it may be starting). Raises CliError (exit 6)
    after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: str = "no answer"
    while True:
        try:
            info = client.status()
        except TransportError as exc:
            last = f"no answer ({exc})"
        else:
            if info.height >= height:
                return info
            last = f"at height {info.height}"
        if time.monotonic() >= deadline:
            raise CliError(
                f"the node did not reach height {height} in {timeout:g} s: {last}",
                ExitCode.TIMEOUT,
            )
        time.sleep(0.2)


@query_app.command("status")
@handles_errors
def status(
    ctx: typer.Context,
    wait_height: int | None = typer.Option(
        None,
        "--wait-height",
        min=0,
        help="First wait until the node answers at this height or above (see --timeout).",
    ),
    timeout: float = typer.Option(
        60.0, "--timeout", min=0.1, help="Seconds --wait-height waits (then exit 6)."
    ),
) -> None:
    """The node's status: chain, height, sync, peers."""
    cli = get_context(ctx)
    if wait_height is None:
        info = cli.client().status()
    else:
        info = wait_for_height(cli.client(), wait_height, timeout)
    emit(
        cli,
        as_json(info),
        lambda: rows(
            [
                ("node", f"{info.moniker} ({info.mode}) at {cli.node}"),
                ("chain", info.chain_id),
                ("height", info.height),
                ("block hash", info.block_hash.hex()),
                ("block time", format_time(info.time_ms)),
                ("state root", info.state_root.hex()),
                ("catching up", "yes" if info.catching_up else "no"),
                ("peers", info.peers),
                ("validator", info.validator_address or "no"),
            ]
        ),
    )


def proof_text(
    info: AccountProof, verified: bool, trusted: bytes | None, cli: CliContext | None = None
) -> str:
    """The account a proof shows: as facts once verified; otherwise only as
    what the node claimed, which nothing here vouches for."""
    against = (
        f"--state-root {trusted.hex()}" if trusted is not None else f"block {info.height}'s header"
    )
    pairs: list[tuple[str, Any]] = [
        ("address", info.address),
        ("height", info.height),
        ("state root", info.state_root.hex()),
    ]
    if not verified:
        pairs.append(
            (
                "proof",
                f"{len(info.proof)} bytes, INVALID against {against}: nothing it "
                "says about the account can be trusted",
            )
        )
        return rows(pairs)
    if info.account is None:
        pairs.append(("account", "absent (the proof shows there is none)"))
    else:
        pairs.append(("nonce", info.account.nonce))
        pairs += balance_rows(cli, info.account.balances)
    pairs.append(("proof", f"{len(info.proof)} bytes, VERIFIED against {against}"))
    return rows(pairs)


@query_app.command("proof")
@handles_errors
def proof(
    ctx: typer.Context,
    account: str = typer.Argument(..., help="Address (lg1...) or key name."),
    height: int | None = HEIGHT,
    state_root: str | None = typer.Option(
        None,
        "--state-root",
        help="Verify against this root (hex) from a header you trust, e.g. another "
        "node's `query block H`; default: the node's own block header.",
    ),
) -> None:
    """An account's state proof, verified here against the block's state root."""
    cli = get_context(ctx)
    client = cli.client()
    trusted = parse_hash(state_root) if state_root is not None else None
    info = client.get_proof(cli.resolve_address(account), height)
    if trusted is None:
        header = client.get_block(info.height) if info.height >= 1 else None
        root_ok = header is None or header.state_root == info.state_root
        verified = root_ok and info.verify()
    else:
        verified = info.verify(trusted)
    data = {**as_json(info), "verified": verified}
    if not verified:
        data["account"] = None  # the node's claim, unproven: not reported as a fact
    emit(cli, data, lambda: proof_text(info, verified, trusted, cli))
    if not verified:
        against = "--state-root" if trusted is not None else "the block's state root"
        raise CliError(f"the proof does not verify against {against}", ExitCode.NODE)


@query_app.command("mempool")
@handles_errors
def mempool(ctx: typer.Context) -> None:
    """How many transactions wait in the node's mempool, and its limits."""
    cli = get_context(ctx)
    info = cli.client().mempool_info()
    emit(
        cli,
        as_json(info),
        lambda: rows(
            [
                ("transactions", f"{info.size} of at most {info.max_size}"),
                ("bytes", f"{info.bytes} of at most {info.max_bytes}"),
            ]
        ),
    )


@query_app.command("params")
@handles_errors
def params(ctx: typer.Context) -> None:
    """The chain's parameters: the minimum fee, block limits, credits per block."""
    cli = get_context(ctx)
    info = cli.client().get_params()
    emit(
        cli,
        as_json(info),
        lambda: rows(
            [
                ("min fee", units.coin_text(info.min_fee)),
                ("max block txs", info.max_block_txs),
                ("max block bytes", info.max_block_bytes),
                ("cpu credits per block", info.cpu_credits_per_block),
                ("disk credits per block", info.disk_credits_per_block),
                ("net credits per block", info.net_credits_per_block),
            ]
        ),
    )
