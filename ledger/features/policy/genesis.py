"""The ``policies`` section of the genesis document: k-of-n policy accounts
that exist from block 0 (the bank's officers, the governance policy).

Each entry names its members (``lg1...`` addresses or compressed public keys
in hex), its threshold, its balances and whether it is the governance policy
(at most one is). Its address is derived as for a policy created by a
transaction, with the genesis creator (20 zero bytes) and the entry's index
as the nonce (docs/spec/genesis.md, docs/spec/policy.md).
"""

from __future__ import annotations

from typing import Any

from ledger import crypto
from ledger.address import AddressError, address_of, decode_address
from ledger.features.policy.bodies import GENESIS_CREATOR, MAX_POLICY_MEMBERS, policy_address
from ledger.genesis import (
    GenesisError,
    GenesisPolicy,
    check_only_keys,
    parse_balances,
    parse_list,
    parse_name,
    parse_object,
)


def parse_genesis_policies(document: dict[str, Any]) -> tuple[GenesisPolicy, ...]:
    """The document's ``policies`` (default: none). Raises GenesisError."""
    policies = tuple(
        parse_genesis_policy(p, i, f"policies[{i}]")
        for i, p in enumerate(parse_list(document, "policies"))
    )
    if len({p.name for p in policies}) != len(policies):
        raise GenesisError("policies: duplicate name")
    if sum(p.governance for p in policies) > 1:
        raise GenesisError("policies: at most one governance policy")
    return policies


def parse_genesis_policy(value: object, index: int, where: str) -> GenesisPolicy:
    doc = parse_object(value, where)
    check_only_keys(doc, where, {"name", "members", "threshold", "balances", "governance"})
    members_doc = doc.get("members")
    if not isinstance(members_doc, list) or not 1 <= len(members_doc) <= MAX_POLICY_MEMBERS:
        raise GenesisError(f"{where}.members: a list of 1-{MAX_POLICY_MEMBERS} members")
    members = tuple(
        sorted(parse_member(m, f"{where}.members[{i}]") for i, m in enumerate(members_doc))
    )
    if len(set(members)) != len(members):
        raise GenesisError(f"{where}.members: duplicate member")
    threshold = doc.get("threshold")
    if type(threshold) is not int or not 1 <= threshold <= len(members):
        raise GenesisError(f"{where}.threshold: an integer in [1, number of members]")
    governance = doc.get("governance", False)
    if not isinstance(governance, bool):
        raise GenesisError(f"{where}.governance: true or false")
    return GenesisPolicy(
        name=parse_name(doc.get("name"), where),
        address=policy_address(members, threshold, (), GENESIS_CREATOR, index),
        members=members,
        threshold=threshold,
        balances=parse_balances(doc.get("balances", {}), where),
        governance=governance,
    )


def parse_member(value: object, where: str) -> bytes:
    """A member given as an ``lg1...`` address or a 33-byte public key in hex."""
    text = str(value)
    if text.startswith("lg1"):
        try:
            return decode_address(text)
        except AddressError as exc:
            raise GenesisError(f"{where}: {exc}") from exc
    try:
        public_key = bytes.fromhex(text)
        crypto.validate_public_key(public_key)
    except (ValueError, crypto.CryptoError) as exc:
        raise GenesisError(f"{where}: an lg1 address or a compressed public key in hex") from exc
    return address_of(public_key)
