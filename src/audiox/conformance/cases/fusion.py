"""Golden-vector case runners for the fusion stage (in progress)."""

from audiox.conformance.kinds import CaseKind

CASE_KINDS: dict[str, CaseKind] = {}
