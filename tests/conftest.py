"""Shared fixtures: paths to the golden vectors beside the checkout, deterministic torch settings."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

pytest_plugins = ["tests.tiny_pipelines", "tests.checkpoints.fake_hub"]  # tiny model + media; fake hub cache

REPO = Path(__file__).resolve().parents[1]
REFVECTORS = REPO.parent / "shared" / "refvectors"


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


@pytest.fixture
def refvectors() -> Path:
    if not REFVECTORS.is_dir():
        pytest.fail(f"{REFVECTORS} not found: the golden vectors must sit beside the checkout in ../shared")
    return REFVECTORS
