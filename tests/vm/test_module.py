"""The module format: canonical encoding, strict decoding, fuzzing."""

from __future__ import annotations

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hypothesis_profiles import examples
from vm.assembler import assemble
from vm.errors import ModuleDecodeError, ModuleError
from vm.limits import MAX_MODULE_BYTES
from vm.module import FunctionSpec, Module, decode_module, encode_module
from vm.validator import load_program
from vm.values import ValueType

TEXT = """
.memory 3
.entry main int bytes -> int
    PUSH 100000
    POP
    PUSH "hello"
    CONCAT
    LEN
    ADD
    RET
.func spare -> bytes
    PUSH x"00ff"
    RET
.export other
"""


def sample() -> Module:
    return assemble(TEXT)


def test_round_trip() -> None:
    module = sample()
    data = encode_module(module)
    assert decode_module(data) == module
    assert load_program(data).module == module


def test_encoding_is_byte_exact() -> None:
    module = Module(
        version=1,
        code=bytes([0x11, 0x00, 0x05]),
        constants=(0, 256, b"a"),
        functions=(FunctionSpec(0, (ValueType.BYTES,), (ValueType.INT,)),),
        entry_points=(("main", 0),),
        memory_cells=2,
    )
    expected = bytes.fromhex(
        "96"  # array of 6
        "01"  # version 1
        "c403110005"  # bin8 code
        "93"
        "9200c400"
        "9200c4020100"
        "9201c40161"  # constants: 0, 256, b"a"
        "91"
        "9300"
        "a162"
        "a169"  # functions: [0, "b", "i"]
        "91"
        "92a46d61696e00"  # entry points: [["main", 0]]
        "02"  # memory cells
    )
    assert encode_module(module) == expected
    assert decode_module(expected) == module


def _pack(obj: object) -> bytes:
    packed: bytes = msgpack.packb(obj, use_bin_type=True)
    return packed


def _fields() -> list[object]:
    return [1, b"\x11\x00\x05", [], [[0, "", "i"]], [["main", 0]], 0]


def _replace(index: int, value: object) -> bytes:
    fields = _fields()
    fields[index] = value
    return _pack(fields)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not valid msgpack"),
        (b"\xc1", "not valid msgpack"),
        (_pack(_fields()) + b"\x00", "trailing bytes"),
        (_pack(_fields()[:5]), "must have 6 items"),
        (_pack({"version": 1}), "not valid msgpack"),
        (_replace(0, 2), "unsupported module version 2"),
        (_replace(0, 1.0), "version must be a non-negative integer"),
        (_replace(0, -1), "version must be a non-negative integer"),
        (_replace(1, "code"), "code must be bytes"),
        (_replace(2, [[0, b"\x00\x01"]]), "minimal big-endian"),
        (_replace(2, [[0, b"\x01" * 33]]), "at most 32 bytes"),
        (_replace(2, [[2, b""]]), "unknown value tag"),
        (_replace(2, [1.5]), "constant 0"),
        (_replace(3, [[0, "x", "i"]]), "unknown type letter 'x'"),
        (_replace(3, [[0, b"i", "i"]]), "string of type letters"),
        (_replace(4, [[b"main", 0]]), "name must be a string"),
        (_replace(5, True), "memory_cells must be a non-negative integer"),
        (b"\xd7\xff" + b"\x00" * 8, "not valid msgpack"),
        (bytes(MAX_MODULE_BYTES + 1), "limit"),
    ],
)
def test_invalid_module_bytes(data: bytes, message: str) -> None:
    with pytest.raises(ModuleDecodeError, match=message):
        decode_module(data)


def test_invalid_non_canonical_integer() -> None:
    canonical = _pack(_fields())
    assert canonical[1:2] == b"\x01"
    widened = canonical[:1] + b"\xcc\x01" + canonical[2:]  # 1 as uint8
    with pytest.raises(ModuleDecodeError, match="canonical"):
        decode_module(widened)


def test_invalid_non_canonical_string_type() -> None:
    fields = _fields()
    canonical = _pack(fields)
    legacy: bytes = msgpack.packb(fields, use_bin_type=False)  # bin as raw str
    assert legacy != canonical
    with pytest.raises(ModuleDecodeError):
        decode_module(legacy)


def test_invalid_data_type() -> None:
    with pytest.raises(ModuleDecodeError, match="must be bytes"):
        decode_module(bytearray(_pack(_fields())))  # type: ignore[arg-type]


@settings(max_examples=examples(400), deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_raise_only_typed_errors(data: bytes) -> None:
    _assert_refused_or_canonical(data)


def _assert_refused_or_canonical(data: bytes) -> None:
    """ModuleError, or a module whose encoding is exactly ``data``."""
    try:
        program = load_program(data)
    except ModuleError:
        return
    assert encode_module(program.module) == data


@settings(max_examples=examples(400), deadline=None)
@given(st.data())
def test_fuzz_mutated_modules_raise_only_typed_errors(data: st.DataObject) -> None:
    encoded = bytearray(encode_module(sample()))
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(encoded) - 1))
        encoded[position] = data.draw(st.integers(0, 255))
    try:
        program = load_program(bytes(encoded))
    except ModuleError:
        return
    assert encode_module(program.module) == bytes(encoded)


@settings(max_examples=examples(200), deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.binary() | st.text(),
        lambda children: st.lists(children, max_size=6),
        max_leaves=20,
    )
)
def test_fuzz_random_msgpack_trees_raise_only_typed_errors(tree: object) -> None:
    try:
        data: bytes = msgpack.packb(tree, use_bin_type=True)
    except (OverflowError, ValueError):
        return  # integers msgpack cannot hold
    _assert_refused_or_canonical(data)
