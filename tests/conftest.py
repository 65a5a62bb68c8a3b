"""Shared fixtures: paths to the golden vectors (test data in tests/golden/data), deterministic torch settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

# tiny model + media fixtures; fake hub cache; bitwise_runs
pytest_plugins = ["tests.tiny_pipelines", "tests.checkpoints.fake_hub", "tests.determinism"]

REPO = Path(__file__).resolve().parents[1]
# the golden vectors the tests use, copied from the reference set (layout: public/<case>/, full_size_keys/)
REFVECTORS = REPO / "tests" / "golden" / "data"


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


@pytest.fixture
def refvectors() -> Path:
    if not REFVECTORS.is_dir():
        pytest.fail(f"{REFVECTORS} not found: the golden vectors ship with the repository (tests/golden/data)")
    return REFVECTORS
