"""Genesis: the document that starts a chain, its validation, and the genesis state.

A genesis file is JSON (docs/spec/genesis.md)::

    {"chain_id": "ledger-devnet-1",
     "genesis_time": "2026-11-21T00:00:00Z",
     "params": {"min_fee": "1", "max_block_txs": 10000, "max_block_bytes": 8388608,
                "max_block_gas": 20000000},
     "validators": [{"name": "val-0", "public_key": "02...", "power": 10}],
     "accounts": [{"name": "alice", "address": "lg1...", "balances": {"coin": "1000"}}],
     "policies": [{"name": "bank", "members": ["lg1...", "02..."], "threshold": 2,
                   "balances": {"coin": "1000"}, "governance": false}],
     "threshold_key": true}

Amounts are decimal strings (integers of any size do not survive every JSON
parser). ``load_genesis`` checks everything and raises ``GenesisError`` with
the offending field named. The genesis hash (what block 1 points back to)
is SHA-256 of the canonical encoding of the parsed document, so formatting
and key order of the JSON do not matter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger import codec, crypto
from ledger.address import AddressError, address_of, decode_address
from ledger.params import MAX_BLOCK_GAS, Params
from ledger.registry import RULES
from ledger.state import (
    PARAMS_KEY,
    MemoryStateReader,
    State,
    tree_changes,
)
from ledger.state_tree import MemoryNodeStore, StateTree
from ledger.transition import ChainTip
from ledger.types import MAX_AMOUNT, DecodeError, check_asset, check_chain_id

MAX_VOTING_POWER = 1 << 60
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class GenesisError(ValueError):
    """The genesis document is invalid; the message names the field."""


@dataclass(frozen=True, slots=True)
class GenesisValidator:
    name: str
    public_key: bytes
    power: int

    @property
    def address(self) -> bytes:
        return address_of(self.public_key)


@dataclass(frozen=True, slots=True)
class GenesisAccount:
    name: str
    address: bytes
    balances: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class GenesisPolicy:
    """A k-of-n policy account created at genesis (the bank, governance).
    Its address is derived from its members, threshold and its index in the
    document (ledger.features.policy.bodies.policy_address with the genesis
    creator); the policy feature parses this section of the document."""

    name: str
    address: bytes
    members: tuple[bytes, ...]  # ascending addresses
    threshold: int
    balances: tuple[tuple[str, int], ...]
    governance: bool


@dataclass(frozen=True, slots=True)
class Genesis:
    chain_id: str
    genesis_time_ms: int
    params: Params
    validators: tuple[GenesisValidator, ...]
    accounts: tuple[GenesisAccount, ...]
    policies: tuple[GenesisPolicy, ...] = ()
    threshold_key: bool = False  # the validators run a DKG at block 1 (features.threshold)
    # Other features' sections (e.g. "mint"), by name, each in the canonical
    # value its feature's parser returns.
    sections: tuple[tuple[str, Any], ...] = ()

    def to_value(self) -> tuple[Any, ...]:
        # threshold_key is appended only when set, and the sections only when
        # there are some, so older genesis hashes stay valid.
        if self.sections:
            return (*self._base_value(), self.threshold_key, self.sections)
        return (*self._base_value(), *((True,) if self.threshold_key else ()))

    def section(self, name: str) -> Any:
        """A feature's parsed section, or None if the document has none."""
        return dict(self.sections).get(name)

    def _base_value(self) -> tuple[Any, ...]:
        return (
            self.chain_id,
            self.genesis_time_ms,
            self.params.to_value(),
            tuple((v.name, v.public_key, v.power) for v in self.validators),
            tuple((a.name, a.address, a.balances) for a in self.accounts),
            tuple(
                (p.name, p.members, p.threshold, p.balances, p.governance) for p in self.policies
            ),
        )

    def policy(self, name: str) -> GenesisPolicy:
        """The genesis policy called ``name``. Raises KeyError."""
        for policy in self.policies:
            if policy.name == name:
                return policy
        raise KeyError(name)

    @property
    def hash(self) -> bytes:
        """SHA-256 of the canonical encoding of the parsed document."""
        return crypto.sha256(codec.encode(self.to_value()))


