"""Objectives and denoiser adapters: t <-> sigma, VDenoiser scalings, RF noising / x0."""

from __future__ import annotations

import math

import torch

from audiox.diffusion.denoiser import rf_denoiser, rf_velocity, v_denoiser
from audiox.diffusion.objectives import (
    rf_noise,
    rf_target,
    rf_x0,
    sigma_to_t,
    t_to_sigma,
    v_alpha_sigma,
    v_noise,
    v_scalings,
    v_target,
)


def test_sigma_t_round_trip() -> None:
    sigma = torch.tensor([0.03, 0.3, 1.0, 80.0, 500.0], dtype=torch.float64)
    assert torch.allclose(t_to_sigma(sigma_to_t(sigma)), sigma, rtol=1e-10)
    assert math.isclose(sigma_to_t(torch.tensor(1.0)).item(), 0.5, rel_tol=1e-7)


def test_v_scalings_formula() -> None:
    s = torch.tensor([0.5, 2.0])
    c_skip, c_out, c_in = v_scalings(s)
    assert torch.allclose(c_skip, 1 / (s**2 + 1)) and torch.allclose(c_in, 1 / (s**2 + 1).sqrt())
    assert torch.allclose(c_out, -s / (s**2 + 1).sqrt())


def test_v_denoiser_recovers_x0_with_the_true_v_network() -> None:
    """The k-diffusion view x = x0 + sigma eps is the v view z = alpha x0 + sin eps scaled by 1/alpha."""
    g = torch.Generator().manual_seed(1)
    x0, eps = (
        torch.randn(2, 3, 5, generator=g, dtype=torch.float64),
        torch.randn(2, 3, 5, generator=g, dtype=torch.float64),
    )
    sigma = torch.tensor([0.7, 30.0], dtype=torch.float64)

    def true_v(z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return v_target(x0, eps, t)

    x = x0 + sigma[:, None, None] * eps
    t = sigma_to_t(sigma)
    alpha, _ = v_alpha_sigma(t)
    assert torch.allclose(x * alpha[:, None, None], v_noise(x0, eps, t))
    assert torch.allclose(v_denoiser(true_v)(x, sigma), x0, atol=1e-9)


def test_rf_noise_target_x0_consistent() -> None:
    g = torch.Generator().manual_seed(2)
    x0, eps = torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, generator=g)
    t = torch.tensor([0.25, 0.9])
    z = rf_noise(x0, eps, t)
    assert torch.allclose(rf_x0(z, rf_target(x0, eps), t), x0, atol=1e-6)
    net = lambda x, tt: rf_target(x0, eps)
    assert torch.equal(rf_velocity(net)(z, t), rf_target(x0, eps))
    assert torch.allclose(rf_denoiser(net)(z, t), x0, atol=1e-6)
