"""Schedules: strictly decreasing, end at 0, length n + 1; official grids and quirks."""

from __future__ import annotations

import math

import pytest
import torch

from audiox.errors import InputError
from audiox.sampling.schedules import (
    sigmas_log_linear,
    sigmas_polyexponential,
    timesteps_dmd,
    timesteps_rectified_flow,
)

GRIDS = [
    lambda n: sigmas_polyexponential(n, 0.3, 500.0),
    lambda n: sigmas_polyexponential(n, 0.03, 80.0, rho=2.0),
    lambda n: sigmas_log_linear(n, 0.3, 500.0),
    lambda n: timesteps_rectified_flow(n),
    lambda n: timesteps_rectified_flow(n, sigma_max=0.7),
    timesteps_dmd,
]


@pytest.mark.parametrize("make", GRIDS)
@pytest.mark.parametrize("n", [1, 2, 5, 8, 250])
def test_schedule_shape_order_end(make, n: int) -> None:
    grid = make(n)
    assert grid.shape == (n + 1,) and grid.dtype == torch.float32
    assert grid[-1] == 0
    assert bool((grid[1:] < grid[:-1]).all())


def test_polyexponential_endpoints_and_log_linear_spacing() -> None:
    s = sigmas_polyexponential(6, 0.3, 500.0)
    assert math.isclose(s[0].item(), 500.0, rel_tol=1e-6) and math.isclose(s[-2].item(), 0.3, rel_tol=1e-6)
    ratios = s[1:-1] / s[:-2]
    assert torch.allclose(ratios, ratios[0].expand_as(ratios), rtol=1e-5)


def test_quirk_rf_sigma_max_clamped_to_one() -> None:
    """official quirk: sample_rf clamps sigma_max (the UI passes 500) to 1."""
    assert torch.equal(timesteps_rectified_flow(4, sigma_max=500.0), torch.linspace(1, 0, 5))


def test_dmd_grid_four_steps() -> None:
    assert timesteps_dmd(4).tolist() == [1.0, 0.75, 0.5, 0.25, 0.0]


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sigmas_polyexponential(0, 0.3, 500.0), "steps must be >= 1"),
        (lambda: sigmas_polyexponential(4, 500.0, 0.3), "sigma_min < sigma_max"),
        (lambda: sigmas_polyexponential(4, 0.0, 1.0), "sigma_min < sigma_max"),
        (lambda: timesteps_rectified_flow(0), "steps must be >= 1"),
        (lambda: timesteps_dmd(-1), "steps must be >= 1"),
    ],
)
def test_bad_schedule_arguments(call, message: str) -> None:
    with pytest.raises(InputError, match=message):
        call()
