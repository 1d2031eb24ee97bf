"""config.toml's [rpc] section becomes the RPC server's settings, checked at load."""

from __future__ import annotations

from pathlib import Path

import pytest

from consensus.node.config import ConfigError, NodeConfig, encode_config, parse_config


def test_rpc_section_reaches_the_server() -> None:
    document = {
        "rpc": {
            "allowed_hosts": ["node.example"],
            "allowed_origins": ["https://wallet.example"],
            "idle_timeout_ms": 500,
            "io_timeout_ms": 2000,
            "max_reply_bytes": 4096,
        }
    }
    server = parse_config(document).rpc.server_config()
    assert server.allowed_hosts == ("node.example",)
    assert server.allowed_origins == ("https://wallet.example",)
    assert (server.idle_timeout, server.io_timeout, server.max_reply_bytes) == (0.5, 2.0, 4096)


@pytest.mark.parametrize(
    "rpc",
    [
        {"max_ws_connections": 256},  # no room left for plain HTTP
        {"idle_timeout_ms": 0},
        {"max_reply_bytes": 0},
        {"allowed_origins": ["wallet.example"]},  # not scheme://host
    ],
)
def test_invalid_rpc_settings_are_refused_at_load(rpc: dict[str, object]) -> None:
    with pytest.raises(ConfigError, match=r"^\[rpc\]"):
        parse_config({"rpc": rpc})


def test_every_default_is_written_and_read_back() -> None:
    import tomllib

    assert parse_config(tomllib.loads(encode_config(NodeConfig()))) == NodeConfig()


def test_insecure_key_files_outside_the_devnet_are_called_out(tmp_path: Path) -> None:
    from consensus.node.config import insecure_key_warnings, save_key_file
    from ledger.client.devnet import DEVNET_CHAIN_ID, validator_key
    from ledger.crypto import SigningKey

    save_key_file(tmp_path / "node_key.json", SigningKey.generate())
    save_key_file(tmp_path / "validator_key.json", validator_key(0), insecure=True)
    assert insecure_key_warnings(tmp_path, DEVNET_CHAIN_ID) == []
    (warning,) = insecure_key_warnings(tmp_path, "ledger-private-7")
    assert warning.startswith("INSECURE KEY: ") and "validator_key.json" in warning
    assert "'ledger-private-7'" in warning and "anyone can sign as this validator" in warning


def test_compact_proposals_is_a_switch_off_by_default() -> None:
    assert NodeConfig().p2p.compact_proposals is False
    assert parse_config({"p2p": {"compact_proposals": True}}).p2p.compact_proposals is True
    with pytest.raises(ConfigError, match="compact_proposals"):
        parse_config({"p2p": {"compact_proposals": "yes"}})


@pytest.mark.parametrize(
    "name", ["serve_requests_per_s", "serve_peer_bytes_per_s", "serve_bytes_per_s"]
)
def test_invalid_serving_budget_of_zero_is_refused(name: str) -> None:
    assert getattr(parse_config({"p2p": {name: 1}}).p2p, name) == 1
    with pytest.raises(ConfigError, match=f"p2p.{name}: at least 1"):
        parse_config({"p2p": {name: 0}})
