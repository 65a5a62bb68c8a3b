"""Noise-level and time grids for the samplers (all float32, decreasing, ending at 0).

* v objective (original AudioX `sample_k`): k-diffusion's polyexponential schedule (k-diffusion 0.1.1
  `get_sigmas_polyexponential`); rho = 1 (the only value AudioX uses) is log-linear.
* rectified flow (`sample_rf`): t = linspace(sigma_max, 0, steps + 1), sigma_max clamped to <= 1.
* DMD (Turbo 4-step): t = linspace(1, 0, steps + 1); the model runs at the first `steps` values.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from audiox.errors import InputError


def sigmas_polyexponential(n: int, sigma_min: float, sigma_max: float, rho: float = 1.0) -> Tensor:
    """(n + 1,) noise levels: exp(ramp * (ln sigma_max - ln sigma_min) + ln sigma_min) with
    ramp = linspace(1, 0, n) ** rho, then a final 0 (k-diffusion's polyexponential schedule)."""
    _check_steps(n)
    if not 0 < sigma_min < sigma_max:
        raise InputError(f"need 0 < sigma_min < sigma_max, got {sigma_min=}, {sigma_max=}")
    ramp = torch.linspace(1, 0, n) ** rho
    log_min = math.log(sigma_min)
    sigmas = torch.exp(ramp * (math.log(sigma_max) - log_min) + log_min)  # (n,)
    return torch.cat([sigmas, sigmas.new_zeros([1])])  # (n + 1,)


def sigmas_log_linear(n: int, sigma_min: float, sigma_max: float) -> Tensor:
    """(n + 1,) log-linear noise levels from sigma_max to sigma_min, then 0 (polyexponential, rho = 1)."""
    return sigmas_polyexponential(n, sigma_min, sigma_max, rho=1.0)


def timesteps_rectified_flow(steps: int, sigma_max: float = 1.0) -> Tensor:
    """(steps + 1,) float32 Euler grid linspace(min(sigma_max, 1), 0, steps + 1) of `sample_rf`."""
    _check_steps(steps)
    # official quirk: sample_rf clamps sigma_max to 1 (the UI passes the v-model default 500).
    return torch.linspace(min(sigma_max, 1.0), 0, steps + 1, dtype=torch.float32)


def timesteps_dmd(steps: int) -> Tensor:
    """(steps + 1,) float32 DMD grid linspace(1, 0, steps + 1) = (1, .75, .5, .25, 0) for 4 steps."""
    _check_steps(steps)
    return torch.linspace(1, 0, steps + 1, dtype=torch.float32)


def _check_steps(steps: int) -> None:
    if steps < 1:
        raise InputError(f"number of sampling steps must be >= 1, got {steps}")
