"""hash_to_curve against RFC 9380's own secp256k1 vectors, and the
generators of the proof of shuffle."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.features.mail import hash_to_curve as h2c
from ledger.features.mail.errors import InvalidParameters
from ledger.features.mail.params import MAX_BATCH
from ledger.threshold.group import FIELD_PRIME, GENERATOR, decode_element

VECTORS = Path(__file__).parent / "vectors" / "rfc9380-secp256k1-sswu-ro.json"


def _vectors() -> dict[str, Any]:
    with VECTORS.open() as f:
        data: dict[str, Any] = json.load(f)
    return data


@pytest.mark.parametrize("index", range(5))
def test_rfc9380_secp256k1_sswu_ro_vectors(index: int) -> None:
    data = _vectors()
    vector = data["vectors"][index]
    dst, msg = data["dst"].encode(), vector["msg"].encode()
    assert h2c.hash_to_field(msg, dst) == (int(vector["u0"], 16), int(vector["u1"], 16))
    point = h2c.hash_to_curve(msg, dst)
    y = int(vector["Py"], 16)
    assert point.sec == bytes([2 | (y & 1)]) + bytes.fromhex(vector["Px"])
    assert decode_element(point.sec) == point  # on the curve


def test_all_five_rfc_cases_are_present() -> None:
    assert [v["msg"][:5] for v in _vectors()["vectors"]] == ["", "abc", "abcde", "q128_", "a512_"]


def test_generators_are_distinct_deterministic_and_not_g() -> None:
    generators = h2c.independent_generators(64)
    base = h2c.commitment_base()
    assert len(set(generators)) == 64
    assert base not in generators and GENERATOR not in generators and base != GENERATOR
    assert h2c.independent_generators(3) == generators[:3]
    for g in generators[:4]:
        assert decode_element(g.sec) == g


def test_generators_depend_on_the_domain_tag() -> None:
    msg = b"generator" + (1).to_bytes(4, "big")
    assert h2c.hash_to_curve(msg, h2c.GENERATOR_DST) == h2c.independent_generators(1)[0]
    assert h2c.hash_to_curve(msg, h2c.GENERATOR_DST + b"x") != h2c.independent_generators(1)[0]


@pytest.mark.parametrize("count", [-1, MAX_BATCH + 1])
def test_invalid_generator_counts(count: int) -> None:
    with pytest.raises(InvalidParameters):
        h2c.independent_generators(count)


def test_exceptional_swu_input_zero_maps_onto_the_curve() -> None:
    # u = 0 takes the tv1 == 0 branch of the map (x1 = B / (Z A)).
    x, y = h2c.map_to_curve_simple_swu(0)
    a = 0x3F8731ABDD661ADCA08A5558F0F5D272E953D363CB6F0E5D405447C01A444533
    p = FIELD_PRIME
    assert (y * y - (x**3 + a * x + 1771)) % p == 0
    point = h2c.iso_map(x, y)
    assert decode_element(point.sec) == point
