"""Evidence's entry in the registry: recording a validator's equivocation."""

from __future__ import annotations

from ledger.features.evidence.bodies import RecordEvidence
from ledger.features.evidence.equivocation import execute_record_evidence
from ledger.registry import BodyKind, Feature

FEATURE = Feature(
    name="evidence",
    body_kinds=(BodyKind(RecordEvidence, execute_record_evidence),),
)
