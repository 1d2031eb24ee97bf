"""A node's configuration: HOME/config.toml, and the key files beside it.

Layout of a node's home directory (``ledger init --home DIR``)::

    DIR/config.toml           this file's settings
    DIR/genesis.json          the chain's genesis
    DIR/node_key.json         p2p identity key (secp256k1), mode 0600
    DIR/validator_key.json    consensus signing key, mode 0600
    DIR/data/                 LevelDB store, WAL, double-sign guard

Every setting has a default; a config file only lists what differs. Unknown
sections or keys are errors (a typo must not silently fall back to a default).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from consensus.node.rpc.config import RpcConfig
from ledger.address import address_of, encode_address
from ledger.client.devnet import DEVNET_CHAIN_ID
from ledger.crypto import CryptoError, SigningKey
from ledger.pruning import DEFAULT_HEIGHTS_PER_PASS, PruningError, PruningPolicy


class ConfigError(ValueError):
    """The configuration or a key file is invalid; the message says where."""


@dataclass(frozen=True)
class P2PConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 26656
    persistent_peers: tuple[str, ...] = ()  # "host:port" of peers to dial
    max_frame_bytes: int = 9 * 1024 * 1024  # the chain's 8 MiB blocks and their envelope
    send_queue: int = 1024  # frames queued per peer
    send_queue_bytes: int = 64 * 1024 * 1024  # bytes queued per peer
    max_peers: int = 64  # peers beyond persistent peers and validators (always admitted)
    max_peers_per_ip: int = 8  # of those, from one IP address
    compact_proposals: bool = False  # send proposals as transaction hashes (ADR 0027)
    # Serving stored data (blocks, state-sync headers and tree nodes) to peers:
    # consensus.node.serve_budget. Requests past these are dropped.
    serve_requests_per_s: int = 500  # per peer
    serve_peer_bytes_per_s: int = 8 * 1024 * 1024  # per peer
    serve_bytes_per_s: int = 32 * 1024 * 1024  # all peers together


@dataclass(frozen=True)
class RPCConfig:
    """The [rpc] section; ``server_config()`` is what the RPC server takes
    (consensus.node.rpc.config.RpcConfig explains each limit)."""

    listen_host: str = "127.0.0.1"
    listen_port: int = 8545
    allow_external: bool = False  # listening beyond loopback must be asked for
    max_body_bytes: int = 1024 * 1024
    max_reply_bytes: int = 32 * 1024 * 1024
    max_batch: int = 100
    max_connections: int = 256
    max_ws_connections: int = 64
    idle_timeout_ms: int = 10_000  # to send whole request headers
    io_timeout_ms: int = 60_000  # to send a request body, or to read a reply
    allowed_hosts: tuple[str, ...] = ()  # names besides loopback and IP literals ("*": any)
    allowed_origins: tuple[str, ...] = ()  # web origins besides the node's own ("*": any)

    def server_config(self) -> RpcConfig:
        """The RPC server's settings. Raises ConfigError for limits that make no sense."""
        config = RpcConfig(
            host=self.listen_host,
            port=self.listen_port,
            allow_remote=self.allow_external,
            max_body_bytes=self.max_body_bytes,
            max_reply_bytes=self.max_reply_bytes,
            max_batch_size=self.max_batch,
            max_connections=self.max_connections,
            max_ws_connections=self.max_ws_connections,
            idle_timeout=self.idle_timeout_ms / 1000,
            io_timeout=self.io_timeout_ms / 1000,
            allowed_hosts=self.allowed_hosts,
            allowed_origins=self.allowed_origins,
        )
        try:
            config.check()
        except ValueError as exc:
            raise ConfigError(f"[rpc]: {exc}") from None
        return config


@dataclass(frozen=True)
class MempoolConfig:
    max_txs: int = 20_000
    max_bytes: int = 64 * 1024 * 1024
    max_txs_per_sender: int = 1_000
    max_queued: int = 1_024  # future-nonce transactions waiting for a gap, in total
    max_queued_per_sender: int = 64  # and per sender; also how far ahead a nonce may be
    queued_lifetime_blocks: int = 120
    gossip_batch: int = 500


