"""Per-stage case runners; each module exports CASE_KINDS."""
