"""expand_message_xmd against RFC 9380 Appendix K.1 (SHA-256); the FROST
hashes themselves are pinned by the RFC 9591 vectors."""

from __future__ import annotations

import pytest

from ledger.threshold.errors import InvalidParameters
from ledger.threshold.group import ORDER
from ledger.threshold.hashing import ceremony_digest, expand_message_xmd, h1, h2, h3

_DST = b"QUUX-V01-CS02-with-expander-SHA256-128"


@pytest.mark.parametrize(
    ("msg", "length", "expected"),
    [
        (b"", 0x20, "68a985b87eb6b46952128911f2a4412bbc302a9d759667f87f7a21d803f07235"),
        (b"abc", 0x20, "d8ccab23b5985ccea865c6c97b6e5b8350e794e603b4b97902f53a8a0d605615"),
        (
            b"",
            0x80,
            "af84c27ccfd45d41914fdff5df25293e221afc53d8ad2ac06d5e3e29485dadbe"
            "e0d121587713a3e0dd4d5e69e93eb7cd4f5df4cd103e188cf60cb02edc3edf18"
            "eda8576c412b18ffb658e3dd6ec849469b979d444cf7b26911a08e63cf31f9dc"
            "c541708d3491184472c2c29bb749d4286b004ceb5ee6b9a7fa5b646c993f0ced",
        ),
    ],
)
def test_expand_message_xmd_rfc9380(msg: bytes, length: int, expected: str) -> None:
    assert expand_message_xmd(msg, _DST, length).hex() == expected


def test_invalid_expand_message_parameters() -> None:
    with pytest.raises(InvalidParameters):
        expand_message_xmd(b"", b"x" * 256, 32)
    with pytest.raises(InvalidParameters):
        expand_message_xmd(b"", _DST, 256 * 32)


def test_scalar_hashes_are_domain_separated() -> None:
    values = {h1(b"m"), h2(b"m"), h3(b"m")}
    assert len(values) == 3
    assert all(0 <= v < ORDER for v in values)


def test_ceremony_digest_is_injective_on_part_boundaries() -> None:
    assert ceremony_digest(b"t", [b"ab", b"c"]) != ceremony_digest(b"t", [b"a", b"bc"])
    assert ceremony_digest(b"t", [b"ab"]) != ceremony_digest(b"u", [b"ab"])
