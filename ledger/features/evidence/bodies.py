"""The ``record_evidence`` body (kind 2); its rules are in ledger.features.evidence.equivocation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Final

from ledger.fields import check_bytes, ensure

MAX_EVIDENCE_SIZE: Final = 4096


@dataclass(frozen=True, slots=True)
class RecordEvidence:
    """Submit proof that a validator equivocated."""

    KIND: ClassVar[int] = 2
    NAME: ClassVar[str] = "record_evidence"
    evidence: bytes

    def to_fields(self) -> tuple[Any, ...]:
        return (self.evidence,)

    @classmethod
    def from_fields(cls, fields: tuple[Any, ...]) -> RecordEvidence:
        ensure(len(fields) == 1, "record_evidence has 1 field")
        return cls(check_bytes(fields[0], "evidence", max_size=MAX_EVIDENCE_SIZE))
