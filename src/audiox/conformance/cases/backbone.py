"""Golden-vector case runners for the backbone stage (in progress)."""

from audiox.conformance.kinds import CaseKind

CASE_KINDS: dict[str, CaseKind] = {}
