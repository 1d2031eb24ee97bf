"""`ledger mail ...`: anonymous mail through a remailer and the validators' mix.

- ``postage``: buy prepaid letters from a remailer (a pay_call of its ``buy``).
- ``send``: seal a message to the recipient's key, encrypt it to the mail
  key with a proof bound to this very transaction, and send it through the
  remailer (``send``), which spends one prepaid letter and passes it to the
  mix. The recipient's key comes from the keystore (a key name), from
  ``--to-key``, or from a transaction the address has sent.
- ``read``: fetch the letters delivered to one of your keys and open them.
- ``status``: the mix (settings, key, postage, batches), one batch, or the
  letters an address has prepaid at a remailer.

docs/guide/mail.md walks through all of them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import typer

from cli.context import CliContext, CliError, emit, get_context, handles_errors
from cli.query_commands import as_json
from cli.submission import (
    FEE,
    NONCE,
    PASSWORD_FILE,
    TIMEOUT,
    WAIT,
    Sending,
    load_key,
    parse_positive,
    sender_entry,
    submit_body,
)
from ledger.address import AddressError, decode_address, encode_address
from ledger.client import ReceiptInfo
from ledger.client.keystore import KeystoreError
from ledger.client.mail_letters import (
    BUNDLED_REMAILER_PRICE,
    letter_call,
    open_letters,
    postage_call,
)
from ledger.client.mail_results import MailBatchInfo, MailKeyInfo, MailStatusInfo
from ledger.features.mail.interface import MailError

mail_app = typer.Typer(help="Anonymous mail through remailers and the validators' mix.")

SENDER_OPTION = typer.Option(..., "--from", help="Key name (NAME or devnet:NAME) that signs.")
VIA = typer.Option(..., "--via", help="The remailer's address (lg1...).")
MAX_FILE: Final = 64 * 1024


def _remailer(text: str) -> bytes:
    try:
        return decode_address(text)
    except AddressError as exc:
        raise CliError(f"--via: not a remailer address: {exc}") from None


def _mix(cli: CliContext) -> MailStatusInfo:
    status = cli.client().get_mail_status()
    if status is None:
        raise CliError("this chain has no mail (its genesis has no mail section)")
    return status


def _recipient_key(cli: CliContext, to: str, to_key: str | None) -> tuple[bytes, str]:
    """The recipient's public key and address, from --to-key, a key name or the chain."""
    if to_key is not None:
        try:
            key = bytes.fromhex(to_key.removeprefix("0x"))
        except ValueError:
            raise CliError("--to-key: 33-byte compressed public key in hex") from None
        return key, cli.resolve_address(to)
    try:
        entry = cli.keystore().entry(to)
        return entry.public_key, entry.address
    except KeystoreError:
        pass
    address = cli.resolve_address(to)
    found = cli.client().find_public_key(address)
    if found is None:
        raise CliError(
            f"the public key of {address} is unknown (it has sent no transaction): "
            "pass it with --to-key"
        )
    return found, address


@mail_app.command("postage")
@handles_errors
def postage(
    ctx: typer.Context,
    via: str = VIA,
    letters: str = typer.Option("1", "--letters", help="How many letters to buy."),
    price: str = typer.Option(
        str(BUNDLED_REMAILER_PRICE),
        "--price",
        help="Coin per letter at this remailer (the bundled remailer's price by default).",
    ),
    sender: str = SENDER_OPTION,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Buy prepaid letters from a remailer."""
    cli = get_context(ctx)
    remailer = _remailer(via)
    count = parse_positive(letters, "--letters")
    each = parse_positive(price, "--price")
    body = postage_call(remailer, count, each)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)

    def report(receipt: ReceiptInfo) -> list[tuple[str, Any]]:
        held = receipt.return_values
        return [("letters_prepaid", held[0] if held else None)]

    description = f"Buy {count} letters from the remailer {via} for {count * each} coin"
    submit_body(cli, sending, body, description, report)


@mail_app.command("send")
@handles_errors
def send(
    ctx: typer.Context,
    to: str = typer.Option(..., "--to", help="The recipient: an address (lg1...) or key name."),
    via: str = VIA,
    message: str | None = typer.Option(None, "--message", help="The message (text)."),
    file: Path | None = typer.Option(None, "--file", help="Send the bytes of this file."),
    to_key: str | None = typer.Option(
        None, "--to-key", help="The recipient's public key (hex), if the chain has not seen it."
    ),
    sender: str = SENDER_OPTION,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Send an anonymous letter through a remailer."""
    cli = get_context(ctx)
    if (message is None) == (file is None):
        raise CliError("give either --message or --file")
    if file is not None:
        if file.stat().st_size > MAX_FILE:
            raise CliError(f"{file}: larger than a letter can be")
        data = file.read_bytes()
    else:
        data = (message or "").encode()
    remailer = _remailer(via)
    mix = _mix(cli)
    if mix.key is None:
        raise CliError("the validators have not made the mail key yet; try again later")
    if len(data) > mix.message_capacity:
        raise CliError(f"the message is {len(data)} bytes; a letter holds {mix.message_capacity}")
    recipient_key, recipient = _recipient_key(cli, to, to_key)
    client = cli.client()
    entry = sender_entry(cli, Sending(sender, fee, nonce, wait, timeout, password_file))
    if nonce is None:
        nonce = client.get_transaction_count(entry.address, "pending")
    try:
        body = letter_call(
            remailer,
            recipient_key,
            data,
            mix.key.public_key,
            mix.cell_width,
            client.chain_id(),
            decode_address(entry.address),
            nonce,
        )
    except MailError as exc:
        raise CliError(f"cannot make the letter: {exc}") from None
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)

    def report(receipt: ReceiptInfo) -> list[tuple[str, Any]]:
        mix_message = next((e.attributes for e in receipt.events if e.kind == "message"), None)
        accepted = next(
            (e.attributes for e in receipt.events if e.kind == "mail_letter_accepted"), None
        )
        facts: list[tuple[str, Any]] = []
        if accepted is not None:
            facts.append(("batch", accepted["batch"]))
        elif mix_message is not None:
            facts.append(("refused_by_the_mix", mix_message["error"]))
        held = receipt.return_values
        facts.append(("letters_left", held[0] if held else None))
        return facts

    description = f"Send a {len(data)}-byte letter to {recipient} through the remailer {via}"
    receipt = submit_body(cli, sending, body, description, report)
    if receipt is not None and not any(e.kind == "mail_letter_accepted" for e in receipt.events):
        raise CliError("the remailer took the letter but the mix refused it (see the receipt)")


