"""The policy feature's entry in the registry: policy accounts, proposals,
their expiry, the genesis policies."""

from __future__ import annotations

from ledger.features.policy.accounts import (
    approve_proposal,
    create_genesis_policies,
    execute_create_policy,
    expire_proposals,
    propose_action,
    update_policy,
)
from ledger.features.policy.bodies import ApproveProposal, CreatePolicy, ProposeAction, UpdatePolicy
from ledger.features.policy.genesis import parse_genesis_policies
from ledger.features.policy.rpc_json import approve_json, policy_body_json, propose_json
from ledger.registry import BodyKind, Feature, sender_kind

FEATURE = Feature(
    name="policy",
    body_kinds=(
        BodyKind(CreatePolicy, execute_create_policy, json=policy_body_json),
        sender_kind(ProposeAction, propose_action, json=propose_json),
        sender_kind(ApproveProposal, approve_proposal, json=approve_json),
        # policy_update runs only as a policy's action, never as a transaction
        BodyKind(UpdatePolicy, action=update_policy, json=policy_body_json),
    ),
    end_block_steps=(("expire_proposals", expire_proposals),),
    genesis_steps=(("genesis_policies", create_genesis_policies),),
    genesis_sections=(("policies", parse_genesis_policies),),
)
