"""The JSON-RPC 2.0 specification, rule by rule, against a running server."""

from __future__ import annotations

import json

import pytest

from consensus.node.rpc.config import RpcConfig

from .server_thread import ServerThread


def call(method: str, request_id: object = 1, **extra: object) -> dict[str, object]:
    return {"jsonrpc": "2.0", "method": method, "id": request_id, **extra}


def test_parse_error_has_id_null(served: ServerThread) -> None:
    status, answer = served.post(b'{"jsonrpc": "2.0", "method": "ledger_chainId", "id": 1')
    assert status == 200
    assert answer["id"] is None
    assert answer["error"]["code"] == -32700
    assert "result" not in answer


@pytest.mark.parametrize(
    "body",
    [b"", b"\xff\xfe", b"NaN", b'{"id": 1, "x": Infinity}', b"[1,", b"nul"],
)
def test_invalid_json_variants_are_parse_errors(served: ServerThread, body: bytes) -> None:
    status, answer = served.post(body)
    assert status == 200
    assert answer == {"jsonrpc": "2.0", "id": None, "error": answer["error"]}
    assert answer["error"]["code"] == -32700


@pytest.mark.parametrize(
    ("request_body", "echoed_id"),
    [
        (1, None),
        ("text", None),
        (None, None),
        ({"method": "ledger_chainId", "id": 1}, 1),  # no jsonrpc member
        ({"jsonrpc": "1.0", "method": "ledger_chainId", "id": 2}, 2),
        ({"jsonrpc": 2.0, "method": "ledger_chainId", "id": 3}, 3),
        ({"jsonrpc": "2.0", "method": 1, "id": 4}, 4),
        ({"jsonrpc": "2.0", "id": 5}, 5),  # no method
        ({"jsonrpc": "2.0", "method": "ledger_chainId", "params": "x", "id": 6}, 6),
        ({"jsonrpc": "2.0", "method": "ledger_chainId", "params": 7, "id": 7}, 7),
        ({"jsonrpc": "2.0", "method": "ledger_chainId", "id": {"a": 1}}, None),
        ({"jsonrpc": "2.0", "method": "ledger_chainId", "id": [1]}, None),
        ({"jsonrpc": "2.0", "method": "ledger_chainId", "id": True}, None),
    ],
)
def test_invalid_request_variants(
    served: ServerThread, request_body: object, echoed_id: object
) -> None:
    status, answer = served.post(request_body)
    assert status == 200
    assert answer["error"]["code"] == -32600
    assert answer["id"] == echoed_id
    assert "result" not in answer


def test_method_not_found(served: ServerThread) -> None:
    status, answer = served.post(call("ledger_noSuchMethod", 9))
    assert status == 200
    assert answer["id"] == 9
    assert answer["error"]["code"] == -32601


def test_invalid_params(served: ServerThread) -> None:
    _, answer = served.post(call("ledger_getBalance", 1, params=["not an address"]))
    assert answer["error"]["code"] == -32602
    assert answer["error"]["data"] == {"param": "address"}
    _, answer = served.post(call("ledger_chainId", 1, params=[1]))
    assert answer["error"]["code"] == -32602
    _, answer = served.post(call("ledger_getBalance", 1, params={"addr": "x"}))
    assert answer["error"]["code"] == -32602
    _, answer = served.post(call("ledger_getBalance", 1, params={}))
    assert answer["error"]["code"] == -32602


@pytest.mark.parametrize(
    "request_id", ["abc", "", "ünïcode", 0, -1, 2**70, -(2**70), 12345678901234567890, None]
)
def test_id_is_echoed_exactly(served: ServerThread, request_id: object) -> None:
    _, answer = served.post(call("ledger_chainId", request_id))
    assert answer["id"] == request_id
    assert type(answer["id"]) is type(request_id)
    assert answer["result"] == "ledger-devnet-1"
    assert "error" not in answer


def test_fractional_id_is_echoed(served: ServerThread) -> None:
    _, answer = served.post(call("ledger_chainId", 1.5))
    assert answer["id"] == 1.5


def test_notification_gets_no_reply(served: ServerThread) -> None:
    status, answer = served.post({"jsonrpc": "2.0", "method": "ledger_chainId"})
    assert (status, answer) == (204, None)


def test_notification_of_unknown_method_or_bad_params_gets_no_reply(served: ServerThread) -> None:
    assert served.post({"jsonrpc": "2.0", "method": "nope"}) == (204, None)
    assert served.post({"jsonrpc": "2.0", "method": "ledger_getBalance", "params": [1]}) == (
        204,
        None,
    )


