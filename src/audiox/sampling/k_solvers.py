"""k-diffusion style solvers for the v objective (numerics of k-diffusion 0.1.1, our own code).

Every sampler: `sample_<algo>(denoise, x, sigmas, *, <noise args>, callback=None, disable_progress=True)`
with `denoise(x: (B, C, L), sigma: (B,)) -> x0: (B, C, L)`, `x`: (B, C, L) already scaled to sigmas[0],
`sigmas`: (n + 1,) decreasing, ending at 0. `callback` receives one dict per step
{"x", "i", "sigma", "sigma_hat", "denoised"} (the first model call of the step). Returns x: (B, C, L).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import trange

from audiox.diffusion.denoiser import Denoiser
from audiox.errors import InputError
from audiox.sampling.noise import BrownianTreeNoise, NoiseSource, as_noise_source, draw_tree_seed

Callback = Callable[[dict[str, Any]], None]


def _to_d(x: Tensor, sigma: Tensor, denoised: Tensor) -> Tensor:
    """ODE derivative dx/dsigma = (x - x0) / sigma (Karras et al. 2022, eq. 3)."""
    return (x - denoised) / sigma


def _report(callback: Callback | None, x: Tensor, i: int, sigma: Tensor, denoised: Tensor) -> None:
    if callback is not None:
        callback({"x": x, "i": i, "sigma": sigma, "sigma_hat": sigma, "denoised": denoised})


def sample_euler(
    denoise: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    callback: Callback | None = None,
    disable_progress: bool = True,
) -> Tensor:
    """Euler method on the probability-flow ODE (Karras et al. 2022, "Elucidating the Design Space of
    Diffusion-Based Generative Models", Alg. 2 without churn)."""
    ones = x.new_ones([x.shape[0]])
    for i in trange(len(sigmas) - 1, disable=disable_progress):
        denoised = denoise(x, sigmas[i] * ones)
        d = _to_d(x, sigmas[i], denoised)
        _report(callback, x, i, sigmas[i], denoised)
        x = x + d * (sigmas[i + 1] - sigmas[i])
    return x


def sample_heun(
    denoise: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    callback: Callback | None = None,
    disable_progress: bool = True,
) -> Tensor:
    """Heun's 2nd-order method (Karras et al. 2022, Alg. 2 without churn); Euler on the step to 0."""
    ones = x.new_ones([x.shape[0]])
    for i in trange(len(sigmas) - 1, disable=disable_progress):
        denoised = denoise(x, sigmas[i] * ones)
        d = _to_d(x, sigmas[i], denoised)
        _report(callback, x, i, sigmas[i], denoised)
        dt = sigmas[i + 1] - sigmas[i]
        if sigmas[i + 1] == 0:
            x = x + d * dt
        else:
            x_2 = x + d * dt
            d_2 = _to_d(x_2, sigmas[i + 1], denoise(x_2, sigmas[i + 1] * ones))
            x = x + (d + d_2) / 2 * dt
    return x


def sample_dpm_2(
    denoise: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    callback: Callback | None = None,
    disable_progress: bool = True,
) -> Tensor:
    """DPM-Solver-2 style midpoint method in log-sigma (Karras et al. 2022, "DPM2"; Lu et al. 2022)."""
    ones = x.new_ones([x.shape[0]])
    for i in trange(len(sigmas) - 1, disable=disable_progress):
        denoised = denoise(x, sigmas[i] * ones)
        d = _to_d(x, sigmas[i], denoised)
        _report(callback, x, i, sigmas[i], denoised)
        if sigmas[i + 1] == 0:
            x = x + d * (sigmas[i + 1] - sigmas[i])
        else:
            sigma_mid = sigmas[i].log().lerp(sigmas[i + 1].log(), 0.5).exp()
            x_2 = x + d * (sigma_mid - sigmas[i])
            d_2 = _to_d(x_2, sigma_mid, denoise(x_2, sigma_mid * ones))
            x = x + d_2 * (sigmas[i + 1] - sigmas[i])
    return x


def lms_coefficient(order: int, t: Sequence[float], i: int, j: int) -> float:
    """Adams-Bashforth weight of the j-th previous derivative for the step t[i] -> t[i+1]: the integral
    over [t[i], t[i+1]] of the Lagrange basis polynomial through t[i], ..., t[i-order+1] that is 1 at t[i-j].
    Exact (Gauss-Legendre, `order` <= 16) up to float64 rounding."""
    if order - 1 > i:
        raise InputError(f"LMS order {order} needs {order - 1} previous steps, only {i} exist")
    nodes, weights = np.polynomial.legendre.leggauss(8)
    a, b = float(t[i]), float(t[i + 1])
    tau = 0.5 * (b - a) * nodes + 0.5 * (a + b)
    basis = np.ones_like(tau)
    for k in range(order):
        if k != j:
            basis *= (tau - float(t[i - k])) / (float(t[i - j]) - float(t[i - k]))
    return float(0.5 * (b - a) * np.dot(weights, basis))


def sample_lms(
    denoise: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    order: int = 4,
    callback: Callback | None = None,
    disable_progress: bool = True,
) -> Tensor:
    """Linear multistep (Adams-Bashforth) on the ODE in sigma (Karras et al. 2022 / Crowson's k-diffusion
    "LMS"; coefficients by integrating the Lagrange basis, order ramping up from 1)."""
    ones = x.new_ones([x.shape[0]])
    grid = sigmas.detach().cpu().tolist()
    ds: list[Tensor] = []
    for i in trange(len(sigmas) - 1, disable=disable_progress):
        denoised = denoise(x, sigmas[i] * ones)
        ds = [*ds, _to_d(x, sigmas[i], denoised)][-order:]
        _report(callback, x, i, sigmas[i], denoised)
        cur_order = min(i + 1, order)
        coeffs = [lms_coefficient(cur_order, grid, i, j) for j in range(cur_order)]
        x = x + sum(c * d for c, d in zip(coeffs, reversed(ds)))
    return x


def ancestral_step(sigma_from: Tensor, sigma_to: Tensor, eta: float = 1.0) -> tuple[Tensor, Tensor]:
    """(sigma_down, sigma_up) of an ancestral step: deterministic step to sigma_down, then noise of std
    sigma_up so that the marginal matches sigma_to (Ho et al. 2020 / k-diffusion `get_ancestral_step`)."""
    if not eta:
        return sigma_to, torch.zeros_like(sigma_to)
    sigma_up = torch.minimum(
        sigma_to, eta * (sigma_to**2 * (sigma_from**2 - sigma_to**2) / sigma_from**2) ** 0.5
    )
    return (sigma_to**2 - sigma_up**2) ** 0.5, sigma_up


def sample_dpmpp_2s_ancestral(
    denoise: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    eta: float = 1.0,
    s_noise: float = 1.0,
    noise: NoiseSource | Sequence[Tensor] | Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    disable_progress: bool = True,
) -> Tensor:
    """Ancestral DPM-Solver++(2S) (Lu et al. 2022, "DPM-Solver++", single-step 2nd order, r = 1/2).
    `noise`: per-step noise source / recorded tensors (one per step with sigma_next > 0), else drawn from
    `generator`."""
    noise_fn = as_noise_source(noise, x, generator)
    ones = x.new_ones([x.shape[0]])
    for i in trange(len(sigmas) - 1, disable=disable_progress):
        denoised = denoise(x, sigmas[i] * ones)
        sigma_down, sigma_up = ancestral_step(sigmas[i], sigmas[i + 1], eta)
        _report(callback, x, i, sigmas[i], denoised)
        if sigma_down == 0:
            x = x + _to_d(x, sigmas[i], denoised) * (sigma_down - sigmas[i])
        else:
            t, t_next = -sigmas[i].log(), -sigma_down.log()
            h = t_next - t
            s = t + 0.5 * h
            x_2 = (s.neg().exp() / t.neg().exp()) * x - (-h * 0.5).expm1() * denoised
            denoised_2 = denoise(x_2, s.neg().exp() * ones)
            x = (t_next.neg().exp() / t.neg().exp()) * x - (-h).expm1() * denoised_2
        if sigmas[i + 1] > 0:
            x = x + noise_fn(sigmas[i], sigmas[i + 1]) * s_noise * sigma_up
    return x


def sample_dpmpp_2m(
    denoise: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    callback: Callback | None = None,
    disable_progress: bool = True,
) -> Tensor:
    """DPM-Solver++(2M), deterministic multistep 2nd order (Lu et al. 2022, "DPM-Solver++", Alg. 2)."""
    ones = x.new_ones([x.shape[0]])
    old_denoised = None
    for i in trange(len(sigmas) - 1, disable=disable_progress):
        denoised = denoise(x, sigmas[i] * ones)
        _report(callback, x, i, sigmas[i], denoised)
        t, t_next = -sigmas[i].log(), -sigmas[i + 1].log()
        h = t_next - t
        if old_denoised is not None and sigmas[i + 1] != 0:
            r = (t + sigmas[i - 1].log()) / h
            denoised_d = (1 + 1 / (2 * r)) * denoised - (1 / (2 * r)) * old_denoised
        else:
            denoised_d = denoised
        x = (t_next.neg().exp() / t.neg().exp()) * x - (-h).expm1() * denoised_d
        old_denoised = denoised
    return x


def _brownian_noise(
    noise: NoiseSource | Sequence[Tensor] | Tensor | None,
    x: Tensor,
    sigmas: Tensor,
    generator: torch.Generator | None,
) -> NoiseSource:
    """The SDE noise source: given one, else a Brownian tree over [min positive sigma, max sigma] seeded
    like k-diffusion (one `randint(0, 2**63 - 1)` from `generator`)."""
    if noise is not None:
        return as_noise_source(noise, x, generator)
    sigma_min, sigma_max = sigmas[sigmas > 0].min(), sigmas.max()
    seed = draw_tree_seed(generator)
    if sigma_min == sigma_max:  # one step straight to 0: no stochastic step ever asks for noise
        return _no_noise
    return BrownianTreeNoise(x, sigma_min, sigma_max, seed=seed)


def _no_noise(sigma: Tensor, sigma_next: Tensor) -> Tensor:
    raise InputError(f"no Brownian noise is defined between sigma {float(sigma)} and {float(sigma_next)}")


def sample_dpmpp_2m_sde(
    denoise: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    eta: float = 1.0,
    s_noise: float = 1.0,
    solver_type: str = "midpoint",
    noise: NoiseSource | Sequence[Tensor] | Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    disable_progress: bool = True,
) -> Tensor:
    """DPM-Solver++(2M) SDE (Lu et al. 2022, "DPM-Solver++"; SDE variant of k-diffusion), midpoint or
    Heun correction. `noise`: Brownian increments per step with sigma_next > 0 (recorded tensors or a
    source); default a seeded Brownian tree (seed drawn from `generator`)."""
    if solver_type not in ("heun", "midpoint"):
        raise InputError(f"solver_type must be 'heun' or 'midpoint', got {solver_type!r}")
    noise_fn = _brownian_noise(noise, x, sigmas, generator)
    ones = x.new_ones([x.shape[0]])
    old_denoised, h_last = None, None
    for i in trange(len(sigmas) - 1, disable=disable_progress):
        denoised = denoise(x, sigmas[i] * ones)
        _report(callback, x, i, sigmas[i], denoised)
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            h = sigmas[i].log() - sigmas[i + 1].log()
            eta_h = eta * h
            x = sigmas[i + 1] / sigmas[i] * (-eta_h).exp() * x + (-h - eta_h).expm1().neg() * denoised
            if old_denoised is not None:
                r = h_last / h
                if solver_type == "heun":
                    phi = (-h - eta_h).expm1().neg() / (-h - eta_h) + 1
                else:
                    phi = 0.5 * (-h - eta_h).expm1().neg()
                x = x + phi * (1 / r) * (denoised - old_denoised)
            step_noise = noise_fn(sigmas[i], sigmas[i + 1])
            x = x + step_noise * sigmas[i + 1] * (-2 * eta_h).expm1().neg().sqrt() * s_noise
            h_last = h
        old_denoised = denoised
    return x


def sample_dpmpp_3m_sde(
    denoise: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    eta: float = 1.0,
    s_noise: float = 1.0,
    noise: NoiseSource | Sequence[Tensor] | Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    disable_progress: bool = True,
) -> Tensor:
    """DPM-Solver++(3M) SDE (Lu et al. 2022, "DPM-Solver++", 3rd-order multistep; k-diffusion's SDE form).
    Noise as in `sample_dpmpp_2m_sde`. The default sampler of AudioX (architecture.md §5.2)."""
    noise_fn = _brownian_noise(noise, x, sigmas, generator)
    ones = x.new_ones([x.shape[0]])
    denoised_1 = denoised_2 = h_1 = h_2 = None
    for i in trange(len(sigmas) - 1, disable=disable_progress):
        denoised = denoise(x, sigmas[i] * ones)
        _report(callback, x, i, sigmas[i], denoised)
        h = None
        if sigmas[i + 1] == 0:
            x = denoised
        else:
            h = -sigmas[i + 1].log() - (-sigmas[i].log())
            h_eta = h * (eta + 1)
            x = torch.exp(-h_eta) * x + (-h_eta).expm1().neg() * denoised
            phi_2 = h_eta.neg().expm1() / h_eta + 1
            if h_2 is not None:
                r0, r1 = h_1 / h, h_2 / h
                d1_0 = (denoised - denoised_1) / r0
                d1_1 = (denoised_1 - denoised_2) / r1
                d1 = d1_0 + (d1_0 - d1_1) * r0 / (r0 + r1)
                d2 = (d1_0 - d1_1) / (r0 + r1)
                x = x + phi_2 * d1 - (phi_2 / h_eta - 0.5) * d2
            elif h_1 is not None:
                x = x + phi_2 * ((denoised - denoised_1) / (h_1 / h))
            if eta:
                step_noise = noise_fn(sigmas[i], sigmas[i + 1])
                x = x + step_noise * sigmas[i + 1] * (-2 * h * eta).expm1().neg().sqrt() * s_noise
        denoised_1, denoised_2 = denoised, denoised_1
        h_1, h_2 = h, h_1
    return x
