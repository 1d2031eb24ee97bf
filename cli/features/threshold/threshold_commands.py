"""`ledger threshold ...`: the validators' threshold key.

- ``status``: the group key, its account, threshold, epoch and members, and
  the pending and recent ceremonies.
- ``sign-request``: ``--message`` asks the validators to sign a message
  (anyone; they sign it domain-separated, see docs/spec/threshold.md);
  ``--transfer-to/--amount`` proposes, as a governor, that they sign a
  transfer from the group account (a governance action: the other
  governors approve with ``ledger threshold approve``).
- ``reshare``: proposes, as a governor, a resharing to the current
  validators. Without ``--from`` it only says how (resharing is a
  governance action; a change of the validator set reshares by itself).
- ``approve``: approves a governance proposal.

The governance policy's address comes from the node (``ledger_getGovernance``);
``$LEDGER_GOVERNANCE`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path

import typer

from cli.context import CliContext, CliError, emit, get_context, handles_errors, passphrase
from cli.query_commands import as_json
from cli.submission import finish, parse_amount
from ledger.address import decode_address
from ledger.client import Ceremonies, CeremonyInfo, ThresholdKey
from ledger.client.keystore import DEVNET_PREFIX
from ledger.features.bank.bodies import Transfer
from ledger.features.policy.bodies import ApproveProposal, ProposeAction, encode_action
from ledger.features.threshold.bodies import (
    ThresholdReshare,
    ThresholdSignMessage,
    ThresholdSignTransaction,
)
from ledger.features.threshold.ceremonies import encode_unsigned_transaction
from ledger.types import NATIVE_ASSET, Body, Transaction

threshold_app = typer.Typer(help="The validators' threshold key.", no_args_is_help=True)

PROPOSAL_LIFETIME = 1000  # blocks


def _group_text(group: ThresholdKey | None, ceremonies: Ceremonies) -> str:
    lines = []
    if group is None:
        state = "enabled, no key yet" if ceremonies.enabled else "not enabled by the genesis"
        lines.append(f"threshold key: none ({state})")
    else:
        lines += [
            f"group key   {group.public_key.hex()}",
            f"account     {group.address}",
            f"threshold   {group.threshold} of {len(group.members)}",
            f"epoch       {group.epoch} (ceremony {group.ceremony_id})",
            "members:",
            *(f"  {m.identifier:>3}  {m.validator}" for m in group.members),
        ]
    for title, items in (("pending", ceremonies.pending), ("recent", ceremonies.recent)):
        lines.append(f"{title} ceremonies:" if items else f"{title} ceremonies: none")
        lines += [f"  {_ceremony_line(c)}" for c in items]
    return "\n".join(lines)


def _ceremony_line(c: CeremonyInfo) -> str:
    done = f", finished at {c.completed_at}" if c.completed_at else f", expires at {c.expires_at}"
    return (
        f"#{c.id} {c.kind} {c.status}: {c.threshold} of {len(c.participants)}, "
        f"requested at {c.requested_at}{done}"
    )


@threshold_app.command("status")
@handles_errors
def status(ctx: typer.Context) -> None:
    """Show the group key, its members and the ceremonies."""
    cli = get_context(ctx)
    client = cli.client()
    group = client.get_threshold_key()
    ceremonies = client.get_ceremonies()
    data = {"key": as_json(group), "ceremonies": as_json(ceremonies)}
    emit(cli, data, lambda: _group_text(group, ceremonies))


def _send_body(
    cli: CliContext,
    sender: str,
    body: Body,
    question: str,
    password_file: Path | None,
    wait: bool,
    timeout: float,
) -> None:
    keystore = cli.keystore()
    entry = keystore.entry(sender)
    client = cli.client()
    chain = client.chain_id()
    fee = client.get_params().min_fee
    nonce = client.get_transaction_count(entry.address, "pending")
    cli.confirm(f"{question} Signed by {entry.name} ({entry.address}), fee {fee}, on {chain}?")
    key = keystore.load(
        sender, None if sender.startswith(DEVNET_PREFIX) else passphrase(password_file)
    )
    tx = Transaction(chain, key.public_key, nonce, fee, body).signed(key)
    tx_hash = client.send_raw_transaction(tx.encode())
    finish(cli, tx_hash, wait, timeout)


def _propose(
    cli: CliContext,
    sender: str,
    action: Body,
    what: str,
    password_file: Path | None,
    timeout: float,
) -> None:
    """Propose ``action`` from the governance policy (the sender must be a governor)."""
    governance = _governance(cli)
    expires = cli.client().block_number() + PROPOSAL_LIFETIME
    body = ProposeAction(governance, encode_action(action), expires)
    _send_body(
        cli, sender, body, f"Propose to the governance: {what}.", password_file, True, timeout
    )
    if not cli.json:
        typer.echo(
            "the other governors approve with: ledger threshold approve PROPOSAL_ID --from KEY "
            "(the proposal id is in the proposal_created event above)",
            err=True,
        )


def _governance(cli: CliContext) -> bytes:
    """The governance policy's address: $LEDGER_GOVERNANCE, else the node's answer."""
    text = os.environ.get("LEDGER_GOVERNANCE")
    if text:
        return decode_address(text)
    address = cli.client().get_governance().address
    if address is None:
        raise CliError("this chain has no governance policy")
    return decode_address(address)


@threshold_app.command("sign-request")
@handles_errors
def sign_request(
    ctx: typer.Context,
    sender: str = typer.Option(..., "--from", help="Key name that signs and pays the fee."),
    message: str | None = typer.Option(
        None, "--message", help="A message for the validators to sign (text, or 0x-hex)."
    ),
    transfer_to: str | None = typer.Option(
        None, "--transfer-to", help="Propose a transfer from the group account to this address."
    ),
    amount: str | None = typer.Option(None, "--amount", help="Amount of the transfer."),
    asset: str = typer.Option(NATIVE_ASSET, "--asset", help="Asset of the transfer."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1, help="Seconds to wait."),
    password_file: Path | None = typer.Option(None, "--password-file"),
) -> None:
    """Ask the validators for a signature with the group key."""
    cli = get_context(ctx)
    if (message is None) == (transfer_to is None):
        raise CliError("give either --message or --transfer-to with --amount")
    if message is not None:
        data = bytes.fromhex(message[2:]) if message.startswith("0x") else message.encode()
        body: Body = ThresholdSignMessage(data)
        question = f"Ask the validators to sign the message {data!r:.60}."
        _send_body(cli, sender, body, question, password_file, True, timeout)
        if not cli.json:
            typer.echo("follow it with: ledger threshold status", err=True)
        return
    if amount is None:
        raise CliError("--transfer-to needs --amount")
    client = cli.client()
    group = client.get_threshold_key()
    if group is None:
        raise CliError("the validators hold no threshold key yet")
    recipient = decode_address(cli.resolve_address(transfer_to or ""))
    value = parse_amount(amount, "--amount")
    nonce = client.get_transaction_count(group.address, "pending")
    spend = Transaction(
        client.chain_id(),
        group.public_key,
        nonce,
        client.get_params().min_fee,
        Transfer(asset, value, recipient),
    )
    action = ThresholdSignTransaction(encode_unsigned_transaction(spend))
    what = f"the validators sign a transfer of {value} {asset} from {group.address} (nonce {nonce})"
    _propose(cli, sender, action, what, password_file, timeout)


@threshold_app.command("reshare")
@handles_errors
def reshare(
    ctx: typer.Context,
    sender: str | None = typer.Option(
        None, "--from", help="A governor's key: propose the resharing."
    ),
    threshold: int = typer.Option(
        0, "--threshold", min=0, help="New threshold (0: floor(2n/3)+1)."
    ),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1),
    password_file: Path | None = typer.Option(None, "--password-file"),
) -> None:
    """Reshare the key to the current validators (a governance action)."""
    cli = get_context(ctx)
    if sender is None:
        typer.echo(
            "A resharing is a governance action. A change of the validator set reshares by "
            "itself (requested by the chain the block after the change is scheduled). To "
            "reshare now, a governor proposes it with\n"
            "  ledger threshold reshare --from GOVERNOR_KEY [--threshold T]\n"
            "and enough other governors approve with\n"
            "  ledger threshold approve PROPOSAL_ID --from KEY"
        )
        return
    what = f"reshare the group key to the current validators, threshold {threshold or 'default'}"
    _propose(cli, sender, ThresholdReshare(threshold), what, password_file, timeout)


@threshold_app.command("approve")
@handles_errors
def approve(
    ctx: typer.Context,
    proposal_id: int = typer.Argument(..., min=1, help="The governance proposal id."),
    sender: str = typer.Option(..., "--from", help="A governor's key."),
    timeout: float = typer.Option(30.0, "--timeout", min=0.1),
    password_file: Path | None = typer.Option(None, "--password-file"),
) -> None:
    """Approve a governance proposal (e.g. a group-account spend or a resharing)."""
    cli = get_context(ctx)
    body = ApproveProposal(_governance(cli), proposal_id)
    question = f"Approve governance proposal {proposal_id}."
    _send_body(cli, sender, body, question, password_file, True, timeout)