@dataclass(frozen=True)
class ConsensusConfig:
    tick_ms: int = 50  # one engine tick
    timeout_propose_ticks: int = 20
    timeout_vote_ticks: int = 10
    timeout_delta_ticks: int = 10  # added per round
    block_interval_ms: int = 500  # minimum time between a commit and the next proposal
    max_block_txs: int = 5_000


@dataclass(frozen=True)
class PruningConfig:
    """What the node keeps of its history (ledger.pruning, docs/adr/0024-pruning.md).

    The defaults suit a devnet and a validator: the states of the last
    100,000 heights (about 14 hours at two blocks a second) answer queries
    and proofs, and every block is kept, so any peer can still block-sync
    from genesis. ``keep_recent = 0`` keeps every state (an archive node)."""

    keep_recent: int = 100_000  # states of the last N heights (0: all)
    keep_every: int = 0  # also the state of every M-th height, for good (0: none)
    retain_blocks: int = 0  # blocks, receipts and indexes of the last R heights (0: all)
    heights_per_pass: int = DEFAULT_HEIGHTS_PER_PASS  # heights forgotten per commit, at most

    def policy(self) -> PruningPolicy:
        """The ledger's policy for these settings. Raises ConfigError."""
        try:
            return PruningPolicy(
                self.keep_recent, self.keep_every, self.retain_blocks, self.heights_per_pass
            )
        except PruningError as exc:
            raise ConfigError(str(exc)) from None


@dataclass(frozen=True)
class StateSyncConfig:
    """The [state_sync] section (consensus.node.statesync, docs/adr/0025-state-sync.md).

    ``enabled``: a node whose chain is still at genesis joins from a
    snapshot that peers serve instead of executing every block (it still
    verifies every header and certificate from genesis). Every node serves
    the newest states at multiples of ``snapshot_interval`` it keeps
    (0: serves none, and stores no schedule proofs with its blocks)."""

    enabled: bool = False
    snapshot_interval: int = 100  # heights between the snapshots a node offers (0: none)
    request_timeout_ms: int = 5_000  # a peer that does not answer in time is asked no more
    offer_wait_ms: int = 2_000  # after the first offer, wait this long for more
    serve_requests_per_s: int = 50  # requests answered per peer and second (more are dropped)


@dataclass(frozen=True)
class LogConfig:
    level: str = "info"
    format: str = "text"  # or "json"


@dataclass(frozen=True)
class NodeConfig:
    moniker: str = "node"
    p2p: P2PConfig = field(default_factory=P2PConfig)
    rpc: RPCConfig = field(default_factory=RPCConfig)
    mempool: MempoolConfig = field(default_factory=MempoolConfig)
    consensus: ConsensusConfig = field(default_factory=ConsensusConfig)
    pruning: PruningConfig = field(default_factory=PruningConfig)
    state_sync: StateSyncConfig = field(default_factory=StateSyncConfig)
    log: LogConfig = field(default_factory=LogConfig)


_SECTIONS: dict[str, type] = {
    "p2p": P2PConfig,
    "rpc": RPCConfig,
    "mempool": MempoolConfig,
    "consensus": ConsensusConfig,
    "pruning": PruningConfig,
    "state_sync": StateSyncConfig,
    "log": LogConfig,
}


def load_config(path: Path) -> NodeConfig:
    """Read config.toml. Raises ConfigError naming the bad key."""
    try:
        document = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    return parse_config(document)


