"""Golden-vector case runners for the conditioning stage (in progress)."""

from audiox.conformance.kinds import CaseKind

CASE_KINDS: dict[str, CaseKind] = {}