def load_genesis(path: str | Path) -> Genesis:
    """Read and validate a genesis file. Raises GenesisError, whose message
    names the file and says what is wrong ("does not exist", "is not valid
    JSON", "missing chain_id", ...)."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise GenesisError(f"cannot read genesis file {path}: it does not exist") from None
    except IsADirectoryError:
        raise GenesisError(f"cannot read genesis file {path}: it is a directory") from None
    except OSError as exc:
        raise GenesisError(f"cannot read genesis file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise GenesisError(f"genesis file {path} is not valid JSON: not UTF-8 text") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GenesisError(f"genesis file {path} is not valid JSON: {exc}") from None
    try:
        return parse_genesis(document)
    except GenesisError as exc:
        raise GenesisError(f"genesis file {path}: {exc}") from None


def parse_genesis(document: object) -> Genesis:
    """Validate a parsed genesis document. Raises GenesisError."""
    doc = parse_object(document, "genesis")
    feature_sections = sorted(set(RULES.genesis_sections) - {"policies"})
    check_only_keys(
        doc,
        "genesis",
        {
            "chain_id",
            "genesis_time",
            "params",
            "validators",
            "accounts",
            "policies",
            "threshold_key",
            *feature_sections,
        },
    )
    for required in ("chain_id", "genesis_time", "validators"):
        if required not in doc:
            raise GenesisError(f"missing {required}")
    try:
        chain_id = check_chain_id(doc.get("chain_id"))
    except DecodeError as exc:
        raise GenesisError("chain_id: 1-64 characters of a-z, 0-9, '.', '-'") from exc
    validators = tuple(
        _validator(v, f"validators[{i}]") for i, v in enumerate(parse_list(doc, "validators"))
    )
    if not validators:
        raise GenesisError("validators: at least one validator is required")
    if len({v.public_key for v in validators}) != len(validators):
        raise GenesisError("validators: duplicate public key")
    if len({v.name for v in validators}) != len(validators):
        raise GenesisError("validators: duplicate name")
    accounts = tuple(
        _account(a, f"accounts[{i}]") for i, a in enumerate(parse_list(doc, "accounts"))
    )
    if len({a.address for a in accounts}) != len(accounts):
        raise GenesisError("accounts: duplicate address")
    policies: tuple[GenesisPolicy, ...] = RULES.genesis_sections["policies"](doc)
    if {p.address for p in policies} & {a.address for a in accounts}:
        raise GenesisError("policies: a policy address is also listed in accounts")
    threshold_key = doc.get("threshold_key", False)
    if not isinstance(threshold_key, bool):
        raise GenesisError("threshold_key: true or false")
    sections = tuple(
        (name, RULES.genesis_sections[name](doc)) for name in feature_sections if name in doc
    )
    return Genesis(
        chain_id=chain_id,
        genesis_time_ms=_time(doc.get("genesis_time")),
        params=_params(doc.get("params", {})),
        validators=validators,
        accounts=accounts,
        policies=policies,
        threshold_key=threshold_key,
        sections=sections,
    )


def genesis_state(
    genesis: Genesis,
) -> tuple[dict[bytes, bytes | None], ChainTip, dict[bytes, bytes]]:
    """The genesis state changes, the chain tip before block 1, and the state tree nodes.
    The parameters are the core's; every other record is written by the
    features' genesis steps, in the registry's order."""
    reader = MemoryStateReader()
    state = State(reader)
    state.set_raw(PARAMS_KEY, genesis.params.encode())
    for _name, step in RULES.genesis_steps:
        step(state, genesis)
    changes = state.changes()
    tree = StateTree(MemoryNodeStore())
    update = tree.update(tree_changes(changes))
    tip = ChainTip(
        height=0, block_hash=genesis.hash, time_ms=genesis.genesis_time_ms, state_root=update.root
    )
    return changes, tip, update.new_nodes


def encode_validators(validators: tuple[GenesisValidator, ...]) -> bytes:
    """The validator set record: ``[[public_key, power, name], ...]`` sorted by address."""
    ordered = sorted(validators, key=lambda v: v.address)
    return codec.encode(tuple((v.public_key, v.power, v.name) for v in ordered))


def parse_object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise GenesisError(f"{where}: expected an object")
    return value


def check_only_keys(value: dict[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(set(value) - allowed)
    if unknown:
        raise GenesisError(f"{where}: unknown field(s) {', '.join(unknown)}")


def parse_list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if not isinstance(value, list):
        raise GenesisError(f"{key}: expected a list")
    return value


def parse_name(value: object, where: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 64:
        raise GenesisError(f"{where}.name: a string of 1-64 characters")
    return value


def _amount(value: object, where: str) -> int:
    if not isinstance(value, str) or not value.isdigit() or (len(value) > 1 and value[0] == "0"):
        raise GenesisError(f"{where}: a decimal string of digits without leading zeros")
    amount = int(value)
    if amount > MAX_AMOUNT:
        raise GenesisError(f"{where}: exceeds 2^128-1")
    return amount


def _validator(value: object, where: str) -> GenesisValidator:
    doc = parse_object(value, where)
    check_only_keys(doc, where, {"name", "public_key", "power"})
    try:
        public_key = bytes.fromhex(str(doc.get("public_key", "")))
        crypto.validate_public_key(public_key)
    except (ValueError, crypto.CryptoError) as exc:
        raise GenesisError(
            f"{where}.public_key: a 33-byte compressed secp256k1 key in hex"
        ) from exc
    power = doc.get("power")
    if type(power) is not int or not 0 < power <= MAX_VOTING_POWER:
        raise GenesisError(f"{where}.power: an integer in [1, 2^60]")
    return GenesisValidator(parse_name(doc.get("name"), where), public_key, power)


def _account(value: object, where: str) -> GenesisAccount:
    doc = parse_object(value, where)
    check_only_keys(doc, where, {"name", "address", "balances"})
    try:
        address = decode_address(str(doc.get("address", "")))
    except AddressError as exc:
        raise GenesisError(f"{where}.address: {exc}") from exc
    name = parse_name(doc.get("name", "account"), where)
    return GenesisAccount(name, address, parse_balances(doc.get("balances", {}), where))


def parse_balances(value: object, where: str) -> tuple[tuple[str, int], ...]:
    balances_doc = parse_object(value, f"{where}.balances")
    balances: list[tuple[str, int]] = []
    for asset, amount in sorted(balances_doc.items()):
        try:
            check_asset(asset)
        except DecodeError as exc:
            raise GenesisError(f"{where}.balances: invalid asset id {asset!r}") from exc
        parsed = _amount(amount, f"{where}.balances.{asset}")
        if parsed:
            balances.append((asset, parsed))
    return tuple(balances)


def _time(value: object) -> int:
    if not isinstance(value, str):
        raise GenesisError("genesis_time: an RFC 3339 UTC time such as 2026-11-21T00:00:00Z")
    try:
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError as exc:
        raise GenesisError(
            "genesis_time: an RFC 3339 UTC time such as 2026-11-21T00:00:00Z"
        ) from exc
    return (moment - _EPOCH) // timedelta(milliseconds=1)


_CREDIT_PARAMS = ("cpu_credits_per_block", "disk_credits_per_block", "net_credits_per_block")


def _params(value: object) -> Params:
    doc = parse_object(value, "params")
    check_only_keys(
        doc,
        "params",
        {"min_fee", "max_block_txs", "max_block_bytes", "max_block_gas", *_CREDIT_PARAMS},
    )
    defaults = Params()
    min_fee = _amount(doc["min_fee"], "params.min_fee") if "min_fee" in doc else defaults.min_fee
    cpu, disk, net = (_amount(doc.get(key, "0"), f"params.{key}") for key in _CREDIT_PARAMS)
    max_txs = doc.get("max_block_txs", defaults.max_block_txs)
    max_bytes = doc.get("max_block_bytes", defaults.max_block_bytes)
    max_gas = doc.get("max_block_gas", defaults.max_block_gas)
    if type(max_txs) is not int or not 1 <= max_txs <= 1_000_000:
        raise GenesisError("params.max_block_txs: an integer in [1, 1000000]")
    if type(max_bytes) is not int or not 1024 <= max_bytes <= 1 << 30:
        raise GenesisError("params.max_block_bytes: an integer in [1024, 2^30]")
    if type(max_gas) is not int or not 1 <= max_gas <= MAX_BLOCK_GAS:
        raise GenesisError("params.max_block_gas: an integer in [1, 2^62]")
    return Params(
        min_fee=min_fee,
        max_block_txs=max_txs,
        max_block_bytes=max_bytes,
        max_block_gas=max_gas,
        cpu_credits_per_block=cpu,
        disk_credits_per_block=disk,
        net_credits_per_block=net,
    )
