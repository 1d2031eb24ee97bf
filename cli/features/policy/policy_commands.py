"""`ledger policy ...`: k-of-n policy accounts (banks) and governance.

A policy account moves funds, and changes its own members and threshold,
only through proposals approved by k of its n members; the k-th approval
executes the action in that same transaction (docs/spec/policy.md, and
docs/guide/shared-accounts.md for a walk-through). `propose` has one sub-command per
kind of action: `transfer`, `update` (members, threshold, limits) and
`validator` (the governance policy's validator changes).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cli.context import CliContext, CliError, emit, get_context, handles_errors
from cli.query_commands import as_json, rows
from cli.submission import (
    EXPIRES_AT,
    EXPIRES_IN,
    FEE,
    HEIGHT,
    NONCE,
    PASSWORD_FILE,
    SENDER,
    TIMEOUT,
    WAIT,
    Sending,
    expiry_height,
    invalid_input,
    parse_amount,
    parse_asset,
    parse_positive,
    sender_entry,
    submit_body,
)
from cli.units import parse_count
from ledger import codec
from ledger.address import encode_address
from ledger.client import (
    ActionInfo,
    GovernanceInfo,
    PolicyInfo,
    ProposalInfo,
    ReceiptInfo,
    created_policy_address,
    created_proposal_id,
)
from ledger.client import asset_transactions as build
from ledger.client.asset_results import find_event
from ledger.features.bank.bodies import Transfer
from ledger.features.threshold.bodies import (
    ThresholdReshare,
    ThresholdSignMessage,
    ThresholdSignTransaction,
)
from ledger.features.threshold.ceremonies import decode_unsigned_transaction
from ledger.features.validators.bodies import UpdateValidator
from ledger.json_forms import body_json
from ledger.types import Body, DecodeError, decode_body

policy_app = typer.Typer(
    help="k-of-n policy accounts: create, propose, approve, show; governance.",
    no_args_is_help=True,
)
propose_app = typer.Typer(
    help="Propose an action for a policy account (counts as your approval).",
    no_args_is_help=True,
)
policy_app.add_typer(propose_app, name="propose")

POLICY = typer.Argument(..., help="The policy account's address (lg1...) or a key name.")
MEMBERS = typer.Option(
    ..., "--member", help="A member's address or key name (repeat for each member)."
)
THRESHOLD = typer.Option(..., "--threshold", min=1, help="Approvals needed (k of the n members).")
LIMITS = typer.Option(
    None,
    "--limit",
    help="Spending limit ASSET:AMOUNT:WINDOW: at most AMOUNT per WINDOW blocks (repeatable).",
)


def parse_limit(text: str) -> tuple[str, int, int]:
    parts = text.split(":")
    if len(parts) != 3 or not parts[2].isdigit() or int(parts[2]) < 1:
        raise CliError(f"a limit is ASSET:AMOUNT:WINDOW (window >= 1 block), got {text!r}")
    return (
        parse_asset(parts[0], "limit asset"),
        parse_amount(parts[1], "limit amount"),
        int(parts[2]),
    )


def resolve_members(cli: CliContext, members: list[str]) -> list[str]:
    addresses = [cli.resolve_address(m) for m in members]
    if len(set(addresses)) != len(addresses):
        raise CliError("a member is listed twice")
    return addresses


def action_text(action: ActionInfo | None, action_bytes: bytes = b"") -> str:
    """One line saying what an action does (the threshold key's actions are
    decoded here from their bytes: the node shows them only as fields)."""
    if action is None:
        return "(an action this client cannot decode)"
    body = action.body
    if action.kind == "transfer":
        return f"transfer {body['amount']} {body['asset']} to {body['recipient']}"
    if action.kind == "policy_update":
        limits = ", ".join(
            f"{x['amount']} {x['asset']} per {x['window']} blocks" for x in body["limits"]
        )
        return f"set members to {', '.join(body['members'])}; threshold {body['threshold']}" + (
            f"; limits {limits}" if limits else ""
        )
    if action.kind == "validator_update":
        if body["power"] == "0":
            return f"remove validator {body['name']} ({body['address']})"
        return f"set validator {body['name']} ({body['address']}) to power {body['power']}"
    decoded = threshold_action_text(action_bytes)
    if decoded is not None:
        return decoded
    fields = ", ".join(f"{k}={v}" for k, v in body.items())
    return f"{action.kind}: {fields}"


def threshold_action_text(action_bytes: bytes) -> str | None:
    """What a threshold-key action asks of the validators, or None for
    another kind (or bytes that do not decode)."""
    try:
        body = decode_body(codec.decode(action_bytes))
    except (DecodeError, codec.CodecError, ValueError):
        return None
    if isinstance(body, ThresholdReshare):
        threshold = body.threshold or "the default floor(2n/3)+1"
        return (
            "reshare the validators' threshold key to the current validators, "
            f"threshold {threshold}"
        )
    if isinstance(body, ThresholdSignMessage):
        return f"the validators sign the message {body.message!r:.80}"
    if isinstance(body, ThresholdSignTransaction):
        try:
            spend = decode_unsigned_transaction(body.transaction)
        except DecodeError:
            return "the validators sign a transaction this client cannot decode"
        fields = ", ".join(f"{k}={v}" for k, v in body_json(spend.body).items())
        what = f"{spend.body.NAME}: {fields}"
        if isinstance(spend.body, Transfer):
            recipient = encode_address(spend.body.recipient)
            what = f"transfer {spend.body.amount} {spend.body.asset} to {recipient}"
        return (
            f"the validators sign, from the group account {encode_address(spend.sender_address)} "
            f"(nonce {spend.nonce}, fee {spend.fee}): {what}"
        )
    return None


def policy_text(policy: PolicyInfo) -> str:
    pairs: list[tuple[str, Any]] = [
        ("address", policy.address),
        ("threshold", f"{policy.threshold} of {len(policy.members)}"),
    ]
    pairs += [("member", m) for m in policy.members]
    pairs += [("limit", f"{x.amount} {x.asset} per {x.window} blocks") for x in policy.limits]
    pairs += [("spent", f"{s.spent} {s.asset} in window {s.window_index}") for s in policy.spending]
    pending = ", ".join(str(i) for i in policy.pending_proposals) or "none"
    pairs += [("pending proposals", pending), ("next proposal id", policy.next_proposal_id)]
    if policy.governance:
        pairs.append(("governance", "yes: its proposals change the validator set"))
    return rows(pairs)


def proposal_text(proposal: ProposalInfo, threshold: int | None = None) -> str:
    needed = f" of {threshold}" if threshold is not None else ""
    approvals = ", ".join(proposal.approvals)
    return "\n".join(
        [
            f"proposal {proposal.proposal_id}: "
            f"{action_text(proposal.action, proposal.action_bytes)}",
            f"  proposed by {proposal.proposer}, expires after block {proposal.expires_at}",
            f"  approvals {len(proposal.approvals)}{needed}: {approvals}",
        ]
    )


def require_policy(cli: CliContext, policy: str) -> PolicyInfo:
    """The policy account in the node's pending state. Raises CliError."""
    address = cli.resolve_address(policy)
    info = cli.client().get_policy(address, "pending")
    if info is None:
        raise CliError(f"{address} is not a policy account")
    return info


