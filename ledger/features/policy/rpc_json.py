"""The policy feature's JSON in the RPC API (docs/spec/rpc.md): a policy
account, a pending proposal with its decoded action, and the JSON forms of
the policy bodies. Conventions: ledger.json_forms."""

from __future__ import annotations

from typing import Any

from ledger import codec
from ledger.address import encode_address
from ledger.codec import CodecError
from ledger.features.policy.accounts import Policy, Proposal
from ledger.features.policy.bodies import (
    ApproveProposal,
    CreatePolicy,
    ProposeAction,
    SpendingLimit,
    UpdatePolicy,
)
from ledger.json_forms import amount_text, body_json
from ledger.types import DecodeError, decode_body


def limit_json(limit: SpendingLimit) -> dict[str, Any]:
    return {"asset": limit.asset, "amount": amount_text(limit.amount), "window": limit.window}


def policy_json(policy: Policy) -> dict[str, Any]:
    """A policy account: members, threshold, limits, what was spent per window,
    the pending proposal ids and the id the next proposal gets."""
    return {
        "address": encode_address(policy.address),
        "members": [encode_address(m) for m in policy.members],
        "threshold": policy.threshold,
        "limits": [limit_json(limit) for limit in policy.limits],
        "spending": [
            {"asset": s.asset, "windowIndex": s.window_index, "spent": amount_text(s.spent)}
            for s in policy.spending
        ],
        "pendingProposals": list(policy.pending),
        "nextProposalId": policy.next_proposal,
        "governance": policy.governance,
    }


def action_json(action: bytes) -> dict[str, Any] | None:
    """A proposal's action as ``{"kind", "kindId", "body"}``; None if the bytes
    do not decode to a known body (the chain checks actions when proposed)."""
    try:
        body = decode_body(codec.decode(action))
    except (CodecError, DecodeError):
        return None
    return {"kind": body.NAME, "kindId": body.KIND, "body": body_json(body)}


def proposal_json(proposal: Proposal) -> dict[str, Any]:
    """A pending proposal with its decoded action and its approvals so far."""
    return {
        "policy": encode_address(proposal.policy),
        "id": proposal.proposal_id,
        "proposer": encode_address(proposal.proposer),
        "expiresAt": proposal.expires_at,
        "approvals": [encode_address(a) for a in proposal.approvals],
        "action": action_json(proposal.action),
        "actionHex": proposal.action.hex(),
    }


def policy_body_json(body: CreatePolicy | UpdatePolicy) -> dict[str, Any]:
    return {
        "members": [encode_address(m) for m in body.members],
        "threshold": body.threshold,
        "limits": [limit_json(limit) for limit in body.limits],
    }


def propose_json(body: ProposeAction) -> dict[str, Any]:
    return {
        "policy": encode_address(body.policy),
        "action": action_json(body.action),
        "actionHex": body.action.hex(),
        "expiresAt": body.expires_at,
    }


def approve_json(body: ApproveProposal) -> dict[str, Any]:
    return {"policy": encode_address(body.policy), "proposalId": body.proposal_id}
