"""Typed results of the client: dataclasses parsed from the RPC's JSON.

Amounts and nonces arrive as decimal strings and become ints; hex becomes
bytes; addresses stay bech32m text (``lg1...``). A result that does not
have the documented shape raises ``ProtocolError``.

Over 600 lines for a reason: one small dataclass and parser per RPC result,
side by side so that their shapes can be compared with docs/spec/rpc.md;
the asset, barter and policy results are apart (asset_results).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from ledger.address import decode_address
from ledger.state import account_key, tree_key
from ledger.state_tree import ProofError, decode_proof, verify_proof

T = TypeVar("T")


class ClientError(Exception):
    """The client could not get an answer (network, HTTP, malformed reply, timeout)."""


class TransportError(ClientError):
    """The node could not be reached or did not answer with JSON-RPC."""


class ProtocolError(ClientError):
    """The node answered, but not in the documented shape."""


class ReceiptTimeout(ClientError, TimeoutError):
    """No receipt arrived in time (the transaction may still be included later)."""


def parse_result(parse: Callable[[Any], T], value: Any) -> T:
    """``parse(value)``, turning shape errors into ProtocolError."""
    try:
        return parse(value)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolError(f"unexpected result shape: {exc!r:.200}") from exc


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("boolean where an integer was expected")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise ValueError(f"not an integer: {value!r:.50}")


def _hex(value: Any) -> bytes:
    if not isinstance(value, str):
        raise TypeError("expected hex text")
    return bytes.fromhex(value)


def _opt(parse: Callable[[Any], T], value: Any) -> T | None:
    return None if value is None else parse(value)


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected text")
    return value


@dataclass(frozen=True, slots=True)
class AccountInfo:
    address: str
    nonce: int
    balances: dict[str, int]

    def balance(self, asset: str = "coin") -> int:
        return self.balances.get(asset, 0)

    @classmethod
    def from_json(cls, value: Any) -> AccountInfo:
        return cls(
            _str(value["address"]),
            _int(value["nonce"]),
            {_str(k): _int(v) for k, v in value["balances"].items()},
        )


@dataclass(frozen=True, slots=True)
class TransactionInfo:
    hash: bytes
    chain_id: str
    sender: str  # address
    public_key: bytes
    nonce: int
    fee: int
    kind: str
    kind_id: int
    body: dict[str, Any]  # as the node rendered it (amounts as decimal strings)
    signature: bytes
    size: int
    block_height: int | None
    block_hash: bytes | None
    index: int | None

    @property
    def pending(self) -> bool:
        return self.block_height is None

    @classmethod
    def from_json(cls, value: Any) -> TransactionInfo:
        return cls(
            hash=_hex(value["hash"]),
            chain_id=_str(value["chainId"]),
            sender=_str(value["from"]),
            public_key=_hex(value["publicKey"]),
            nonce=_int(value["nonce"]),
            fee=_int(value["fee"]),
            kind=_str(value["kind"]),
            kind_id=_int(value["kindId"]),
            body=dict(value["body"]),
            signature=_hex(value["signature"]),
            size=_int(value["size"]),
            block_height=_opt(_int, value["blockHeight"]),
            block_hash=_opt(_hex, value["blockHash"]),
            index=_opt(_int, value["index"]),
        )


def _vm_value(value: Any) -> int | bytes:
    """A contract value in the RPC's form: {"type": "int" | "bytes", "value": ...}."""
    kind = _str(value["type"])
    if kind == "int":
        return _int(value["value"])
    if kind == "bytes":
        return _hex(value["value"])
    raise ValueError(f"unknown value type {kind!r:.20}")


def event_value(value: Any) -> int | bytes:
    """A value as an event attribute renders it: [tag, payload], the tag a
    decimal string, the payload hex, or an address when it is 20 bytes long."""
    tag, payload = value
    data = decode_address(payload) if _str(payload).startswith("lg1") else _hex(payload)
    if _int(tag) == 0:
        return int.from_bytes(data, "big")
    if _int(tag) == 1:
        return data
    raise ValueError(f"unknown value tag {tag!r:.20}")


