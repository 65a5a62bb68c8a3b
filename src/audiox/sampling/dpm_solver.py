"""DPM-Solver (Lu et al. 2022, "DPM-Solver: A Fast ODE Solver for Diffusion Probabilistic Model Sampling
in Around 10 Steps"): fixed-step "DPM-Solver-fast" (orders 3..., 2, 1) and the adaptive-step solver
(embedded orders 2/3 with a PID step-size controller), in k-diffusion 0.1.1 numerics (our own code).

Time variable t = -log(sigma); the network is used in eps form eps = (x - denoise(x, sigma)) / sigma.
Only sigma_min / sigma_max of `sigmas` are used (the schedule is the solver's own): x: (B, C, L) at
sigma_max, `denoise(x, sigma: (B,)) -> (B, C, L)`. `eta` > 0 (ancestral noise) is not implemented:
AudioX calls both with eta = 0.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from tqdm.auto import tqdm

from audiox.diffusion.denoiser import Denoiser
from audiox.errors import InputError
from audiox.sampling.k_solvers import Callback


class _EpsModel:
    """eps(x, t) with a per-step cache (the first stage of a step is shared by the embedded pair)."""

    def __init__(self, denoise: Denoiser, x: Tensor) -> None:
        self.denoise, self.ones, self.cache = denoise, x.new_ones([x.shape[0]]), {}

    def __call__(self, key: str, x: Tensor, t: Tensor) -> Tensor:
        if key not in self.cache:
            sigma = _sigma(t)
            self.cache[key] = (x - self.denoise(x, sigma * self.ones)) / sigma
        return self.cache[key]


def _sigma(t: Tensor) -> Tensor:
    return t.neg().exp()


def _t(sigma: Tensor) -> Tensor:
    return -sigma.log()


def _step_1(eps: _EpsModel, x: Tensor, t: Tensor, t_next: Tensor) -> Tensor:
    """DPM-Solver-1 (= DDIM) from t to t_next."""
    h = t_next - t
    return x - _sigma(t_next) * h.expm1() * eps("eps", x, t)


def _step_2(eps: _EpsModel, x: Tensor, t: Tensor, t_next: Tensor, r1: float = 1 / 2) -> Tensor:
    """DPM-Solver-2 with intermediate point t + r1 * h."""
    h = t_next - t
    e = eps("eps", x, t)
    s1 = t + r1 * h
    u1 = x - _sigma(s1) * (r1 * h).expm1() * e
    e_r1 = eps("eps_r1", u1, s1)
    return x - _sigma(t_next) * h.expm1() * e - _sigma(t_next) / (2 * r1) * h.expm1() * (e_r1 - e)


def _step_3(
    eps: _EpsModel, x: Tensor, t: Tensor, t_next: Tensor, r1: float = 1 / 3, r2: float = 2 / 3
) -> Tensor:
    """DPM-Solver-3 with intermediate points t + r1 * h, t + r2 * h."""
    h = t_next - t
    e = eps("eps", x, t)
    s1, s2 = t + r1 * h, t + r2 * h
    u1 = x - _sigma(s1) * (r1 * h).expm1() * e
    e_r1 = eps("eps_r1", u1, s1)
    u2 = (
        x
        - _sigma(s2) * (r2 * h).expm1() * e
        - _sigma(s2) * (r2 / r1) * ((r2 * h).expm1() / (r2 * h) - 1) * (e_r1 - e)
    )
    e_r2 = eps("eps_r2", u2, s2)
    return x - _sigma(t_next) * h.expm1() * e - _sigma(t_next) / r2 * (h.expm1() / h - 1) * (e_r2 - e)


def _endpoints(sigmas: Tensor, sigma_min: float | None, sigma_max: float | None) -> tuple[Tensor, Tensor]:
    lo = torch.tensor(sigma_min) if sigma_min is not None else sigmas[sigmas > 0].min()
    hi = torch.tensor(sigma_max) if sigma_max is not None else sigmas.max()
    if not 0 < lo < hi:
        raise InputError(f"DPM-Solver needs 0 < sigma_min < sigma_max, got {float(lo)}, {float(hi)}")
    return _t(hi), _t(lo)


def sample_dpm_fast(
    denoise: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    sigma_min: float | None = None,
    sigma_max: float | None = None,
    callback: Callback | None = None,
    disable_progress: bool = True,
) -> Tensor:
    """DPM-Solver-fast with nfe = len(sigmas) - 1 model calls on a uniform t = -log(sigma) grid from
    sigma_max to sigma_min (default: max and min positive of `sigmas`; pass the floats the official call
    used for exactness). Orders: [3, ..., 3, 2, 1] if nfe % 3 == 0 else [3, ..., 3, nfe % 3]."""
    nfe = len(sigmas) - 1
    t_start, t_end = _endpoints(sigmas, sigma_min, sigma_max)
    m = math.floor(nfe / 3) + 1
    ts = torch.linspace(float(t_start), float(t_end), m + 1)
    orders = [3] * (m - 2) + [2, 1] if nfe % 3 == 0 else [3] * (m - 1) + [nfe % 3]
    step = {1: _step_1, 2: _step_2, 3: _step_3}
    for i in tqdm(range(len(orders)), disable=disable_progress):
        t, t_next = ts[i], ts[i + 1]
        eps = _EpsModel(denoise, x)
        denoised = x - _sigma(t) * eps("eps", x, t)
        if callback is not None:
            callback(
                {
                    "x": x,
                    "i": i,
                    "t": t,
                    "t_up": t,
                    "sigma": _sigma(t),
                    "sigma_hat": _sigma(t),
                    "denoised": denoised,
                }
            )
        x = step[orders[i]](eps, x, t, t_next)
    return x


class PidStepSizeController:
    """PID control of the step size on the error ratio (Söderlind 2003, "Digital filters in adaptive
    time-stepping"; the form used by k-diffusion's adaptive DPM-Solver). `propose_step` rescales `h` and
    says whether the attempted step is accepted."""

    def __init__(
        self,
        h: float,
        pcoeff: float,
        icoeff: float,
        dcoeff: float,
        order: float,
        accept_safety: float = 0.81,
        eps: float = 1e-8,
    ) -> None:
        self.h = h
        self.b1 = (pcoeff + icoeff + dcoeff) / order
        self.b2 = -(pcoeff + 2 * dcoeff) / order
        self.b3 = dcoeff / order
        self.accept_safety, self.eps = accept_safety, eps
        self.errs: list[float] = []

    def propose_step(self, error: float) -> bool:
        inv_error = 1 / (float(error) + self.eps)
        if not self.errs:
            self.errs = [inv_error, inv_error, inv_error]
        self.errs[0] = inv_error
        factor = self.errs[0] ** self.b1 * self.errs[1] ** self.b2 * self.errs[2] ** self.b3
        factor = 1 + math.atan(factor - 1)  # soft limiter
        accept = factor >= self.accept_safety
        if accept:
            self.errs[2], self.errs[1] = self.errs[1], self.errs[0]
        self.h *= factor
        return accept


def _embedded_pair(eps: _EpsModel, x: Tensor, s: Tensor, t: Tensor, order: int) -> tuple[Tensor, Tensor]:
    """(low, high) order solutions from s to t: DPM-Solver-1/2 or DPM-Solver-2 (r1 = 1/3) / 3."""
    if order == 2:
        return _step_1(eps, x, s, t), _step_2(eps, x, s, t)
    return _step_2(eps, x, s, t, r1=1 / 3), _step_3(eps, x, s, t)


def sample_dpm_adaptive(
    denoise: Denoiser,
    x: Tensor,
    sigmas: Tensor,
    *,
    sigma_min: float | None = None,
    sigma_max: float | None = None,
    order: int = 3,
    rtol: float = 0.05,
    atol: float = 0.0078,
    h_init: float = 0.05,
    pcoeff: float = 0.0,
    icoeff: float = 1.0,
    dcoeff: float = 0.0,
    accept_safety: float = 0.81,
    callback: Callback | None = None,
    disable_progress: bool = True,
) -> Tensor:
    """Adaptive-step DPM-Solver-12 / -23 (Lu et al. 2022, §4.2): embedded low/high order pair, error
    norm RMS((x_low - x_high) / max(atol, rtol * max(|x_low|, |x_prev|))), PID step control. Integrates
    t = -log(sigma) from sigma_max to sigma_min (defaults as in `sample_dpm_fast`). The callback fires on
    every attempt, accepted or rejected."""
    if order not in (2, 3):
        raise InputError(f"adaptive DPM-Solver order must be 2 or 3, got {order}")
    t_start, t_end = _endpoints(sigmas, sigma_min, sigma_max)
    atol_t, rtol_t = torch.tensor(atol), torch.tensor(rtol)
    s, x_prev = t_start, x
    pid = PidStepSizeController(abs(h_init), pcoeff, icoeff, dcoeff, order, accept_safety)
    attempts = 0
    with tqdm(disable=disable_progress) as progress:
        while s < t_end - 1e-5:
            t = torch.minimum(t_end, s + pid.h)
            eps = _EpsModel(denoise, x)
            denoised = x - _sigma(s) * eps("eps", x, s)
            x_low, x_high = _embedded_pair(eps, x, s, t, order)
            delta = torch.maximum(atol_t, rtol_t * torch.maximum(x_low.abs(), x_prev.abs()))
            error = torch.linalg.norm((x_low - x_high) / delta) / x.numel() ** 0.5
            if pid.propose_step(error):
                x_prev, x, s = x_low, x_high, t
            attempts += 1
            progress.update(1)
            if callback is not None:
                info = {"x": x, "i": attempts - 1, "t": s, "t_up": s, "denoised": denoised, "error": error}
                callback({**info, "sigma": _sigma(s), "sigma_hat": _sigma(s), "h": pid.h})
    return x
