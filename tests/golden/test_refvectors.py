"""Every public golden-vector case passes through the same runner as `audiox conformance`."""

from __future__ import annotations

import pytest

from audiox.conformance.case import find_cases
from audiox.conformance.runner import run_case
from tests.conftest import REFVECTORS

CASES = find_cases(REFVECTORS / "public") if (REFVECTORS / "public").is_dir() else []


def test_cases_found():
    assert len(CASES) >= 20, f"expected the public golden vectors under {REFVECTORS / 'public'}"


@pytest.mark.parametrize("folder", CASES, ids=[c.name for c in CASES])
def test_case(folder):
    result = run_case(folder)
    details = "\n".join(c.describe() for c in result.comparisons if not c.ok)
    assert result.ok, f"{result.line()}\n{details}"