def check_policy_can_pay(cli: CliContext, info: PolicyInfo, action: Body | None) -> None:
    """Refuse an approval that would execute a transfer the policy account
    cannot cover (in the pending state): it would be included and fail."""
    if not isinstance(action, Transfer):
        return
    held = cli.client().get_balance(info.address, action.asset, "pending")
    if held < action.amount:
        raise CliError(
            f"the policy {info.address} cannot cover this transfer: {action.asset} balance "
            f"{held} < amount {action.amount} (base units; pending transactions counted), "
            "and this approval would execute it"
        )


def decoded_action(action_bytes: bytes) -> Body | None:
    try:
        return decode_body(codec.decode(action_bytes))
    except (DecodeError, codec.CodecError, ValueError):
        return None


def require_member(info: PolicyInfo, address: str, name: str) -> None:
    if address not in info.members:
        raise CliError(f"{name} ({address}) is not a member of the policy {info.address}")


def executed_report(receipt: ReceiptInfo) -> list[tuple[str, Any]]:
    executed = find_event(receipt, "proposal_executed") is not None
    return [("executed", "yes" if executed else "no: it needs more approvals")]


def send_proposal(
    cli: CliContext,
    sending: Sending,
    policy: str,
    action: Body,
    description: str,
    expires_in: int | None,
    expires_at: int | None,
) -> None:
    """Check the sender may propose, then propose ``action``."""
    info = require_policy(cli, policy)
    if isinstance(action, UpdateValidator) and not info.governance:
        raise CliError(f"{info.address} is not the governance policy: it cannot change validators")
    entry = sender_entry(cli, sending)
    require_member(info, entry.address, entry.name)
    if info.threshold == 1:  # the proposer's own approval executes it at once
        check_policy_can_pay(cli, info, action)
    expires = expiry_height(cli, expires_in, expires_at)
    with invalid_input():
        body = build.propose(info.address, action, expires)
    submit_body(
        cli,
        sending,
        body,
        f"Propose for {info.address} ({info.threshold} of {len(info.members)}): "
        f"{description}, open until block {expires}",
        lambda receipt: [("proposal_id", created_proposal_id(receipt)), *executed_report(receipt)],
    )


