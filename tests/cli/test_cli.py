"""The `ledger` command against a LocalNode server on 127.0.0.1 (CliRunner)."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from ledger.address import address_of, encode_address
from ledger.client import keystore
from ledger.client.devnet import DEVNET_BALANCE, account_key
from tests.consensus.node.rpc.server_thread import ServerThread

BOB = encode_address(address_of(account_key("bob").public_key))


@pytest.fixture(autouse=True)
def fast_kdf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keystore, "DEFAULT_SCRYPT_N", 1 << 4)


@pytest.fixture
def node(tmp_path: Path) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path, block_interval=0.05)
    try:
        yield server
    finally:
        server.close()


class Ledger:
    def __init__(self, home: Path, url: str = "http://127.0.0.1:9") -> None:
        self.home = home
        self.url = url
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None, code: int = 0) -> str:
        result = self.runner.invoke(
            app, ["--node", self.url, "--home", str(self.home), *args], input=input
        )
        assert result.exit_code == code, (result.exit_code, result.output, result.stderr)
        return result.stdout

    def json(self, *args: str, code: int = 0) -> object:
        return json.loads(self("-o", "json", *args, code=code))

    def stderr(self, *args: str, input: str | None = None, code: int) -> str:
        result = self.runner.invoke(
            app, ["--node", self.url, "--home", str(self.home), *args], input=input
        )
        assert result.exit_code == code, (result.exit_code, result.output)
        return result.stderr


@pytest.fixture
def ledger(tmp_path: Path, node: ServerThread) -> Ledger:
    return Ledger(tmp_path / "home", node.url)


def test_keys_lifecycle(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "home")
    password = tmp_path / "pw"
    password.write_text("s3cret\n")
    created = ledger.json("keys", "new", "main", "--password-file", str(password))
    assert created["name"] == "main" and not created["insecure"]  # type: ignore[index]
    path = Path(created["file"])  # type: ignore[index]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Prompted passphrase (no echo; confirmed twice) for a second key.
    ledger("keys", "new", "other", input="pw\npw\n")
    listed = ledger.json("keys", "list")
    assert [k["name"] for k in listed["keys"]] == ["main", "other"]  # type: ignore[index]
    assert ledger.json("keys", "show", "main")["address"] == created["address"]  # type: ignore[index]
    secret = ledger("-y", "keys", "export", "main", "--password-file", str(password)).strip()
    assert len(secret) == 64
    ledger("-y", "keys", "delete", "main")
    assert "main" not in ledger("keys", "list")
    # Import it back from the exported secret.
    secret_file = tmp_path / "secret"
    secret_file.write_text(secret + "\n")
    imported = ledger.json(
        "keys",
        "import",
        "again",
        "--secret-file",
        str(secret_file),
        "--password-file",
        str(password),
    )
    assert imported["address"] == created["address"]  # type: ignore[index]


def test_keys_errors_are_one_line(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "home")
    password = tmp_path / "pw"
    password.write_text("right\n")
    ledger("keys", "new", "k", "--password-file", str(password))
    wrong = tmp_path / "wrong"
    wrong.write_text("wrong\n")
    err = ledger.stderr("-y", "keys", "export", "k", "--password-file", str(wrong), code=1)
    assert err.strip().startswith("error: wrong passphrase") and "Traceback" not in err
    assert ledger.stderr("keys", "show", "nope", code=1).startswith("error: no key named")
    assert "already exists" in ledger.stderr(
        "keys", "new", "k", "--password-file", str(password), code=1
    )
    assert "invalid key name" in ledger.stderr("keys", "new", "../x", code=1)
    # Declining a confirmation changes nothing.
    assert "cancelled" in ledger.stderr("keys", "delete", "k", input="n\n", code=1)
    assert "k" in ledger("keys", "list")


def test_devnet_keys_listed_apart(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "home")
    output = ledger("keys", "devnet", "alice", "bob")
    assert "INSECURE" in output
    text = ledger("keys", "list")
    assert text.index("no keys") < text.index("INSECURE") < text.index("devnet:alice")
    listed = ledger.json("keys", "list")
    assert listed["keys"] == []  # type: ignore[index]
    assert all(k["insecure"] for k in listed["devnet"])  # type: ignore[index]


def test_query_commands(ledger: Ledger, node: ServerThread) -> None:
    assert ledger("query", "balance", BOB).strip() == f"{DEVNET_BALANCE} base units (13000000 coin)"
    assert ledger("query", "balance", BOB, "--asset", "cpu").strip() == f"{10**12} cpu"
    assert ledger.json("query", "balance", BOB, "--asset", "cpu")["balance"] == str(10**12)  # type: ignore[index]
    account = ledger.json("query", "account", BOB)
    assert account["nonce"] == "0"  # type: ignore[index]
    assert account["balances"]["cpu"] == str(10**12)  # type: ignore[index]
    status = ledger.json("query", "status")
    assert status["chain_id"] == "ledger-devnet-1"  # type: ignore[index]
    assert "single-node" in ledger("query", "status")
    validators = ledger.json("query", "validators")
    assert len(validators["validators"]) == 4  # type: ignore[index]
    proof = ledger.json("query", "proof", BOB)
    assert proof["verified"] is True  # type: ignore[index]
    ledger("query", "status", "--wait-height", "1", "--timeout", "60")
    block = ledger.json("query", "block", "1")
    assert block["height"] == 1  # type: ignore[index]
    assert "height" in ledger("query", "block")


def test_query_errors(ledger: Ledger) -> None:
    assert "invalid address" in ledger.stderr("query", "balance", "lg1qqqq", code=1)
    assert "neither an address" in ledger.stderr("query", "balance", "nobody", code=1)
    assert "not a 32-byte hash" in ledger.stderr("query", "tx", "abc", code=1)
    assert "unknown to the node" in ledger.stderr("query", "tx", "00" * 32, code=1)
    assert "node error -32001" in ledger.stderr(
        "query", "balance", BOB, "--height", "999999", code=3
    )


def test_unreachable_node_exit_code(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "home", "http://127.0.0.1:9")
    err = ledger.stderr("query", "status", code=3)
    assert err.startswith("error: cannot reach the node") and "Traceback" not in err
    assert err.count("\n") == 1


def test_send_waits_and_prints_the_receipt(ledger: Ledger) -> None:
    ledger("keys", "devnet")
    out = ledger("-y", "tx", "send", "--from", "devnet:alice", "--to", BOB, "--amount", "1_000")
    assert "success" in out and "event transfer" in out
    assert ledger("query", "balance", "devnet:bob").strip() == (
        f"{DEVNET_BALANCE + 1000} base units (13000000.000000000000001 coin)"
    )
    sent = ledger.json(
        "-y", "tx", "send", "--from", "devnet:alice", "--to", "devnet:bob", "--amount", "5"
    )
    assert sent["receipt"]["status"] == 0  # type: ignore[index]
    tx_hash = sent["hash"]  # type: ignore[index]
    assert ledger.json("query", "receipt", tx_hash)["status"] == 0  # type: ignore[index]
    assert ledger.json("query", "tx", tx_hash)["nonce"] == "1"  # type: ignore[index]


def test_send_confirmation_no_wait_and_failures(ledger: Ledger, tmp_path: Path) -> None:
    ledger("keys", "devnet", "alice")
    args = ("tx", "send", "--from", "devnet:alice", "--to", BOB, "--amount", "7")
    assert "cancelled" in ledger.stderr(*args, input="n\n", code=1)
    out = ledger(*args, "--no-wait", input="y\n")
    assert out.splitlines()[-1].startswith("submitted ")
    # Rejected by the node: exit 4 (a failure in a block, exit 5, is in
    # tests/cli/features/bank/test_asset_commands.py).
    assert "transaction rejected" in ledger.stderr("-y", *args, "--nonce", "99", code=4)
    assert "fee" in ledger.stderr("-y", *args, "--fee", "1", code=4)
    # What the node's pending state shows cannot be paid is refused before signing: exit 1.
    unpaid = ledger.stderr("-y", *args[:-1], "10", "--asset", "gold", code=1)
    assert "gold balance 0 < 10 needed" in unpaid
    assert "whole number" in ledger.stderr("-y", *args[:-1], "1.5", code=1)
    # Real (encrypted) keys need their passphrase.
    password = tmp_path / "pw"
    password.write_text("pw\n")
    ledger("keys", "new", "mine", "--password-file", str(password))
    poor = ledger.stderr(
        "-y",
        "tx",
        "send",
        "--from",
        "mine",
        "--to",
        BOB,
        "--amount",
        "1",
        "--password-file",
        str(password),
        code=1,
    )
    assert "mine cannot pay: balance 0 < amount + fee 1001 (base units" in poor


def test_debug_shows_tracebacks(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        app, ["--debug", "--node", "http://127.0.0.1:9", "--home", str(tmp_path), "query", "status"]
    )
    assert result.exit_code != 0
    assert result.exception is not None  # raised, not turned into one line


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--home", str(tmp_path), "query", "balance"])
    assert result.exit_code == 2


def test_proof_against_a_given_state_root(ledger: Ledger) -> None:
    height = ledger.json("query", "status", "--wait-height", "1")["height"]  # type: ignore[index]
    root = ledger.json("query", "block", str(height))["state_root"]  # type: ignore[index]
    out = ledger("query", "proof", BOB, "--height", str(height), "--state-root", root)
    assert f"VERIFIED against --state-root {root}" in out
    wrong = ("0" if root[0] != "0" else "1") + root[1:]
    at = ("--height", str(height))
    err = ledger.stderr("query", "proof", BOB, *at, "--state-root", wrong, code=3)
    assert "does not verify against --state-root" in err
    assert "32-byte hash" in ledger.stderr("query", "proof", BOB, "--state-root", "ab", code=1)


def test_status_waits_for_a_height(ledger: Ledger) -> None:
    status = ledger.json("query", "status", "--wait-height", "3", "--timeout", "30")
    assert status["height"] >= 3  # type: ignore[index]
    err = ledger.stderr("query", "status", "--wait-height", "10000000", "--timeout", "0.5", code=6)
    assert "did not reach height 10000000" in err
    unreachable = Ledger(ledger.home, "http://127.0.0.1:9")
    assert "no answer" in unreachable.stderr(
        "query", "status", "--wait-height", "1", "--timeout", "0.5", code=6
    )


def test_init_keeps_rpc_on_loopback_unless_asked(tmp_path: Path) -> None:
    from consensus.node.config import load_config

    runner = CliRunner()
    refused = runner.invoke(
        app, ["init", "--home", str(tmp_path / "a"), "--devnet", "--rpc-host", "0.0.0.0"]
    )
    assert refused.exit_code == 1 and "--rpc-allow-external" in refused.stderr
    assert not (tmp_path / "a" / "config.toml").exists()
    home = tmp_path / "b"
    result = runner.invoke(
        app,
        ["init", "--home", str(home), "--devnet", "--rpc-host", "0.0.0.0", "--rpc-allow-external",
         "--p2p-host", "0.0.0.0", "--peer", "192.0.2.1:26656,192.0.2.2:26656",
         "--peer", "node.example:26656"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    config = load_config(home / "config.toml")
    assert config.rpc.listen_host == "0.0.0.0" and config.rpc.allow_external
    assert config.p2p.listen_host == "0.0.0.0"
    assert config.p2p.persistent_peers == (
        "192.0.2.1:26656",
        "192.0.2.2:26656",
        "node.example:26656",
    )
    bad = runner.invoke(
        app, ["init", "--home", str(tmp_path / "c"), "--devnet", "--peer", "nohost"]
    )
    assert bad.exit_code == 1 and "expected host:port" in bad.stderr


def test_init_never_joins_the_devnet_silently(tmp_path: Path) -> None:
    from ledger.client.devnet import DEVNET_CHAIN_ID, devnet_genesis_document

    runner = CliRunner()
    bare = runner.invoke(app, ["init", "--home", str(tmp_path / "a")])
    assert bare.exit_code == 1 and "--genesis FILE" in bare.stderr and "--devnet" in bare.stderr
    assert not (tmp_path / "a").exists()
    devnet = runner.invoke(app, ["init", "--home", str(tmp_path / "b"), "--devnet"])
    assert devnet.exit_code == 0 and "publicly known" in devnet.stderr
    document = devnet_genesis_document(chain_id="ledger-private-7")
    (tmp_path / "genesis.json").write_text(json.dumps(document))
    own = runner.invoke(
        app, ["init", "--home", str(tmp_path / "c"), "--genesis", str(tmp_path / "genesis.json")]
    )
    assert (
        own.exit_code == 0
        and "ledger-private-7" in own.stdout
        and DEVNET_CHAIN_ID not in own.stdout
    )
    both = runner.invoke(
        app, ["init", "--home", str(tmp_path / "d"), "--devnet", "--genesis", "x.json"]
    )
    assert both.exit_code == 1 and "not both" in both.stderr


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (None, "it does not exist"),
        ("{not json", "is not valid JSON"),
        ("{}", "missing chain_id"),
    ],
)
def test_init_names_what_is_wrong_with_a_genesis_file(
    tmp_path: Path, text: str | None, message: str
) -> None:
    path = tmp_path / "genesis.json"
    if text is not None:
        path.write_text(text)
    result = CliRunner().invoke(
        app, ["init", "--home", str(tmp_path / "h"), "--genesis", str(path)]
    )
    assert result.exit_code == 1
    assert str(path) in result.stderr and message in result.stderr and "Errno" not in result.stderr
