"""Genesis: the devnet file loads, the state root is deterministic, errors name the field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.client.devnet import devnet_genesis_document
from ledger.genesis import GenesisError, genesis_state, load_genesis, parse_genesis

DEVNET = Path(__file__).resolve().parents[2] / "genesis" / "devnet.json"


def test_devnet_file_matches_its_generator() -> None:
    assert json.loads(DEVNET.read_text()) == devnet_genesis_document()


def test_devnet_genesis_loads_and_its_root_is_deterministic() -> None:
    genesis = load_genesis(DEVNET)
    assert genesis.chain_id == "ledger-devnet-1"
    assert len(genesis.validators) == 4
    _, tip_a, _ = genesis_state(genesis)
    _, tip_b, _ = genesis_state(parse_genesis(json.loads(DEVNET.read_text())))
    assert tip_a == tip_b
    assert tip_a.height == 0 and tip_a.block_hash == genesis.hash


def test_json_formatting_does_not_change_the_genesis_hash(tmp_path: Path) -> None:
    document = json.loads(DEVNET.read_text())
    reordered = tmp_path / "g.json"
    reordered.write_text(json.dumps(dict(reversed(list(document.items())))))
    assert load_genesis(reordered).hash == load_genesis(DEVNET).hash


def _mutated(path: list[Any], value: Any) -> dict[str, Any]:
    document = copy.deepcopy(devnet_genesis_document())
    target = document
    for step in path[:-1]:
        target = target[step]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return document


@pytest.mark.parametrize(
    "path, value, message",
    [
        (["chain_id"], "Has Spaces", "chain_id"),
        (["genesis_time"], "yesterday", "genesis_time"),
        (["validators"], [], "validators"),
        (["validators", 0, "public_key"], "00", "validators[0].public_key"),
        (["validators", 0, "power"], 0, "validators[0].power"),
        (["validators", 1, "public_key"], None, "validators[1].public_key"),
        (["accounts", 0, "address"], "lg1notanaddress", "accounts[0].address"),
        (["accounts", 0, "balances", "coin"], "-5", "accounts[0].balances.coin"),
        (["accounts", 0, "balances", "coin"], 5, "accounts[0].balances.coin"),
        (["accounts", 0, "balances", "coin"], str(1 << 128), "accounts[0].balances.coin"),
        (["accounts", 0, "balances", "COIN"], "5", "invalid asset"),
        (["params", "max_block_txs"], 0, "params.max_block_txs"),
        (["extra"], 1, "unknown field"),
    ],
)
def test_invalid_genesis_names_the_field(path: list[Any], value: Any, message: str) -> None:
    with pytest.raises(GenesisError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_genesis(_mutated(path, value))


def test_invalid_duplicate_validator_key() -> None:
    document = devnet_genesis_document()
    document["validators"][1]["public_key"] = document["validators"][0]["public_key"]
    with pytest.raises(GenesisError, match="duplicate public key"):
        parse_genesis(document)


def test_invalid_genesis_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(GenesisError, match="not valid JSON"):
        load_genesis(bad)
    with pytest.raises(GenesisError, match="cannot read"):
        load_genesis(tmp_path / "missing.json")
