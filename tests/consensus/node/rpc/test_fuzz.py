"""Bad input against the running server: every answer is the right error, the
server stays up, and neither the chain nor the mempool changes."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import codec
from ledger.types import Transaction

from .conftest import ALICE, BOB, transfer
from .server_thread import ServerThread

METHODS = [
    "ledger_chainId",
    "ledger_blockNumber",
    "ledger_getBalance",
    "ledger_getAccount",
    "ledger_getTransactionCount",
    "ledger_sendRawTransaction",
    "ledger_getTransactionByHash",
    "ledger_getTransactionReceipt",
    "ledger_getBlockByNumber",
    "ledger_getBlockByHash",
    "ledger_status",
    "ledger_validators",
    "ledger_getProof",
    "ledger_mempoolInfo",
    "ledger_getParams",
    "ledger_getContract",
    "ledger_getContractStorage",
    "ledger_getContractStorageItems",
    "ledger_getMailbox",
    "ledger_getBurnedCredits",
    "ledger_getBlockEvents",
]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**200), max_value=2**200)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=80),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path_factory.mktemp("fuzz"))
    try:
        yield server
    finally:
        server.close()


def check_answer(answer: object, request_id: object) -> None:
    assert isinstance(answer, dict)
    assert answer["jsonrpc"] == "2.0"
    assert ("result" in answer) != ("error" in answer)
    assert answer["id"] == request_id
    if "error" in answer:
        assert type(answer["error"]["code"]) is int
        assert isinstance(answer["error"]["message"], str)
        assert answer["error"]["code"] != -32603, answer  # bad input is never an internal error


@FUZZ
@given(body=st.binary(max_size=300))
def test_random_bytes(node: ServerThread, body: bytes) -> None:
    before = node.snapshot()
    status, answer = node.post(body)
    assert status in (200, 204)
    if answer is not None and isinstance(answer, dict) and "error" in answer:
        assert (
            answer["error"]["code"] in (-32700, -32600, -32601, -32602)
            or answer["error"]["code"] < -32000
        )
    assert node.snapshot() == before


@FUZZ
@given(
    method=st.sampled_from(METHODS),
    params=st.lists(json_values, max_size=4)
    | st.dictionaries(st.text(max_size=10), json_values, max_size=3),
    request_id=st.integers(-(2**70), 2**70) | st.text(max_size=10),
)
def test_wrong_types_and_huge_numbers(
    node: ServerThread, method: str, params: object, request_id: object
) -> None:
    before = node.snapshot()
    status, answer = node.post(
        {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    )
    assert status == 200
    check_answer(answer, request_id)
    after = node.snapshot()
    assert after == before


@FUZZ
@given(value=json_values)
def test_arbitrary_json_documents(node: ServerThread, value: object) -> None:
    before = node.snapshot()
    status, answer = node.post(value)
    assert status in (200, 204)
    if isinstance(answer, dict):
        assert "error" in answer or "result" in answer
    assert node.snapshot() == before


@pytest.mark.parametrize("depth", [100, 10_000, 200_000])
def test_deep_nesting(node: ServerThread, depth: int) -> None:
    for body in ("[" * depth + "]" * depth, '{"a":' * depth + "1" + "}" * depth):
        status, answer = node.post(body.encode())
        assert status in (200, 413)
        assert "error" in answer or isinstance(answer, list)
    params = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "ledger_getBalance", "params": [[[[[["x"]]]]]]}
    )
    _, answer = node.post(params.encode())
    assert answer["error"]["code"] == -32602


def test_huge_integers(node: ServerThread) -> None:
    for text in ("9" * 5000, "-" + "9" * 100000):
        body = '{"jsonrpc":"2.0","id":1,"method":"ledger_getBlockByNumber","params":[' + text + "]}"
        status, answer = node.post(body.encode())
        assert status in (200, 413)
        assert answer["error"]["code"] in (-32700, -32600, -32602)
    _, answer = node.post(
        {"jsonrpc": "2.0", "id": 1, "method": "ledger_getBlockByNumber", "params": [2**64]}
    )
    assert answer["error"]["code"] == -32602
    _, answer = node.post({"jsonrpc": "2.0", "id": 2**64, "method": "ledger_chainId"})
    assert answer["id"] == 2**64


def test_huge_and_empty_batches(node: ServerThread) -> None:
    _, answer = node.post([])
    assert answer["error"]["code"] == -32600
    _, answer = node.post(
        [{"jsonrpc": "2.0", "id": i, "method": "ledger_chainId"} for i in range(5000)]
    )
    assert answer["error"]["code"] == -32600 and answer["id"] is None
    _, answer = node.post([[]] * 50)
    assert [a["error"]["code"] for a in answer] == [-32600] * 50


def tx_fields(tx: Transaction) -> list[object]:
    return list(codec.decode(tx.encode()))


def mutations() -> st.SearchStrategy[bytes]:
    """Transactions broken in every way the checks know about, plus random ones."""
    good = transfer(ALICE, BOB, 10, nonce=0)
    fields = tx_fields(good)

    def replace(index: int, value: object) -> bytes:
        changed = list(fields)
        changed[index] = value
        try:
            return codec.encode(tuple(changed))
        except codec.CodecError:
            return b"\xc1"

    structural = st.sampled_from(
        [
            replace(0, 2),  # version
            replace(1, "Bad Chain"),
            replace(1, "other-chain"),
            replace(2, b"\x02" * 33),  # sender not on the curve
            replace(2, b"\x02" * 5),
            replace(3, -1),
            replace(3, 2**64),
            replace(4, 2**128),
            replace(4, -5),
            replace(5, (1, "coin", 10)),
            replace(5, (1, "COIN", 10, b"\x00" * 20)),
            replace(5, (1, "coin", -1, b"\x00" * 20)),
            replace(5, (1, "coin", 2**128, b"\x00" * 20)),
            replace(5, (42, "x")),
            replace(5, ()),
            replace(6, b"\x00" * 64),
            replace(6, b"\x01" * 63),
            good.encode() + b"\x00",
            good.encode()[:-1],
            codec.encode(tuple(fields[:6])),
            transfer(ALICE, BOB, 10, nonce=5).encode(),
            transfer(ALICE, BOB, 10, nonce=0, fee=999).encode(),
            b"\x91" * 40 + b"\xc0",
        ]
    )
    flipped = st.tuples(st.integers(0, len(good.encode()) - 1), st.integers(1, 255)).map(
        lambda p: bytes(b ^ p[1] if i == p[0] else b for i, b in enumerate(good.encode()))
    )
    return structural | flipped | st.binary(max_size=200)


@FUZZ
@given(raw=mutations())
def test_invalid_transactions(node: ServerThread, raw: bytes) -> None:
    before = node.snapshot()
    _, answer = node.post(
        {"jsonrpc": "2.0", "id": 1, "method": "ledger_sendRawTransaction", "params": [raw.hex()]}
    )
    check_answer(answer, 1)
    # The signature covers every other field, so no mutation of the good transaction passes.
    assert "result" not in answer, f"accepted a mutated transaction: {raw.hex()}"
    assert -32099 <= answer["error"]["code"] <= -32041 or answer["error"]["code"] == -32602
    assert node.snapshot() == before


def test_server_still_answers(node: ServerThread) -> None:
    _, answer = node.post({"jsonrpc": "2.0", "id": "alive", "method": "ledger_chainId"})
    assert answer["result"] == "ledger-devnet-1"
