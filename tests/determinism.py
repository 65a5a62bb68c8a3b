"""`bitwise_runs`: for tests that compare the bits of two runs (a model and its reloaded copy, a training
run and its resumed continuation). Registered as a pytest plugin by tests/conftest.py.

Both runs of such a test must take the same kernels with the same work split: the test runs with one
intra-op thread and `torch.use_deterministic_algorithms(True)` (a nondeterministic kernel raises instead of
varying), and the previous settings are restored afterwards, so no test changes another's threads.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def bitwise_runs():
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