@dataclass(frozen=True, slots=True)
class EventInfo:
    kind: str
    attributes: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ReceiptInfo:
    transaction_hash: bytes
    block_height: int
    block_hash: bytes
    index: int
    sender: str
    status: int  # 0 success; 1 failure, 2 insufficient funds, 3 overflow, 4 invalid operation
    fee_charged: int
    gas_used: int
    events: tuple[EventInfo, ...]
    error: str

    @property
    def success(self) -> bool:
        return self.status == 0

    @property
    def return_values(self) -> tuple[int | bytes, ...]:
        """What a contract call returned (its ``contract_called`` event); empty
        for other transactions and for failed calls."""
        for event in self.events:
            if event.kind == "contract_called":
                return tuple(event_value(v) for v in event.attributes["returns"])
        return ()

    @classmethod
    def from_json(cls, value: Any) -> ReceiptInfo:
        return cls(
            transaction_hash=_hex(value["transactionHash"]),
            block_height=_int(value["blockHeight"]),
            block_hash=_hex(value["blockHash"]),
            index=_int(value["index"]),
            sender=_str(value["from"]),
            status=_int(value["status"]),
            fee_charged=_int(value["feeCharged"]),
            gas_used=_int(value["gasUsed"]),
            events=tuple(
                EventInfo(_str(e["kind"]), dict(e["attributes"])) for e in value["events"]
            ),
            error=_str(value["error"]),
        )


@dataclass(frozen=True, slots=True)
class BlockInfo:
    height: int
    hash: bytes
    chain_id: str
    time_ms: int
    prev_hash: bytes
    last_commit_hash: bytes
    txs_root: bytes
    receipts_root: bytes
    state_root: bytes
    proposer: str
    version: int
    tx_count: int
    transaction_hashes: tuple[bytes, ...]
    transactions: tuple[TransactionInfo, ...]  # filled only when asked for full transactions
    last_commit: bytes | None  # None in newHeads notifications (headers only)

    @classmethod
    def from_json(cls, value: Any) -> BlockInfo:
        txs = value.get("transactions", [])
        full = tuple(TransactionInfo.from_json(t) for t in txs if isinstance(t, dict))
        hashes = tuple(t.hash for t in full) if full else tuple(_hex(t) for t in txs)
        return cls(
            height=_int(value["height"]),
            hash=_hex(value["hash"]),
            chain_id=_str(value["chainId"]),
            time_ms=_int(value["timeMs"]),
            prev_hash=_hex(value["prevHash"]),
            last_commit_hash=_hex(value["lastCommitHash"]),
            txs_root=_hex(value["txsRoot"]),
            receipts_root=_hex(value["receiptsRoot"]),
            state_root=_hex(value["stateRoot"]),
            proposer=_str(value["proposer"]),
            version=_int(value["version"]),
            tx_count=_int(value["txCount"]),
            transaction_hashes=hashes,
            transactions=full,
            last_commit=_opt(_hex, value.get("lastCommit")),
        )


@dataclass(frozen=True, slots=True)
class StatusInfo:
    chain_id: str
    moniker: str
    mode: str
    height: int
    block_hash: bytes
    state_root: bytes
    time_ms: int
    genesis_hash: bytes
    catching_up: bool
    peers: int
    validator_address: str | None
    voting_power: int

    @classmethod
    def from_json(cls, value: Any) -> StatusInfo:
        validator = value["validator"]
        return cls(
            chain_id=_str(value["chainId"]),
            moniker=_str(value["moniker"]),
            mode=_str(value["mode"]),
            height=_int(value["height"]),
            block_hash=_hex(value["blockHash"]),
            state_root=_hex(value["stateRoot"]),
            time_ms=_int(value["timeMs"]),
            genesis_hash=_hex(value["genesisHash"]),
            catching_up=bool(value["catchingUp"]),
            peers=_int(value["peers"]),
            validator_address=_str(validator["address"]) if validator else None,
            voting_power=_int(validator["votingPower"]) if validator else 0,
        )


