"""The JSON-RPC 2.0 rules, independent of the transport.

``Dispatcher.handle_body`` takes a request body (bytes) and returns the
response text, or None when nothing is to be sent (a notification, or a
batch of notifications only). It never raises: every failure becomes an
error response as the specification (https://www.jsonrpc.org/specification)
requires:

- invalid JSON -> one -32700 error with ``"id": null``;
- an empty array, a non-object request, a wrong ``jsonrpc`` member, a
  non-string ``method``, ``params`` that are neither array nor object, an
  ``id`` that is not a string, a finite number or null -> -32600 (the id is
  echoed when it is a valid id, else null);
- a batch larger than the limit -> one -32600 error with ``"id": null``;
- a request without an ``id`` member is a notification: it runs, and no
  response is sent, not even for an error;
- the ``id`` is echoed exactly (strings, integers of any size, null);
- a response has ``result`` or ``error``, never both.

Parameters are bound by position (array) or by name (object) against each
method's declared ``Param``s; ``null`` for an optional parameter means its
default.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ledger.exceptions import TxRejected
from ledger.rpc_errors import (
    InternalError,
    InvalidParams,
    InvalidRequest,
    MethodNotFound,
    ParseError,
    RpcError,
    StateNotAvailable,
    rpc_error_for_rejection,
)
from ledger.state_tree import StateTreeError

log = logging.getLogger("ledger.rpc.dispatch")  # the name its log lines have always carried

UNKNOWN_METHOD_LABEL: Final = "_unknown"
_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class Param:
    """One declared parameter: its name, its parser (raises InvalidParams)
    and, for an optional one, its default."""

    name: str
    parse: Callable[[Any], Any]
    required: bool = True
    default: Any = None


@dataclass(frozen=True, slots=True)
class Method:
    """A callable RPC method: ``handler(*bound_params)`` returns a JSON-ready
    value (or an awaitable of one) or raises RpcError / TxRejected /
    StateTreeError (-> state not available)."""

    name: str
    params: tuple[Param, ...]
    handler: Callable[..., Any]
    is_async: bool = False

    @classmethod
    def of(cls, name: str, handler: Callable[..., Any], *params: Param) -> Method:
        return cls(name, params, handler, inspect.iscoroutinefunction(handler))


def bind_params(method: Method, params: object) -> list[Any]:
    """The handler's arguments from a request's ``params``. Raises InvalidParams."""
    declared = method.params
    if params is _MISSING:
        params = []
    values: list[Any]
    if isinstance(params, list):
        if len(params) > len(declared):
            raise InvalidParams(
                f"{method.name} takes at most {len(declared)} parameters, got {len(params)}"
            )
        values = [*params, *[_MISSING] * (len(declared) - len(params))]
    else:
        assert isinstance(params, dict)
        unknown = sorted(set(params) - {p.name for p in declared})
        if unknown:
            raise InvalidParams(f"{method.name}: unknown parameter {unknown[0]!r}")
        values = [params.get(p.name, _MISSING) for p in declared]
    bound = []
    for param, value in zip(declared, values, strict=True):
        if value is _MISSING or (value is None and not param.required):
            if param.required:
                raise InvalidParams(f"missing parameter {param.name!r}", {"param": param.name})
            bound.append(param.default)
        else:
            bound.append(param.parse(value))
    return bound


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _valid_id(value: object) -> bool:
    if value is None or isinstance(value, str):
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def _error(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_json()}


class Dispatcher:
    """Applies the JSON-RPC 2.0 rules to request bodies over a method table."""

    def __init__(
        self,
        methods: Mapping[str, Method],
        max_batch_size: int,
        observe: Callable[[str, float], None] | None = None,
    ) -> None:
        """``observe(method, seconds)`` is called after each call (for metrics);
        unknown methods are reported as ``UNKNOWN_METHOD_LABEL``."""
        self.methods = dict(methods)
        self.max_batch_size = max_batch_size
        self._observe = observe

    async def handle_body(
        self, body: bytes | str, extra: Mapping[str, Method] | None = None
    ) -> str | None:
        """The response text for a request body, or None if no response is due.
        ``extra`` adds methods for this call only (WebSocket subscriptions)."""
        try:
            value = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError, TypeError) as exc:
            # ValueError covers bad UTF-8, bad JSON and over-long integers.
            message = str(exc) if not isinstance(exc, RecursionError) else "nesting too deep"
            return _dumps(_error(None, ParseError(data={"detail": message[:200]})))
        response = await self.handle_value(value, extra)
        return None if response is None else _dumps(response)

    async def handle_value(
        self, value: Any, extra: Mapping[str, Method] | None = None
    ) -> Any | None:
        """The response (object, array, or None) for a parsed request or batch."""
        if isinstance(value, list):
            if not value:
                return _error(None, InvalidRequest("empty batch"))
            if len(value) > self.max_batch_size:
                return _error(
                    None,
                    InvalidRequest(
                        f"batch of {len(value)} requests exceeds the limit of "
                        f"{self.max_batch_size}",
                        {"limit": self.max_batch_size},
                    ),
                )
            responses = []
            for item in value:  # in order: a batch may send nonce n, then n + 1
                response = await self.handle_request(item, extra)
                if response is not None:
                    responses.append(response)
            return responses or None
        return await self.handle_request(value, extra)

    async def handle_request(
        self, request: Any, extra: Mapping[str, Method] | None = None
    ) -> dict[str, Any] | None:
        """The response object for one request, or None for a notification."""
        if not isinstance(request, dict):
            return _error(None, InvalidRequest("a request must be an object"))
        has_id = "id" in request
        request_id = request.get("id")
        if has_id and not _valid_id(request_id):
            return _error(None, InvalidRequest("id must be a string, a number or null"))
        problem = _request_problem(request)
        if problem is not None:
            return _error(request_id, InvalidRequest(problem))
        name = request["method"]
        method = self.methods.get(name)
        if method is None and extra is not None:
            method = extra.get(name)
        started = time.perf_counter()
        try:
            if method is None:
                raise MethodNotFound(f"method {name[:100]!r} not found")
            args = bind_params(method, request.get("params", _MISSING))
            result = method.handler(*args)
            if method.is_async or inspect.isawaitable(result):
                result = await result
            response: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "result": result}
        except RpcError as exc:
            response = _error(request_id, exc)
        except TxRejected as exc:
            response = _error(request_id, rpc_error_for_rejection(exc))
        except StateTreeError as exc:
            response = _error(request_id, StateNotAvailable(str(exc)))
        except Exception:
            log.exception("method %s failed", name)
            response = _error(request_id, InternalError())
        if self._observe is not None:
            label = name if method is not None else UNKNOWN_METHOD_LABEL
            self._observe(label, time.perf_counter() - started)
        return response if has_id else None


def _request_problem(request: dict[str, Any]) -> str | None:
    if request.get("jsonrpc") != "2.0":
        return 'jsonrpc must be exactly "2.0"'
    if not isinstance(request.get("method"), str):
        return "method must be a string"
    if "params" in request and not isinstance(request["params"], list | dict):
        return "params must be an array or an object"
    return None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)