def parse_config(document: dict[str, Any]) -> NodeConfig:
    """Build a NodeConfig from parsed TOML. Raises ConfigError."""
    config = NodeConfig()
    for key, value in document.items():
        if key == "moniker":
            if not isinstance(value, str) or not value:
                raise ConfigError("moniker: a non-empty string")
            config = replace(config, moniker=value)
        elif key in _SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"[{key}] must be a table")
            config = replace(config, **{key: _section(key, _SECTIONS[key], value)})
        else:
            raise ConfigError(f"unknown setting {key!r}")
    loopback = config.rpc.listen_host in ("127.0.0.1", "::1", "localhost")
    if not loopback and not config.rpc.allow_external:
        raise ConfigError("rpc.listen_host is not loopback: set rpc.allow_external = true")
    config.rpc.server_config()  # the limits make sense together
    config.pruning.policy()  # settings that contradict each other are refused here
    p2p = config.p2p
    for name in ("serve_requests_per_s", "serve_peer_bytes_per_s", "serve_bytes_per_s"):
        if getattr(p2p, name) < 1:
            raise ConfigError(f"p2p.{name}: at least 1 (serving cannot be switched off)")
    return config


def _section(name: str, kind: type, values: dict[str, Any]) -> Any:
    defaults = kind()
    known = {f.name: f for f in fields(kind)}
    updates: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"unknown setting {name}.{key}")
        default = getattr(defaults, key)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{name}.{key}: a list of strings")
            value = tuple(value)
        elif type(value) is not type(default):
            raise ConfigError(f"{name}.{key}: expected {type(default).__name__}")
        elif isinstance(default, int) and not isinstance(default, bool) and value < 0:
            raise ConfigError(f"{name}.{key}: must not be negative")
        updates[key] = value
    return replace(defaults, **updates)


def encode_config(config: NodeConfig) -> str:
    """config.toml text with every setting written out."""
    lines = [f"moniker = {_toml_value(config.moniker)}", ""]
    for name in _SECTIONS:
        section = getattr(config, name)
        lines.append(f"[{name}]")
        for item in fields(section):
            lines.append(f"{item.name} = {_toml_value(getattr(section, item.name))}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise AssertionError(f"cannot write {value!r} as TOML")


def save_key_file(path: Path, key: SigningKey, insecure: bool = False) -> None:
    """Write a plaintext key file with mode 0600 (node and validator keys,
    like CometBFT's node_key.json). ``insecure`` marks publicly known devnet keys."""
    document: dict[str, Any] = {
        "address": encode_address(address_of(key.public_key)),
        "public_key": key.public_key.hex(),
        "secret_key": key.secret.hex(),
    }
    if insecure:
        document["insecure"] = True
        document["warning"] = "devnet key derived from a public string: anyone can use it"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(json.dumps(document, indent=2) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, 0o600)


def load_key_file(path: Path) -> SigningKey:
    """Read a key file written by save_key_file. Raises ConfigError."""
    try:
        document = json.loads(path.read_text())
        key = SigningKey(bytes.fromhex(document["secret_key"]))
    except OSError as exc:
        raise ConfigError(f"cannot read key file {path}: {exc.strerror}") from exc
    except (ValueError, KeyError, TypeError, CryptoError) as exc:
        raise ConfigError(f"{path} is not a valid key file") from exc
    if document.get("public_key") != key.public_key.hex():
        raise ConfigError(f"{path}: public_key does not match secret_key")
    return key


def key_file_is_insecure(path: Path) -> bool:
    """Whether a key file (save_key_file's format) is marked ``"insecure": true``:
    a devnet key derived from a public string. False if it cannot be read."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return isinstance(document, dict) and document.get("insecure") is True


def insecure_key_warnings(home: Path, chain_id: str) -> list[str]:
    """One loud line per key file of a node home that is marked insecure
    while the chain is not the devnet (``DEVNET_CHAIN_ID``): anyone can sign
    as that node or validator."""
    if chain_id == DEVNET_CHAIN_ID:
        return []
    return [
        f"INSECURE KEY: {home / name} is a publicly known devnet key, but this node is on "
        f"chain {chain_id!r}, not the devnet: anyone can sign as this "
        f"{'validator' if name.startswith('validator') else 'node'}. Replace it with a new key."
        for name in ("node_key.json", "validator_key.json")
        if key_file_is_insecure(home / name)
    ]