@dataclass(frozen=True, slots=True)
class Validator:
    address: str
    public_key: bytes
    power: int
    name: str


@dataclass(frozen=True, slots=True)
class ValidatorSet:
    height: int
    total_power: int
    validators: tuple[Validator, ...]

    @classmethod
    def from_json(cls, value: Any) -> ValidatorSet:
        return cls(
            _int(value["height"]),
            _int(value["totalPower"]),
            tuple(
                Validator(_str(v["address"]), _hex(v["publicKey"]), _int(v["power"]), v["name"])
                for v in value["validators"]
            ),
        )


@dataclass(frozen=True, slots=True)
class MempoolStatus:
    size: int
    bytes: int
    max_size: int
    max_bytes: int

    @classmethod
    def from_json(cls, value: Any) -> MempoolStatus:
        return cls(
            _int(value["size"]),
            _int(value["bytes"]),
            _int(value["maxSize"]),
            _int(value["maxBytes"]),
        )


@dataclass(frozen=True, slots=True)
class ChainParams:
    """The chain parameters: the minimum fee, the block limits, and the
    resource credits minted to the validators per block."""

    min_fee: int
    max_block_txs: int
    max_block_bytes: int
    max_block_gas: int
    cpu_credits_per_block: int = 0
    disk_credits_per_block: int = 0
    net_credits_per_block: int = 0

    @classmethod
    def from_json(cls, value: Any) -> ChainParams:
        return cls(
            _int(value["minFee"]),
            _int(value["maxBlockTxs"]),
            _int(value["maxBlockBytes"]),
            _int(value["maxBlockGas"]),
            _int(value.get("cpuCreditsPerBlock", 0)),
            _int(value.get("diskCreditsPerBlock", 0)),
            _int(value.get("netCreditsPerBlock", 0)),
        )


@dataclass(frozen=True, slots=True)
class AccountProof:
    """An account's state (or its absence) with a proof against a block's state root."""

    address: str
    height: int
    block_hash: bytes | None  # None at height 0 (the genesis state)
    state_root: bytes
    key: bytes
    value: bytes | None
    account: AccountInfo | None
    proof: bytes

    def verify(self, state_root: bytes | None = None) -> bool:
        """True iff the proof shows ``value`` (or absence) under the account's
        tree key against ``state_root`` (default: the root the node named;
        pass a root you trust, e.g. from a header you verified)."""
        root = self.state_root if state_root is None else state_root
        try:
            expected_key = tree_key(account_key(decode_address(self.address)))
            proof = decode_proof(self.proof)
        except (ValueError, ProofError):
            return False
        return expected_key == self.key and verify_proof(root, self.key, self.value, proof)

    @classmethod
    def from_json(cls, value: Any) -> AccountProof:
        account = value["account"]
        return cls(
            address=_str(value["address"]),
            height=_int(value["height"]),
            block_hash=_opt(_hex, value["blockHash"]),
            state_root=_hex(value["stateRoot"]),
            key=_hex(value["key"]),
            value=_opt(_hex, value["value"]),
            account=AccountInfo.from_json(account) if account is not None else None,
            proof=_hex(value["proof"]),
        )


@dataclass(frozen=True, slots=True)
class Submission:
    """What a node said when it accepted a transaction (ledger_submitTransaction):
    ``queued`` while it waits for an earlier nonce of its sender; with
    ``catching_up`` the node is behind the network (at ``height``), so its
    checks ran against an old state and the transaction moves once it has
    caught up."""

    hash: bytes
    queued: bool
    catching_up: bool
    height: int

    @classmethod
    def from_json(cls, value: Any) -> Submission:
        if type(value["queued"]) is not bool or type(value["catchingUp"]) is not bool:
            raise TypeError("queued and catchingUp must be booleans")
        return cls(
            _hex(value["hash"]),
            value["queued"],
            value["catchingUp"],
            _int(value["height"]),
        )


