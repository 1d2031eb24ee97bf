"""An independent client, written from docs/spec alone, reproduces every vector.

Nothing here imports the project's code (a test checks this module's own
imports): the canonical encoding is written out from encoding.md (msgpack
only unpacks), addresses from transactions.md and BIP-350, signatures come
from python-ecdsa's RFC 6979 signer and are checked with libsecp256k1
(coincurve), proofs are verified by the algorithm of state-proofs.md, and
receipts are rebuilt from their JSON with the event table of
transactions.md, parsed from the page itself. The vectors
(tests/vectors/*.json) are generated from the code and checked against it
by tests/ledger/test_{tx,chain}_vectors.py and
tests/ledger/features/contracts/test_contract_vectors.py; if this module
passes too, the pages say enough to write a client.

Over 600 lines for a reason: it is an independent client written from the
pages alone, kept in one file so that nothing of the node's code can leak in.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import coincurve
import msgpack
import pytest
from ecdsa import SECP256k1, SigningKey
from ecdsa.util import sigencode_string_canonize

ROOT: Final = Path(__file__).resolve().parents[2]
SPEC: Final = ROOT / "docs" / "spec"
VECTORS: Final = ROOT / "tests" / "vectors"
CURVE_ORDER: Final = SECP256k1.order


def load(name: str) -> Any:
    return json.loads((VECTORS / name).read_text())


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


# -- encoding.md ----------------------------------------------------------------------


def encode(value: Any) -> bytes:
    """The canonical encoding of encoding.md's "Values" table."""
    if value is None:
        return b"\xc0"
    if value is True or value is False:
        return b"\xc3" if value else b"\xc2"
    if isinstance(value, int):
        return _encode_int(value)
    if isinstance(value, bytes):
        return (
            _sized(len(value), ((0xFF, 0xC4, 1), (0xFFFF, 0xC5, 2), (2**32 - 1, 0xC6, 4))) + value
        )
    if isinstance(value, str):
        raw = value.encode()
        if len(raw) < 32:
            return bytes([0xA0 | len(raw)]) + raw
        return _sized(len(raw), ((0xFF, 0xD9, 1), (0xFFFF, 0xDA, 2), (2**32 - 1, 0xDB, 4))) + raw
    if isinstance(value, list | tuple):
        head = (
            bytes([0x90 | len(value)])
            if len(value) < 16
            else _sized(len(value), ((0xFFFF, 0xDC, 2), (2**32 - 1, 0xDD, 4)))
        )
        return head + b"".join(encode(item) for item in value)
    if isinstance(value, dict):
        keys = sorted(value, key=lambda k: k.encode())
        head = (
            bytes([0x80 | len(keys)])
            if len(keys) < 16
            else _sized(len(keys), ((0xFFFF, 0xDE, 2), (2**32 - 1, 0xDF, 4)))
        )
        return head + b"".join(encode(k) + encode(value[k]) for k in keys)
    raise TypeError(f"no canonical encoding for {type(value).__name__}")


def _sized(length: int, formats: tuple[tuple[int, int, int], ...]) -> bytes:
    for limit, code, size in formats:
        if length <= limit:
            return bytes([code]) + length.to_bytes(size, "big")
    raise ValueError("too long")


def _encode_int(n: int) -> bytes:
    if 0 <= n <= 127:
        return bytes([n])
    if -32 <= n < 0:
        return bytes([n & 0xFF])
    if n > 0:
        for limit, code, size in ((2**8 - 1, 0xCC, 1), (2**16 - 1, 0xCD, 2), (2**32 - 1, 0xCE, 4)):
            if n <= limit:
                return bytes([code]) + n.to_bytes(size, "big")
        if n <= 2**64 - 1:
            return b"\xcf" + n.to_bytes(8, "big")
        return _ext(1, n)
    for limit, code, size in ((-(2**7), 0xD0, 1), (-(2**15), 0xD1, 2), (-(2**31), 0xD2, 4)):
        if n >= limit:
            return bytes([code]) + n.to_bytes(size, "big", signed=True)
    if n >= -(2**63):
        return b"\xd3" + n.to_bytes(8, "big", signed=True)
    return _ext(2, -n)