def test_batch_answers_in_order_and_skips_notifications(served: ServerThread) -> None:
    batch = [
        call("ledger_chainId", 1),
        {"jsonrpc": "2.0", "method": "ledger_chainId"},
        call("ledger_blockNumber", "two"),
        call("nope", 3),
        {"jsonrpc": "2.0", "method": "nope"},
        {"foo": "boo"},
        1,
    ]
    status, answer = served.post(batch)
    assert status == 200
    assert [a["id"] for a in answer] == [1, "two", 3, None, None]
    assert answer[0]["result"] == "ledger-devnet-1"
    assert answer[1]["result"] == 0
    assert answer[2]["error"]["code"] == -32601
    assert answer[3]["error"]["code"] == -32600
    assert answer[4]["error"]["code"] == -32600
    for a in answer:
        assert ("result" in a) != ("error" in a)


def test_batch_of_notifications_only_returns_nothing(served: ServerThread) -> None:
    batch = [{"jsonrpc": "2.0", "method": "ledger_chainId"}, {"jsonrpc": "2.0", "method": "x"}]
    assert served.post(batch) == (204, None)


def test_empty_batch_is_one_invalid_request(served: ServerThread) -> None:
    status, answer = served.post([])
    assert status == 200
    assert answer["id"] is None
    assert answer["error"]["code"] == -32600


def test_invalid_batch_items_each_get_an_error(served: ServerThread) -> None:
    _, answer = served.post([1, 2, 3])
    assert [a["error"]["code"] for a in answer] == [-32600] * 3


def test_batch_over_the_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    server = ServerThread(tmp_path, RpcConfig(port=0, max_batch_size=3))
    try:
        status, answer = server.post([call("ledger_chainId", i) for i in range(4)])
        assert status == 200
        assert isinstance(answer, dict)
        assert answer["id"] is None
        assert answer["error"]["code"] == -32600
        assert answer["error"]["data"] == {"limit": 3}
        _, answer = server.post([call("ledger_chainId", i) for i in range(3)])
        assert [a["id"] for a in answer] == [0, 1, 2]
    finally:
        server.close()


def test_reply_over_the_limit_is_an_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from .conftest import ALICE, BOB, transfer

    server = ServerThread(tmp_path, RpcConfig(port=0, max_reply_bytes=1500))
    try:
        for nonce in range(3):
            raw = transfer(ALICE, BOB, 5, nonce=nonce).encode().hex()
            assert "result" in server.post(call("ledger_sendRawTransaction", params=[raw]))[1]
        server.produce()
        _, header = server.post(call("ledger_getBlockByNumber", 6, params=[1, False]))
        assert header["result"]["height"] == 1
        _, block = server.post(call("ledger_getBlockByNumber", 7, params=[1, True]))
        assert block["error"]["code"] == -32004
        assert block["error"]["data"] == {"limit": 1500}
        assert block["id"] == 7 and "fewer" not in block["error"]["message"]
        _, chain = server.post(call("ledger_chainId", 8))
        assert chain["result"] == "ledger-devnet-1"
    finally:
        server.close()


def test_batch_stops_running_at_the_reply_limit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A batch of block fetches is not built in memory past the limit: the
    member that crosses it and every later one get -32004, and the later
    ones are not run (a transaction among them is not submitted)."""
    from .conftest import ALICE, BOB, transfer

    server = ServerThread(tmp_path, RpcConfig(port=0, max_reply_bytes=4000))
    try:
        server.produce()
        fetches = [call("ledger_getBlockByNumber", i, params=[1, False]) for i in range(10)]
        raw = transfer(ALICE, BOB, 5, nonce=0).encode().hex()
        batch = [*fetches, call("ledger_sendRawTransaction", "tx", params=[raw])]
        _, answer = server.post(batch)
        answered = [a for a in answer if "result" in a]
        refused = [a for a in answer if "error" in a]
        assert answered and refused and len(answer) == len(batch)
        assert [a["id"] for a in answer] == [*range(10), "tx"]
        assert {a["error"]["code"] for a in refused} == {-32004}
        assert "fewer requests per batch" in refused[0]["error"]["message"]
        assert sum(len(json.dumps(a)) for a in answered) <= 4000
        assert server.snapshot()[2] == 0  # the transaction after the limit was not run
    finally:
        server.close()


def test_named_and_positional_params_agree(served: ServerThread) -> None:
    address = served.genesis.accounts[0].address
    from ledger.address import encode_address
    from ledger.client.devnet import DEVNET_BALANCE, DEVNET_CREDITS

    text = encode_address(address)
    _, by_position = served.post(call("ledger_getBalance", 1, params=[text, "cpu"]))
    _, by_name = served.post(call("ledger_getBalance", 1, params={"address": text, "asset": "cpu"}))
    _, with_nulls = served.post(call("ledger_getBalance", 1, params=[text, None, None]))
    assert by_position["result"] == by_name["result"] == str(DEVNET_CREDITS)
    assert with_nulls["result"] == str(DEVNET_BALANCE)


def test_rpc_errors_are_http_200_and_carry_no_result(served: ServerThread) -> None:
    for body in (call("nope"), call("ledger_getBlockByHash", params=["zz"]), b"{"):
        status, answer = served.post(body)
        assert status == 200
        assert "result" not in answer
        assert set(answer) == {"jsonrpc", "id", "error"}
