"""The JSON forms the RPC API's server and the features share.

Conventions (docs/adr/0007-json-rpc-conventions.md): amounts, nonces, fees
and gas are decimal strings; heights, indexes and counts are JSON integers;
byte strings are lowercase hex without ``0x``; addresses are bech32m text
(``lg1...``); field names are camelCase. A transaction body renders as the
form its kind registers (ledger.registry.BodyKind.json), or as its fields.
"""

from __future__ import annotations

from typing import Any

from ledger.address import ADDRESS_SIZE, encode_address
from ledger.registry import RULES
from ledger.types import Body


def hex_bytes(data: bytes) -> str:
    return data.hex()


def amount_text(value: int) -> str:
    return str(value)


def body_json(body: Body) -> dict[str, Any]:
    """The body as the object its kind's registered form gives; a kind without
    one as ``{"fields": [...]}``."""
    kind = RULES.kinds.get(body.KIND)
    if kind is not None and kind.json is not None:
        return kind.json(body)
    return {"fields": [value_json(item) for item in body.to_fields()]}


def value_json(value: object) -> Any:
    """A generic ledger value as JSON: ints as decimal strings, bytes as hex
    (20-byte values as addresses), arrays as lists."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        return encode_address(value) if len(value) == ADDRESS_SIZE else value.hex()
    if isinstance(value, tuple | list):
        return [value_json(item) for item in value]
    if isinstance(value, dict):
        return {str(k): value_json(v) for k, v in value.items()}
    return str(value)
