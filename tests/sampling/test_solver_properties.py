"""Sampler properties: point-mass data is recovered exactly, seeds are reproducible, batch items are
independent, LMS weights match closed forms, official quirks of the table."""

from __future__ import annotations

import pytest
import torch

from audiox.errors import InputError
from audiox.sampling import SAMPLERS
from audiox.sampling.k_solvers import lms_coefficient
from audiox.sampling.schedules import sigmas_polyexponential, timesteps_dmd, timesteps_rectified_flow

V_SAMPLERS = [name for name in SAMPLERS if name not in ("rf-euler", "dmd")]
STOCHASTIC = {"dpmpp-3m-sde", "dpmpp-2m-sde", "k-dpmpp-2s-ancestral"}
ENDS_AT_SIGMA_MIN = {"k-dpm-fast", "k-dpm-adaptive"}


def _data(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(2, 3, 7, generator=g), torch.randn(2, 3, 7, generator=g)


def _nonlinear_denoiser(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    return torch.tanh(x.flip(1) / (1 + sigma[:, None, None])) * 2 + 0.1 * x / (1 + sigma[:, None, None] ** 2)


def _run(name: str, denoise, x: torch.Tensor, sigmas: torch.Tensor, seed: int = 5) -> torch.Tensor:
    kwargs = {"generator": torch.Generator().manual_seed(seed)} if name in STOCHASTIC else {}
    return SAMPLERS[name](denoise, x, sigmas, **kwargs)


@pytest.mark.parametrize("name", V_SAMPLERS)
def test_point_mass_is_recovered(name: str) -> None:
    """For data = one point x0 the exact denoiser is constant; every sampler ends at x0 (the DPM-Solver
    ones integrate only down to sigma_min, where the exact ODE solution is x0 + sigma_min * eps)."""
    x0, eps = _data()
    sigmas = sigmas_polyexponential(8, 0.3, 500.0)
    out = _run(name, lambda x, sigma: x0.clone(), x0 + sigmas[0] * eps, sigmas)
    expected = x0 + sigmas[-2] * eps if name in ENDS_AT_SIGMA_MIN else x0
    assert torch.allclose(out, expected, atol=1e-4)


@pytest.mark.parametrize("name", V_SAMPLERS)
def test_same_seed_bitwise_identical_and_batch_independent(name: str) -> None:
    _, eps = _data(3)
    sigmas = sigmas_polyexponential(6, 0.3, 50.0)
    x = eps * sigmas[0]
    a, b = _run(name, _nonlinear_denoiser, x, sigmas), _run(name, _nonlinear_denoiser, x, sigmas)
    assert torch.equal(a, b)
    if name not in STOCHASTIC | {"k-dpm-adaptive"}:  # noise / error norm couple the batch items
        single = torch.cat([_run(name, _nonlinear_denoiser, x[i : i + 1], sigmas) for i in range(2)])
        assert torch.allclose(single, a, atol=1e-5)


@pytest.mark.parametrize("name", sorted(STOCHASTIC))
def test_stochastic_samplers_need_explicit_randomness(name: str) -> None:
    _, eps = _data()
    sigmas = sigmas_polyexponential(4, 0.3, 50.0)
    with pytest.raises(InputError, match="generator"):
        SAMPLERS[name](_nonlinear_denoiser, eps * sigmas[0], sigmas)
    other = _run(name, _nonlinear_denoiser, eps * sigmas[0], sigmas, seed=6)
    assert not torch.equal(_run(name, _nonlinear_denoiser, eps * sigmas[0], sigmas, seed=5), other)


@pytest.mark.parametrize("name", sorted(STOCHASTIC))
def test_recorded_noise_replay_equals_a_recording_source(name: str) -> None:
    """Recording what a noise source hands out, then replaying it as tensors, gives the same result."""
    _, eps = _data()
    sigmas = sigmas_polyexponential(5, 0.3, 50.0)
    g, seen = torch.Generator().manual_seed(9), []

    def source(sigma: torch.Tensor, sigma_next: torch.Tensor) -> torch.Tensor:
        seen.append(torch.randn(eps.shape, generator=g))
        return seen[-1]

    a = SAMPLERS[name](_nonlinear_denoiser, eps * sigmas[0], sigmas, noise=source)
    assert len(seen) == 4  # one draw per step with sigma_next > 0
    assert torch.equal(SAMPLERS[name](_nonlinear_denoiser, eps * sigmas[0], sigmas, noise=seen), a)
    with pytest.raises(InputError, match="exhausted"):
        SAMPLERS[name](_nonlinear_denoiser, eps * sigmas[0], sigmas, noise=seen[:2])


def test_lms_coefficients_closed_forms() -> None:
    t = [10.0, 4.0, 1.5, 0.5, 0.0]
    assert lms_coefficient(1, t, 0, 0) == pytest.approx(t[1] - t[0], abs=1e-12)
    i, (a, b, c) = 1, (t[0], t[1], t[2])  # order 2 through (b, a), step b -> c
    assert lms_coefficient(2, t, i, 0) == pytest.approx(
        ((c - a) ** 2 - (b - a) ** 2) / (2 * (b - a)), abs=1e-12
    )
    assert lms_coefficient(2, t, i, 1) == pytest.approx((c - b) ** 2 / (2 * (a - b)), abs=1e-12)
    for order in (1, 2, 3, 4):  # the weights integrate the constant 1 exactly: they sum to the step
        assert sum(lms_coefficient(order, t, 3, j) for j in range(order)) == pytest.approx(
            t[4] - t[3], abs=1e-12
        )
    with pytest.raises(InputError, match="previous steps"):
        lms_coefficient(3, t, 1, 0)


def test_quirk_dpm_adaptive_official_tolerances() -> None:
    """official quirk: AudioX's sample_k runs k-dpm-adaptive with rtol = atol = 0.01 (not 0.05 / 0.0078)."""
    assert SAMPLERS["k-dpm-adaptive"].keywords == {"rtol": 0.01, "atol": 0.01}


def test_dpm_fast_calls_and_callbacks() -> None:
    _, eps = _data()
    for nfe, n_steps in ((6, 3), (7, 3), (5, 2)):
        sigmas, calls, steps = sigmas_polyexponential(nfe, 0.3, 50.0), [], []

        def zero(x: torch.Tensor, sigma: torch.Tensor, calls: list = calls) -> torch.Tensor:
            calls.append(1)
            return x * 0

        SAMPLERS["k-dpm-fast"](zero, eps, sigmas, callback=steps.append)
        assert (len(calls), len(steps)) == (nfe, n_steps)


def test_rf_euler_exact_on_linear_path() -> None:
    x0, eps = _data()
    ts = timesteps_rectified_flow(7)
    out = SAMPLERS["rf-euler"](lambda z, t: eps - x0, eps, ts)  # constant velocity: straight line
    assert torch.allclose(out, x0, atol=1e-5)
    out = SAMPLERS["rf-euler"](lambda z, t: (z - x0) / t[:, None, None], eps, ts)  # point-mass velocity
    assert torch.allclose(out, x0, atol=1e-5)


def test_dmd_point_mass_and_noise_injection() -> None:
    x0, eps = _data()
    ts = timesteps_dmd(4)
    point_mass = lambda z, t: (z - x0) / t[:, None, None]
    out = SAMPLERS["dmd"](point_mass, eps, ts, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(out, x0, atol=1e-5)
    g = torch.Generator().manual_seed(4)
    net = lambda z, t: torch.tanh(z) * t[:, None, None]
    drawn = SAMPLERS["dmd"](net, eps, ts, generator=g)
    g = torch.Generator().manual_seed(4)
    recorded = [torch.randn(eps.shape, generator=g) for _ in range(3)]
    assert torch.equal(SAMPLERS["dmd"](net, eps, ts, noise=recorded), drawn)


def test_quirk_dmd_fresh_noise_each_step() -> None:
    """official quirk: DMD re-noises with a fresh draw each step, so different draws change the result."""
    _, eps = _data()
    ts = timesteps_dmd(4)
    net = lambda z, t: torch.tanh(z)
    a = SAMPLERS["dmd"](net, eps, ts, noise=[eps, eps, eps])
    b = SAMPLERS["dmd"](net, eps, ts, noise=[eps, -eps, eps])
    assert not torch.equal(a, b)