@mail_app.command("read")
@handles_errors
def read(
    ctx: typer.Context,
    key: str = typer.Option(..., "--key", help="Your key name: whose letters to open."),
    start: int = typer.Option(0, "--start", min=0, help="First letter (sequence number)."),
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Read the letters delivered to you."""
    cli = get_context(ctx)
    sending = Sending(key, None, None, True, 0.1, password_file)
    entry = sender_entry(cli, sending)
    signing = load_key(cli, sending)
    page = cli.client().get_mail_letters(entry.address, start, 256)
    opened = open_letters(page, decode_address(entry.address), signing.secret)
    data = {
        "address": entry.address,
        "received": page.received,
        "letters": [
            {
                "sequence": o.sequence,
                "batch": o.batch_id,
                "deliveredAt": o.delivered_at,
                "message": None if o.message is None else o.message.decode("utf-8", "replace"),
                "messageHex": None if o.message is None else o.message.hex(),
                "error": o.error or None,
            }
            for o in opened
        ],
    }

    def text() -> str:
        if not opened:
            return f"no letters for {entry.address}"
        lines = []
        for o in opened:
            head = f"#{o.sequence} (batch {o.batch_id}, delivered at {o.delivered_at})"
            body = o.message.decode("utf-8", "replace") if o.message is not None else o.error
            lines.append(f"{head}: {body}")
        return "\n".join(lines)

    emit(cli, data, text)


def _batch_line(batch: MailBatchInfo) -> str:
    shuffled = f", shuffled by {len(batch.shufflers)}" if batch.shufflers else ""
    skipped = f", {len(batch.skipped)} skipped" if batch.skipped else ""
    done = f", {batch.delivered} delivered" if batch.status == "delivered" else ""
    failed = f" ({batch.reason})" if batch.reason else ""
    progress = f"{shuffled}{skipped}{done}"
    return f"batch {batch.batch_id}: {batch.status}{failed}, {batch.cells} letters{progress}"


def _key_text(key: MailKeyInfo) -> str:
    return f"{key.public_key.hex()} ({key.threshold} of {len(key.holders)}, epoch {key.epoch})"


def _status_text(status: MailStatusInfo) -> str:
    key = status.key
    lines = [
        f"mix address     {status.mix_address}",
        f"letters         {status.message_capacity} bytes at most, {status.batch_cells} a batch "
        f"(or after {status.batch_blocks} blocks)",
        f"kept            {status.retention_blocks} blocks after delivery",
        "mail key        " + ("not made yet" if key is None else _key_text(key)),
        "postage         "
        + ("-" if status.postage_gas is None else f"{status.postage_gas} gas a letter"),
        "open batch      "
        + ("none" if status.open_batch is None else _batch_line(status.open_batch)),
    ]
    lines += [f"in flight       {_batch_line(b)}" for b in status.in_flight]
    lines += [
        f"faults          {f['address']}: {f['badShuffles']} bad shuffles, {f['timeouts']} "
        f"timeouts, {f['badShares']} bad shares"
        for f in status.faults
    ]
    return "\n".join(lines)


@mail_app.command("status")
@handles_errors
def status(
    ctx: typer.Context,
    batch: int | None = typer.Option(None, "--batch", min=0, help="Show this batch."),
    via: str | None = typer.Option(None, "--via", help="A remailer: show prepaid letters."),
    address: str | None = typer.Option(
        None, "--address", help="Whose prepaid letters at --via (an address or key name)."
    ),
) -> None:
    """Show the mix, one batch, or the letters prepaid at a remailer."""
    cli = get_context(ctx)
    client = cli.client()
    if batch is not None:
        found = client.get_mail_batch(batch)
        if found is None:
            raise CliError(f"no batch {batch}")
        emit(cli, as_json(found), lambda: _batch_line(found))
        return
    if via is not None:
        if address is None:
            raise CliError("--via needs --address: whose prepaid letters")
        owner = decode_address(cli.resolve_address(address))
        stored = client.get_contract_storage(_remailer(via), b"l" + owner)
        held = int.from_bytes(stored, "big") if stored else 0
        owner_text = encode_address(owner)
        emit(
            cli,
            {"remailer": via, "address": owner_text, "letters": held},
            f"{owner_text} has {held} prepaid letters at {via}",
        )
        return
    mix = _mix(cli)
    emit(cli, as_json(mix), lambda: _status_text(mix))