def _ext(kind: int, magnitude: int) -> bytes:
    payload = magnitude.to_bytes((magnitude.bit_length() + 7) // 8, "big")
    assert len(payload) <= 32, "beyond 256 bits"
    fixed = {1: 0xD4, 2: 0xD5, 4: 0xD6, 8: 0xD7, 16: 0xD8}
    if len(payload) in fixed:
        return bytes([fixed[len(payload)], kind]) + payload
    return bytes([0xC7, len(payload), kind]) + payload


def _big_integer(kind: int, payload: bytes) -> int:
    if kind not in (1, 2) or not payload or payload[0] == 0 or len(payload) > 32:
        raise ValueError(f"not a canonical big integer: ext {kind} {payload.hex()}")
    magnitude = int.from_bytes(payload, "big")
    return magnitude if kind == 1 else -magnitude


def decode(data: bytes) -> Any:
    """Decode, then require that re-encoding gives the same bytes (encoding.md)."""
    value = msgpack.unpackb(data, raw=False, strict_map_key=True, ext_hook=_big_integer)
    assert encode(value) == data, "not canonical"
    return value


def _known_answer(text: str) -> Any:
    """A value of encoding.md's known-answer table: `0`, `2^64-1`, bytes `ab`..."""
    literal = re.findall(r"`([^`]*)`", text)[0]
    if text.startswith("bytes"):
        return literal.encode()
    if text.startswith("text"):
        return literal
    if literal.startswith("{"):
        return json.loads(literal)
    assert re.fullmatch(r"[-+()0-9^ ]+", literal), literal
    return eval(literal.replace("^", "**"))  # digits and operators only (checked above)


def test_encoding_known_answers() -> None:
    page = (SPEC / "encoding.md").read_text()
    table = page[page.index("## Known answers") :]
    rows = re.findall(r"^\| (.+?) \| `([0-9a-f]+)` \|$", table, re.M)
    assert len(rows) >= 10
    for value_text, hex_text in rows:
        value = _known_answer(value_text)
        assert encode(value).hex() == hex_text, value_text
        assert decode(bytes.fromhex(hex_text)) == value


def test_the_decoder_rejects_what_the_rules_forbid() -> None:
    for bad in ("cc05", "d90178", "c70200ff", "d70200000000000000ff", "d70201ffffffffffffff"):
        with pytest.raises((AssertionError, ValueError)):
            decode(bytes.fromhex(bad))


# -- transactions.md: addresses, signatures, transactions -----------------------------

CHARSET: Final = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M: Final = 0x2BC830A3


def _polymod(values: list[int]) -> int:
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i, generator in enumerate((0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)):
            if (top >> i) & 1:
                check ^= generator
    return check


def _hrp_values(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def address_text(address: bytes) -> str:
    assert len(address) == 20
    groups = [(int.from_bytes(address, "big") >> (5 * i)) & 31 for i in reversed(range(32))]
    check = _polymod([*_hrp_values("lg"), *groups, 0, 0, 0, 0, 0, 0]) ^ BECH32M
    checksum = [(check >> (5 * (5 - i))) & 31 for i in range(6)]
    return "lg1" + "".join(CHARSET[g] for g in groups + checksum)


def address_bytes(text: str) -> bytes:
    assert 8 <= len(text) <= 90 and text.lower() == text, "bad length or case"
    hrp, _, rest = text.rpartition("1")
    assert hrp == "lg" and len(text) == 41 and set(rest) <= set(CHARSET), "not lg1"
    data = [CHARSET.index(c) for c in rest]
    assert _polymod(_hrp_values(hrp) + data) == BECH32M, "checksum"
    value = 0
    for group in data[:-6]:
        value = value << 5 | group
    return value.to_bytes(20, "big")


def address_of(public_key: bytes) -> bytes:
    return sha256(public_key)[:20]


def public_key_of(secret: bytes) -> bytes:
    return bytes(coincurve.PrivateKey(secret).public_key.format(compressed=True))


def sign(secret: bytes, digest: bytes) -> bytes:
    """RFC 6979 (HMAC-SHA-256) ECDSA with low S, by python-ecdsa."""
    key = SigningKey.from_string(secret, curve=SECP256k1)
    signature: bytes = key.sign_digest_deterministic(
        digest, hashfunc=hashlib.sha256, sigencode=sigencode_string_canonize
    )
    return signature


def verify(public_key: bytes, digest: bytes, signature: bytes) -> bool:
    """Low-S compact ECDSA (libsecp256k1 rejects high S)."""
    assert len(signature) == 64 and int.from_bytes(signature[32:], "big") <= CURVE_ORDER // 2
    der = coincurve.ecdsa.cdata_to_der(coincurve.ecdsa.deserialize_compact(signature))
    return bool(coincurve.PublicKey(public_key).verify(der, digest, hasher=None))


def signing_digest(tag: str, chain_id: str, payload: Any) -> bytes:
    return sha256(encode([tag, chain_id, payload]))


def value_of(value: dict[str, str]) -> list[Any]:
    """A contract value from its JSON (contracts.md: [tag, bytes])."""
    if value["type"] == "int":
        n = int(value["value"])
        return [0, n.to_bytes((n.bit_length() + 7) // 8, "big")]
    return [1, bytes.fromhex(value["value"])]


def body_of(body: dict[str, Any]) -> list[Any]:
    """A transaction body from its JSON form (rpc.md), fields in the order of transactions.md."""
    kind = body["kind"]
    if kind == "transfer":
        return [1, body["asset"], int(body["amount"]), address_bytes(body["recipient"])]
    if kind == "deploy":
        schedule = body["schedule"]
        return [
            10,
            bytes.fromhex(body["module"]),
            int(body["cpu"]),
            int(body["disk"]),
            int(body["net"]),
            bytes.fromhex(body["salt"]),
            None
            if schedule is None
            else [schedule["entry"], schedule["interval"], int(schedule["gas"])],
        ]
    if kind == "call":
        return [
            11,
            address_bytes(body["contract"]),
            body["entry"],
            [value_of(a) for a in body["args"]],
            int(body["gasLimit"]),
        ]
    assert kind == "fund", kind
    return [
        12,
        address_bytes(body["contract"]),
        int(body["cpu"]),
        int(body["disk"]),
        int(body["net"]),
    ]


def check_transaction(case: dict[str, Any], body: list[Any]) -> None:
    secret = bytes.fromhex(case["secret_key"])
    public_key = public_key_of(secret)
    assert address_text(address_of(public_key)) == case["sender_address"]
    unsigned = [1, case["chain_id"], public_key, case["nonce"], int(case["fee"]), body]
    digest = signing_digest("ledger/tx/v1", case["chain_id"], unsigned)
    assert digest.hex() == case["signing_digest"]
    signature = sign(secret, digest)
    assert verify(public_key, digest, signature)
    raw = encode([*unsigned, signature])
    assert raw.hex() == case["tx"], case["description"]
    assert sha256(raw).hex() == case["hash"]
    assert decode(raw) == [*unsigned, signature]


def test_transfer_vectors() -> None:
    for case in load("transactions.json"):
        check_transaction(case, body_of(case["body"]))


def test_contract_vectors() -> None:
    for case in load("contract_transactions.json"):
        body = body_of(case["body_json"])
        assert encode(body).hex() == case["body"], case["description"]
        check_transaction(case, body)
        if body[0] == 10:
            deployer = address_bytes(case["sender_address"])
            preimage = b"ledger/contract\x00" + deployer + case["nonce"].to_bytes(8, "big")
            address = sha256(preimage + body[5])[:20]
            assert address_text(address) == case["contract_address"]


# -- genesis.md -----------------------------------------------------------------------


def genesis_hash(document: dict[str, Any]) -> bytes:
    """The genesis hash by the rules of genesis.md."""
    moment = datetime.strptime(document["genesis_time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    seconds = int((moment - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds())
    params = document.get("params", {})
    params_value = [
        int(params.get("min_fee", "1")),
        params.get("max_block_txs", 10000),
        params.get("max_block_bytes", 8388608),
        params.get("max_block_gas", 20000000),
        *(int(params.get(f"{c}_credits_per_block", "0")) for c in ("cpu", "disk", "net")),
    ]

    def balances(entry: dict[str, Any]) -> list[list[Any]]:
        pairs = sorted(entry.get("balances", {}).items(), key=lambda p: p[0].encode())
        return [[asset, int(amount)] for asset, amount in pairs if int(amount)]

    def member(text: str) -> bytes:
        return address_bytes(text) if text.startswith("lg1") else address_of(bytes.fromhex(text))

    value = [
        document["chain_id"],
        seconds * 1000,
        params_value,
        [[v["name"], bytes.fromhex(v["public_key"]), v["power"]] for v in document["validators"]],
        [
            [a.get("name", "account"), address_bytes(a["address"]), balances(a)]
            for a in document["accounts"]
        ],
        [
            [
                p["name"],
                sorted(member(m) for m in p["members"]),
                p["threshold"],
                balances(p),
                p.get("governance", False),
            ]
            for p in document.get("policies", [])
        ],
    ]
    encoders = {"mail": mail_section, "mint": mint_section}
    sections = [
        [name, encoders[name](document[name])] for name in sorted(encoders) if name in document
    ]
    if sections:
        value += [document.get("threshold_key", False), sections]
    elif document.get("threshold_key", False):
        value.append(True)
    return sha256(encode(value))


def mail_section(mail: dict[str, Any]) -> list[Any]:
    """genesis.md's mail section as its value (defaults filled in)."""
    defaults = {
        "cell_width": 8,
        "batch_cells": 16,
        "batch_blocks": 20,
        "shuffle_timeout_blocks": 4,
        "decryption_timeout_blocks": 100,
        "retention_blocks": 1000,
        "gas_per_term": 1000,
        "max_batches_in_flight": 4,
        "mailbox_capacity": 256,
    }
    return [mail.get(name, default) for name, default in defaults.items()]


def mint_section(mint: dict[str, Any]) -> list[Any]:
    """genesis.md's mint section as its value (defaults filled in)."""
    defaults = {
        "asset": "coin",
        "unit": "coin",
        "max_exponent": 20,
        "issue_timeout_blocks": 40,
        "round_blocks": 8,
        "lock_window_blocks": 1,
        "reveal_blocks": 20,
        "keyset_grace_blocks": 100000,
    }
    return [mint.get(name, default) for name, default in defaults.items()]


def test_genesis_hash_of_the_devnet() -> None:
    blocks = load("blocks.json")
    devnet = json.loads((ROOT / "genesis" / "devnet.json").read_text())
    assert devnet == blocks["genesis"]
    assert genesis_hash(devnet).hex() == blocks["genesisHash"]
    assert blocks["blocks"][0]["rpc"]["prevHash"] == blocks["genesisHash"]
    reordered = dict(reversed(list(devnet.items())))
    for account in reordered["accounts"]:
        account["balances"] = dict(reversed(list(account["balances"].items())))
    assert genesis_hash(reordered).hex() == blocks["genesisHash"]


def test_devnet_keys() -> None:
    keys = {case["label"]: case for case in load("devnet_keys.json")}
    for label, case in keys.items():
        secret = sha256(b"ledger insecure devnet key:" + label.encode())
        assert secret.hex() == case["secret_key"]
        assert public_key_of(secret).hex() == case["public_key"]
        assert address_text(address_of(public_key_of(secret))) == case["address"]
    devnet = json.loads((ROOT / "genesis" / "devnet.json").read_text())
    for index, validator in enumerate(devnet["validators"]):
        assert keys[f"validator/{index}"]["public_key"] == validator["public_key"]
    for account in devnet["accounts"]:
        label = f"account/{account['name']}"
        if label in keys:
            assert keys[label]["address"] == account["address"]


# -- transactions.md: blocks, certificates, receipts, events --------------------------


def merkle_root(hashes: list[bytes]) -> bytes:
    if not hashes:
        return bytes(32)
    level = [sha256(b"\x00" + h) for h in hashes]
    while len(level) > 1:
        paired = [sha256(b"\x01" + level[i] + level[i + 1]) for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    return level[0]


def as_bytes(text: str) -> bytes:
    """A `bytes` value over JSON: an address, or hex."""
    return address_bytes(text) if text.startswith("lg1") else bytes.fromhex(text)


TYPES: Final[dict[str, Callable[[Any], Any]]] = {
    "int": int,
    "text": str,
    "address": address_bytes,
    "bytes": as_bytes,
    "[[text, int], ...]": lambda pairs: [[asset, int(n)] for asset, n in pairs],
    "[[int, bytes], ...]": lambda pairs: [[int(tag), as_bytes(p)] for tag, p in pairs],
}


def event_types() -> dict[str, dict[str, str]]:
    """transactions.md's event table: kind -> attribute -> type."""
    page = (SPEC / "transactions.md").read_text()
    table = page[page.index("| event | where, and what emits it |") :].split("\n\n")[0]
    pattern = "|".join(re.escape(t) for t in TYPES)
    out = {}
    for row in table.splitlines()[2:]:
        cells = [c.strip() for c in row.strip("|").split(" | ")]
        kind = cells[0].strip("`")
        out[kind] = dict(re.findall(rf"`(\w+)` ({pattern})(?:,|$)", cells[2]))
        assert out[kind], row
    return out


def typed_event(event: dict[str, Any], types: dict[str, dict[str, str]]) -> list[Any]:
    kinds = types[event["kind"]]
    attributes = event["attributes"]
    assert set(attributes) == set(kinds), event["kind"]
    keys = sorted(attributes, key=lambda k: k.encode())
    return [event["kind"], [[k, TYPES[kinds[k]](attributes[k])] for k in keys]]


def typed_receipt(receipt: dict[str, Any], types: dict[str, dict[str, str]]) -> list[Any]:
    assert receipt["success"] == (receipt["status"] == 0)
    return [
        receipt["status"],
        int(receipt["feeCharged"]),
        int(receipt["gasUsed"]),
        [typed_event(e, types) for e in receipt["events"]],
        receipt["error"],
    ]


def header_of(block: dict[str, Any]) -> list[Any]:
    """rpc.md, "From JSON to the hashed header"."""
    return [
        block["version"],
        block["chainId"],
        block["height"],
        block["timeMs"],
        bytes.fromhex(block["prevHash"]),
        bytes.fromhex(block["lastCommitHash"]),
        bytes.fromhex(block["txsRoot"]),
        bytes.fromhex(block["receiptsRoot"]),
        bytes.fromhex(block["stateRoot"]),
        address_bytes(block["proposer"]),
    ]


def check_certificate(case: dict[str, Any], chain_id: str) -> None:
    """The block's last_commit certifies its parent with +2/3 of the parent's set."""
    block = case["rpc"]
    raw = bytes.fromhex(block["lastCommit"])
    height, round_, block_hash, signatures = decode(raw)
    assert height == block["height"] - 1 and block_hash.hex() == block["prevHash"]
    digest = signing_digest("ledger/precommit/v1", chain_id, [height, round_, block_hash])
    assert digest.hex() == case["lastCommit"]["precommitDigest"]
    validator_set = case["lastCommit"]["validatorSet"]
    members = {
        address_of(bytes.fromhex(v["publicKey"])): (bytes.fromhex(v["publicKey"]), int(v["power"]))
        for v in validator_set["validators"]
    }
    signers = [address for address, _ in signatures]
    assert signers == sorted(set(signers)), "signers strictly ascending"
    power = 0
    for address, signature in signatures:
        public_key, weight = members[address]
        assert verify(public_key, digest, signature)
        power += weight
    assert 3 * power > 2 * sum(weight for _, weight in members.values())


def test_blocks_receipts_and_events() -> None:
    types = event_types()
    assert len(types) >= 47
    seen: set[str] = set()
    for name in ("blocks.json", "mint_blocks.json", "mail_blocks.json"):
        data = load(name)
        assert genesis_hash(data["genesis"]).hex() == data["genesisHash"]
        seen |= check_blocks(data, types)
    assert seen == set(types), "the table and the vectors name the same event kinds"


def check_blocks(data: dict[str, Any], types: dict[str, dict[str, str]]) -> set[str]:
    """Every block of a blocks file hashes, certifies and rebuilds its
    receipts and events; returns the event kinds seen."""
    seen: set[str] = set()
    hashes: dict[int, str] = {}
    for case in data["blocks"]:
        block = case["rpc"]
        header = header_of(block)
        assert encode(header).hex() == case["header"]
        assert sha256(encode(header)).hex() == block["hash"]
        stored_header, transactions, last_commit = decode(bytes.fromhex(case["block"]))
        assert stored_header == header and last_commit.hex() == block["lastCommit"]
        assert sha256(last_commit).hex() == block["lastCommitHash"]
        tx_hashes = [sha256(tx) for tx in transactions]
        assert [h.hex() for h in tx_hashes] == [t["hash"] for t in block["transactions"]]
        assert merkle_root(tx_hashes).hex() == block["txsRoot"]
        receipts = []
        for receipt in case["receipts"]:
            typed = encode(typed_receipt(receipt["rpc"], types))
            assert typed.hex() == receipt["typed"]
            assert sha256(typed).hex() == receipt["hash"]
            receipts.append(sha256(typed))
            seen.update(e["kind"] for e in receipt["rpc"]["events"])
        assert merkle_root(receipts).hex() == block["receiptsRoot"]
        events = case["blockEvents"]["rpc"]["events"]
        typed_events = [encode(typed_event(e, types)).hex() for e in events]
        assert typed_events == case["blockEvents"]["typed"]
        seen.update(e["kind"] for e in events)
        if block["height"] == 1:
            assert last_commit == b"" and block["prevHash"] == data["genesisHash"]
        else:
            check_certificate(case, data["chainId"])
        if block["height"] - 1 in hashes:
            assert block["prevHash"] == hashes[block["height"] - 1]
        hashes[block["height"]] = block["hash"]
    return seen


# -- state-proofs.md ------------------------------------------------------------------


def nibble(key: bytes, depth: int) -> int:
    return key[depth // 2] >> 4 if depth % 2 == 0 else key[depth // 2] & 15


def verify_proof(root: bytes, key: bytes, value: bytes | None, proof: bytes) -> bool:
    """state-proofs.md, "Verification", on the strictly decoded proof."""
    siblings, other_leaf = decode(proof)
    assert len(siblings) <= 64 and all(len(level) == 480 for level in siblings)
    depth = len(siblings)
    if value is not None:
        if other_leaf is not None:
            return False
        node = sha256(b"\x00" + key + sha256(value))
    elif other_leaf is None:
        node = bytes(32)
    else:
        other_key, value_hash = other_leaf
        if other_key == key or any(nibble(other_key, d) != nibble(key, d) for d in range(depth)):
            return False
        node = sha256(b"\x00" + other_key + value_hash)
    for d in reversed(range(depth)):
        cut = 32 * nibble(key, d)
        node = sha256(b"\x01" + siblings[d][:cut] + node + siblings[d][cut:])
    return node == root


def trusted_roots() -> dict[int, bytes]:
    """State roots of the headers of blocks.json (test_blocks_receipts_and_events
    checks their hashes and certificates)."""
    return {
        case["height"]: bytes.fromhex(case["rpc"]["stateRoot"])
        for case in load("blocks.json")["blocks"]
    }


def test_state_proofs() -> None:
    roots = trusted_roots()
    proofs = load("state_proofs.json")["proofs"]
    assert {p["rpc"]["value"] is None for p in proofs} == {True, False}
    for case in proofs:
        answer = case["rpc"]
        address = address_bytes(answer["address"])
        state_key = b"a" + address
        key = sha256(state_key)
        assert (state_key.hex(), key.hex()) == (case["stateKey"], case["treeKey"])
        assert key.hex() == answer["key"]
        root = roots[answer["height"]]
        value = bytes.fromhex(answer["value"]) if answer["value"] is not None else None
        proof = bytes.fromhex(answer["proof"])
        assert verify_proof(root, key, value, proof), case["description"]
        assert not verify_proof(bytes(32), key, value, proof)
        if value is None:
            assert case["decodedValue"] is None
            continue
        assert not verify_proof(root, key, value + b"\x00", proof)
        nonce, balances = decode(value)
        assert [a.encode() for a, _ in balances] == sorted({a.encode() for a, _ in balances})
        assert all(amount > 0 for _, amount in balances)
        assert [str(nonce), [[a, str(n)] for a, n in balances]] == case["decodedValue"]
        assert answer["account"]["nonce"] == str(nonce)
        assert answer["account"]["balances"] == {a: str(n) for a, n in balances}


def rpc_example() -> str:
    """The Python block of rpc.md's ledger_getProof section."""
    page = (SPEC / "rpc.md").read_text()
    section = page[page.index("### `ledger_getProof(") :]
    start = section.index("```python\n") + len("```python\n")
    return section[start : section.index("\n```\n", start)]


def test_the_rpc_verification_example_runs_on_the_vectors() -> None:
    code = compile(rpc_example(), "docs/spec/rpc.md", "exec")
    roots = trusted_roots()
    for case in load("state_proofs.json")["proofs"]:
        answer = case["rpc"]
        scope: dict[str, Any] = {"answer": answer, "trusted_state_root": roots[answer["height"]]}
        exec(code, scope)
        assert scope["key"].hex() == answer["key"]
        if case["decodedValue"] is not None:
            nonce, balances = scope["nonce"], scope["balances"]
            assert [str(nonce), [[a, str(n)] for a, n in balances]] == case["decodedValue"]
        forged = {"answer": answer, "trusted_state_root": bytes(32)}
        with pytest.raises(AssertionError):
            exec(code, forged)


def test_this_client_uses_nothing_of_the_project() -> None:
    tree = ast.parse(Path(__file__).read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add((node.module or "").split(".")[0])
    assert not imported & {"ledger", "consensus", "vm", "cli", "tests", "bench", ""}
    example = ast.parse(rpc_example())
    modules = {
        alias.name
        for node in ast.walk(example)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert modules == {"hashlib", "msgpack"}
    assert not any(isinstance(node, ast.ImportFrom) for node in ast.walk(example))
