"""One analyser per test session (its classifier trains in ~2 s on isolated rendered events)."""

import pytest

from audiox.evaluation.analyser import Analyser


@pytest.fixture(scope="session")
def analyser() -> Analyser:
    return Analyser.trained(seed=0, per_kind=16)