@dataclass(frozen=True, slots=True)
class SentTransaction:
    """A submitted transaction: its hash, and its receipt if the caller waited."""

    hash: bytes
    receipt: ReceiptInfo | None


@dataclass(frozen=True, slots=True)
class SentDeploy(SentTransaction):
    """A submitted deploy and the address of the contract it creates (known
    before inclusion; the contract exists once the receipt says success)."""

    address: str


@dataclass(frozen=True, slots=True)
class ScheduleInfo:
    entry: str
    interval: int  # blocks
    gas: int


@dataclass(frozen=True, slots=True)
class ContractInfo:
    """A live contract (ledger_getContract)."""

    address: str
    code_hash: bytes
    code_size: int
    entry_points: tuple[str, ...]
    deployer: str
    created: int  # the height of its deploy
    storage_keys: int
    storage_bytes: int
    rent_bytes: int
    rent_per_block: int  # disk credits burned at the end of every block
    schedule: ScheduleInfo | None
    next_run: int  # height of the next scheduled run (0 without a schedule)
    balances: dict[str, int]

    def balance(self, asset: str) -> int:
        return self.balances.get(asset, 0)

    @property
    def blocks_left(self) -> int:
        """How many more blocks its disk pays rent for at the current size
        (it is evicted at the end of the block after those)."""
        return self.balance("disk") // self.rent_per_block if self.rent_per_block else 0

    @classmethod
    def from_json(cls, value: Any) -> ContractInfo:
        schedule = value["schedule"]
        return cls(
            address=_str(value["address"]),
            code_hash=_hex(value["codeHash"]),
            code_size=_int(value["codeSize"]),
            entry_points=tuple(_str(e) for e in value["entryPoints"]),
            deployer=_str(value["deployer"]),
            created=_int(value["created"]),
            storage_keys=_int(value["storageKeys"]),
            storage_bytes=_int(value["storageBytes"]),
            rent_bytes=_int(value["rentBytes"]),
            rent_per_block=_int(value["rentPerBlock"]),
            schedule=None
            if schedule is None
            else ScheduleInfo(
                _str(schedule["entry"]), _int(schedule["interval"]), _int(schedule["gas"])
            ),
            next_run=_int(value["nextRun"]),
            balances={_str(k): _int(v) for k, v in value["balances"].items()},
        )


@dataclass(frozen=True, slots=True)
class StoragePage:
    """Storage entries in key order (ledger_getContractStorageItems)."""

    address: str
    height: int
    items: tuple[tuple[bytes, bytes], ...]  # (key, value)
    next: bytes | None  # the first key of the next page; None on the last page

    @classmethod
    def from_json(cls, value: Any) -> StoragePage:
        return cls(
            _str(value["address"]),
            _int(value["height"]),
            tuple((_hex(item["key"]), _hex(item["value"])) for item in value["items"]),
            _opt(_hex, value["next"]),
        )


@dataclass(frozen=True, slots=True)
class MailMessage:
    sequence: int  # the mailbox's running count: 0 for its first message ever
    sender: str
    height: int
    entry: str
    args: tuple[int | bytes, ...]
    payload: bytes | None  # the single byte-string argument of deliver(payload), else None


@dataclass(frozen=True, slots=True)
class Mailbox:
    """An address's mailbox: the newest 64 messages (ledger_getMailbox)."""

    address: str
    received: int  # messages ever received
    messages: tuple[MailMessage, ...]  # oldest first

    @classmethod
    def from_json(cls, value: Any) -> Mailbox:
        return cls(
            _str(value["address"]),
            _int(value["received"]),
            tuple(
                MailMessage(
                    sequence=_int(m["sequence"]),
                    sender=_str(m["sender"]),
                    height=_int(m["height"]),
                    entry=_str(m["entry"]),
                    args=tuple(_vm_value(a) for a in m["args"]),
                    payload=_opt(_hex, m["payload"]),
                )
                for m in value["messages"]
            ),
        )


