"""docs/rpc/openrpc.json describes exactly the implemented methods and their parameters."""

from __future__ import annotations

from typing import Any

from consensus.node.rpc.methods import load_openrpc_document

from .server_thread import ServerThread


def test_openrpc_lists_exactly_the_methods_and_params(served: ServerThread) -> None:
    document = load_openrpc_document()
    described = {m["name"]: m for m in document["methods"]}
    implemented = served.server.dispatcher.methods
    assert set(described) == set(implemented)
    for name, method in implemented.items():
        params: list[dict[str, Any]] = described[name]["params"]
        assert [p["name"] for p in params] == [p.name for p in method.params], name
        assert [p["required"] for p in params] == [p.required for p in method.params], name
        assert "result" in described[name]


def test_error_components_match_the_codes() -> None:
    from ledger import rpc_errors as errors

    document = load_openrpc_document()
    for name, error in document["components"]["errors"].items():
        cls = errors.error_from_response({"code": error["code"], "message": "m"})
        assert type(cls).__name__.removesuffix("Error") == name.removesuffix("Error")


def test_discover_serves_the_document(served: ServerThread) -> None:
    _, answer = served.post({"jsonrpc": "2.0", "id": 1, "method": "rpc.discover"})
    assert answer["result"] == load_openrpc_document()
