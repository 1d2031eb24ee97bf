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
    LedgerClient,
    ReceiptInfo,
    StatusInfo,
    TransactionInfo,
    TransportError,
)

from .context import CliError, ExitCode, emit, get_context, handles_errors

query_app = typer.Typer(
    help="Query balances, accounts, transactions, blocks, the node.", no_args_is_help=True
)

MAX_EVENT_BLOCKS = 1000
HEIGHT = typer.Option(
    None, "--height", min=0, help="Query the state after this block (default: latest)."
)


def as_json(value: Any) -> Any:
    """A client result as JSON-ready data (bytes as hex, big ints as text)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: as_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value) if abs(value) >= 1 << 53 else value
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    return str(value)


def format_time(time_ms: int) -> str:
    return datetime.fromtimestamp(time_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def rows(pairs: list[tuple[str, Any]]) -> str:
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k:{width}}  {v}" for k, v in pairs)


def account_text(account: AccountInfo) -> str:
    pairs: list[tuple[str, Any]] = [("address", account.address), ("nonce", account.nonce)]
    pairs += [(f"balance {asset}", amount) for asset, amount in sorted(account.balances.items())]
    if not account.balances:
        pairs.append(("balances", "(none)"))
    return rows(pairs)


def transaction_text(tx: TransactionInfo) -> str:
    where = (
        "pending (in the mempool)" if tx.pending else f"block {tx.block_height}, index {tx.index}"
    )
    body = ", ".join(f"{k}={v}" for k, v in tx.body.items())
    return rows(
        [
            ("hash", tx.hash.hex()),
            ("status", where),
            ("from", tx.sender),
            ("nonce", tx.nonce),
            ("fee", tx.fee),
            ("kind", tx.kind),
            ("body", body),
        ]
    )


def receipt_text(receipt: ReceiptInfo) -> str:
    status = "success" if receipt.success else f"FAILED (status {receipt.status}): {receipt.error}"
    pairs: list[tuple[str, Any]] = [
        ("transaction", receipt.transaction_hash.hex()),
        ("status", status),
        ("block", f"{receipt.block_height} ({receipt.block_hash.hex()}), index {receipt.index}"),
        ("from", receipt.sender),
        ("fee charged", receipt.fee_charged),
    ]
    for event in receipt.events:
        attributes = ", ".join(f"{k}={v}" for k, v in event.attributes.items())
        pairs.append((f"event {event.kind}", attributes))
    return rows(pairs)


def block_text(block: BlockInfo) -> str:
    pairs: list[tuple[str, Any]] = [
        ("height", block.height),
        ("hash", block.hash.hex()),
        ("time", format_time(block.time_ms)),
        ("proposer", block.proposer),
        ("state root", block.state_root.hex()),
        ("prev hash", block.prev_hash.hex()),
        ("transactions", block.tx_count),
    ]
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
    """The balance of one asset."""
    cli = get_context(ctx)
    address = cli.resolve_address(account)
    amount = cli.client().get_balance(address, asset, height)
    emit(cli, {"address": address, "asset": asset, "balance": str(amount)}, f"{amount} {asset}")


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
    emit(cli, as_json(info), lambda: account_text(info))


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
    emit(cli, as_json(info), lambda: transaction_text(info))


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
    emit(cli, as_json(info), lambda: receipt_text(info))


@query_app.command("block")
@handles_errors
def block(
    ctx: typer.Context,
    block_id: str = typer.Argument("latest", help="Height, block hash (hex) or 'latest'."),
    full: bool = typer.Option(False, "--full", help="Include full transactions."),
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
    emit(cli, as_json(info), lambda: block_text(info))


def block_events_text(found: list[BlockEvents], first: int, last: int) -> str:
    where = f"block {first}" if first == last else f"blocks {first}..{last}"
    if not found:
        return f"no end-of-block events in {where}"
    lines = []
    for block_events in found:
        for event in block_events.events:
            attributes = ", ".join(f"{k}={v}" for k, v in event.attributes.items())
            lines.append(f"block {block_events.height}  {event.kind}  {attributes}")
    return "\n".join(lines)


@query_app.command("events")
@handles_errors
def events(
    ctx: typer.Context,
    height: str = typer.Argument("latest", help="Block height or 'latest'."),
    to: int | None = typer.Option(
        None, "--to", min=1, help=f"Up to this block too (at most {MAX_EVENT_BLOCKS} blocks)."
    ),
) -> None:
    """End-of-block events: scheduled contract runs, their messages, contract evictions."""
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
    found = []
    for number in range(first, last + 1):
        block_events = client.get_block_events(number)
        if block_events is not None and block_events.events:
            found.append(block_events)
    emit(
        cli,
        {"from": first, "to": last, "blocks": [as_json(b) for b in found]},
        lambda: block_events_text(found, first, last),
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


def proof_text(info: AccountProof, verified: bool, trusted: bytes | None) -> str:
    pairs: list[tuple[str, Any]] = [
        ("address", info.address),
        ("height", info.height),
        ("state root", info.state_root.hex()),
    ]
    if info.account is None:
        pairs.append(("account", "absent (the proof shows there is none)"))
    else:
        pairs.append(("nonce", info.account.nonce))
        balances = sorted(info.account.balances.items())
        pairs += [(f"balance {asset}", amount) for asset, amount in balances]
    against = (
        f"--state-root {trusted.hex()}" if trusted is not None else f"block {info.height}'s header"
    )
    outcome = "VERIFIED" if verified else "INVALID"
    pairs.append(("proof", f"{len(info.proof)} bytes, {outcome} against {against}"))
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
    emit(cli, data, lambda: proof_text(info, verified, trusted))
    if not verified:
        against = "--state-root" if trusted is not None else "the block's state root"
        raise CliError(f"the proof does not verify against {against}", ExitCode.NODE)