@dataclass(frozen=True, slots=True)
class BlockEvents:
    """The end-of-block events of one block: scheduled runs, their messages,
    contract evictions (ledger_getBlockEvents)."""

    height: int
    block_hash: bytes
    events: tuple[EventInfo, ...]

    @classmethod
    def from_json(cls, value: Any) -> BlockEvents:
        return cls(
            _int(value["height"]),
            _hex(value["blockHash"]),
            tuple(EventInfo(_str(e["kind"]), dict(e["attributes"])) for e in value["events"]),
        )


def parse_burned(value: Any) -> dict[str, int]:
    return {_str(k): _int(v) for k, v in value.items()}


@dataclass(frozen=True, slots=True)
class ThresholdMember:
    identifier: int
    validator: str
    public_key: bytes
    verification_share: bytes


@dataclass(frozen=True, slots=True)
class ThresholdKey:
    """The validators' threshold key (ledger_getThresholdKey)."""

    public_key: bytes
    address: str  # the group account
    threshold: int
    epoch: int
    ceremony_id: int
    members: tuple[ThresholdMember, ...]

    @classmethod
    def from_json(cls, value: Any) -> ThresholdKey:
        return cls(
            _hex(value["publicKey"]),
            _str(value["address"]),
            _int(value["threshold"]),
            _int(value["epoch"]),
            _int(value["ceremonyId"]),
            tuple(
                ThresholdMember(
                    _int(m["identifier"]),
                    _str(m["validator"]),
                    _hex(m["publicKey"]),
                    _hex(m["verificationShare"]),
                )
                for m in value["members"]
            ),
        )


@dataclass(frozen=True, slots=True)
class CeremonyInfo:
    """One threshold ceremony: kind dkg, reshare or sign; status pending,
    completed or failed; ``result`` the signature or the keygen report."""

    id: int
    kind: str
    status: str
    requested_at: int
    expires_at: int
    completed_at: int | None
    requester: str | None
    epoch: int
    threshold: int
    participants: tuple[str, ...]
    message: bytes
    transaction: bytes | None
    result: bytes | None
    reports: int
    key_set: str = ""  # "" for the group key, else the key set it makes or reshares
    key_count: int = 1

    @classmethod
    def from_json(cls, value: Any) -> CeremonyInfo:
        return cls(
            _int(value["id"]),
            _str(value["kind"]),
            _str(value["status"]),
            _int(value["requestedAt"]),
            _int(value["expiresAt"]),
            _opt(_int, value["completedAt"]),
            _opt(_str, value["requester"]),
            _int(value["epoch"]),
            _int(value["threshold"]),
            tuple(_str(p) for p in value["participants"]),
            _hex(value["message"]),
            _opt(_hex, value["transaction"]),
            _opt(_hex, value["result"]),
            _int(value["reports"]),
            _str(value["keySet"]),
            _int(value["keys"]),
        )


@dataclass(frozen=True, slots=True)
class Ceremonies:
    enabled: bool
    pending: tuple[CeremonyInfo, ...]
    recent: tuple[CeremonyInfo, ...]  # newest first

    def find(self, ceremony_id: int) -> CeremonyInfo | None:
        """The ceremony with this id among the pending and recent ones."""
        for ceremony in (*self.pending, *self.recent):
            if ceremony.id == ceremony_id:
                return ceremony
        return None

    @classmethod
    def from_json(cls, value: Any) -> Ceremonies:
        return cls(
            bool(value["enabled"]),
            tuple(CeremonyInfo.from_json(c) for c in value["pending"]),
            tuple(CeremonyInfo.from_json(c) for c in value["recent"]),
        )
