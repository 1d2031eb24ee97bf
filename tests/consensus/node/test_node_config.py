"""config.toml's [rpc] section becomes the RPC server's settings, checked at load."""

from __future__ import annotations

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