@policy_app.command("create")
@handles_errors
def create(
    ctx: typer.Context,
    members: list[str] = MEMBERS,
    threshold: int = THRESHOLD,
    limits: list[str] | None = LIMITS,
    sender: str = SENDER,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Create a k-of-n policy account; prints its address."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    addresses = resolve_members(cli, members)
    if threshold > len(addresses):
        raise CliError(f"--threshold {threshold} exceeds the {len(addresses)} members")
    with invalid_input():
        body = build.create_policy(addresses, threshold, [parse_limit(x) for x in limits or []])
    submit_body(
        cli,
        sending,
        body,
        f"Create a {threshold}-of-{len(addresses)} policy account of {', '.join(addresses)}"
        + "".join(f"; limit {x.amount} {x.asset} per {x.window} blocks" for x in body.limits),
        lambda receipt: [("policy_address", created_policy_address(receipt))],
    )


@propose_app.command("transfer")
@handles_errors
def propose_transfer(
    ctx: typer.Context,
    policy: str = POLICY,
    to: str = typer.Option(..., "--to", help="Recipient address or key name."),
    amount: str = typer.Option(
        ..., "--amount", help="Amount in base units, or whole units with the asset: 1.5coin."
    ),
    asset: str = typer.Option("coin", "--asset", help="Asset id."),
    expires_in: int | None = EXPIRES_IN,
    expires_at: int | None = EXPIRES_AT,
    sender: str = SENDER,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Propose a transfer from the policy account (a withdrawal)."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    recipient = cli.resolve_address(to)
    asset_id = parse_asset(asset)
    with invalid_input():
        action = build.transfer(
            asset_id, parse_positive(amount, "--amount", cli, asset_id), recipient
        )
    description = f"transfer {action.amount} {action.asset} to {recipient}"
    send_proposal(cli, sending, policy, action, description, expires_in, expires_at)


@propose_app.command("update")
@handles_errors
def propose_update(
    ctx: typer.Context,
    policy: str = POLICY,
    members: list[str] = MEMBERS,
    threshold: int = THRESHOLD,
    limits: list[str] | None = LIMITS,
    expires_in: int | None = EXPIRES_IN,
    expires_at: int | None = EXPIRES_AT,
    sender: str = SENDER,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Propose new members, threshold and limits (all replaced; the address stays)."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    addresses = resolve_members(cli, members)
    if threshold > len(addresses):
        raise CliError(f"--threshold {threshold} exceeds the {len(addresses)} members")
    with invalid_input():
        action = build.update_policy(addresses, threshold, [parse_limit(x) for x in limits or []])
    description = f"set members to {', '.join(addresses)} with threshold {threshold}" + "".join(
        f"; limit {x.amount} {x.asset} per {x.window} blocks" for x in action.limits
    )
    send_proposal(cli, sending, policy, action, description, expires_in, expires_at)


@propose_app.command("validator")
@handles_errors
def propose_validator(
    ctx: typer.Context,
    policy: str = POLICY,
    public_key: str = typer.Option(
        ..., "--public-key", help="The validator's compressed public key (66 hex characters)."
    ),
    power: str = typer.Option(..., "--power", help="Voting power; 0 removes the validator."),
    name: str = typer.Option(..., "--name", help="The validator's unique name (1-64 chars)."),
    expires_in: int | None = EXPIRES_IN,
    expires_at: int | None = EXPIRES_AT,
    sender: str = SENDER,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Propose adding, re-weighting or (power 0) removing a validator (governance only)."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    try:
        key = bytes.fromhex(public_key.removeprefix("0x"))
    except ValueError:
        raise CliError("--public-key must be hex (33 bytes, compressed)") from None
    with invalid_input():
        action = build.update_validator(key, parse_count(power, "--power"), name)
    verb = "remove validator" if action.power == 0 else f"set power {action.power} for validator"
    description = f"{verb} {name} ({public_key}), in force 2 blocks after it executes"
    send_proposal(cli, sending, policy, action, description, expires_in, expires_at)


@policy_app.command("approve")
@handles_errors
def approve(
    ctx: typer.Context,
    policy: str = POLICY,
    proposal_id: int = typer.Argument(..., min=0, help="The pending proposal's id."),
    sender: str = SENDER,
    fee: str | None = FEE,
    nonce: int | None = NONCE,
    wait: bool = WAIT,
    timeout: float = TIMEOUT,
    password_file: Path | None = PASSWORD_FILE,
) -> None:
    """Approve a pending proposal; the k-th approval executes it."""
    cli = get_context(ctx)
    sending = Sending(sender, fee, nonce, wait, timeout, password_file)
    info = require_policy(cli, policy)
    entry = sender_entry(cli, sending)
    require_member(info, entry.address, entry.name)
    found = cli.client().get_pending_proposals(info.address, "pending")
    pending = {p.proposal_id: p for p in found}
    proposal = pending.get(proposal_id)
    if proposal is None:
        raise CliError(
            f"proposal {proposal_id} of {info.address} is not pending: "
            "it was executed, it expired, or it was never made"
        )
    current = [a for a in proposal.approvals if a in info.members]
    if entry.address in current and len(current) < info.threshold:
        raise CliError(f"{entry.name} already approved proposal {proposal_id}")
    if len(current) + 1 >= info.threshold:
        check_policy_can_pay(cli, info, decoded_action(proposal.action_bytes))
    submit_body(
        cli,
        sending,
        build.approve(info.address, proposal_id),
        f"Approve proposal {proposal_id} of {info.address}: "
        f"{action_text(proposal.action, proposal.action_bytes)} "
        f"(approvals so far {len(current)} of {info.threshold})",
        executed_report,
    )


@policy_app.command("show")
@handles_errors
def show(ctx: typer.Context, policy: str = POLICY, height: int | None = HEIGHT) -> None:
    """A policy account's members, threshold, limits and pending proposal ids."""
    cli = get_context(ctx)
    address = cli.resolve_address(policy)
    info = cli.client().get_policy(address, height)
    if info is None:
        raise CliError(f"{address} is not a policy account")
    emit(cli, as_json(info), lambda: policy_text(info))


@policy_app.command("proposals")
@handles_errors
def proposals(ctx: typer.Context, policy: str = POLICY, height: int | None = HEIGHT) -> None:
    """A policy account's pending proposals, with what each would do."""
    cli = get_context(ctx)
    address = cli.resolve_address(policy)
    client = cli.client()
    info = client.get_policy(address, height)
    if info is None:
        raise CliError(f"{address} is not a policy account")
    found = client.get_pending_proposals(address, height)
    emit(
        cli,
        {"policy": address, "proposals": as_json(found)},
        lambda: "\n".join(
            [proposal_text(p, info.threshold) for p in found]
            or [f"no pending proposals for {address}"]
        ),
    )


def governance_text(info: GovernanceInfo) -> str:
    lines = [
        f"governance policy: {info.address or 'none on this chain'} (after block {info.height})"
    ]
    if info.policy is not None:
        lines.append(f"  {info.policy.threshold} of {', '.join(info.policy.members)}")
    for entry in info.schedule:
        lines.append(
            f"validators from block {entry.activation_height} (total power {entry.total_power}):"
        )
        lines += [f"  {v.name:12} {v.address} power {v.power}" for v in entry.validators]
    threshold = info.policy.threshold if info.policy is not None else None
    lines += [proposal_text(p, threshold) for p in info.proposals]
    return "\n".join(lines)


@policy_app.command("governance")
@handles_errors
def governance(ctx: typer.Context, height: int | None = HEIGHT) -> None:
    """The governance policy, its pending proposals and the validator schedule."""
    cli = get_context(ctx)
    info = cli.client().get_governance(height)
    emit(cli, as_json(info), lambda: governance_text(info))
