"""Training objectives as pure functions: noising, regression targets, and the meaning of `t`.

Two objectives exist in the AudioX family (architecture.md §3.10):

* ``v`` (original AudioX, AudioX-MAF): z = alpha * x0 + sigma * eps with alpha = cos(pi t / 2),
  sigma = sin(pi t / 2); target v = alpha * eps - sigma * x0. At sampling time a k-diffusion noise level
  s (x = x0 + s * eps) maps to t = (2 / pi) * atan(s) (Salimans & Ho 2022, "Progressive Distillation").
* ``rectified_flow`` (AudioX-Turbo): z = (1 - t) * x0 + t * eps, target eps - x0; t = 1 is pure noise
  (Liu et al. 2022, "Flow Straight and Fast").

Shapes: x0, noise, z: (B, C, L); t, sigma: (B,) (or 0-dim, broadcast).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _expand(t: Tensor, like: Tensor) -> Tensor:
    """(B,) or 0-dim -> broadcastable against `like` (B, ...)."""
    if t.ndim == 0:
        return t
    return t.reshape(t.shape + (1,) * (like.ndim - t.ndim))


def sigma_to_t(sigma: Tensor) -> Tensor:
    """k-diffusion noise level -> v-objective model time: t = (2 / pi) * atan(sigma). sigma, t: (B,)."""
    return sigma.atan() / math.pi * 2


def t_to_sigma(t: Tensor) -> Tensor:
    """v-objective model time -> k-diffusion noise level: sigma = tan(pi t / 2). t, sigma: (B,)."""
    return (t * math.pi / 2).tan()


def v_alpha_sigma(t: Tensor) -> tuple[Tensor, Tensor]:
    """Signal and noise weights of the v objective: (cos(pi t / 2), sin(pi t / 2)). t: (B,)."""
    return torch.cos(t * math.pi / 2), torch.sin(t * math.pi / 2)


def v_noise(x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
    """v-objective noising: z = alpha * x0 + sigma * noise. x0, noise: (B, C, L); t: (B,)."""
    alpha, sigma = v_alpha_sigma(t)
    return _expand(alpha, x0) * x0 + _expand(sigma, x0) * noise


def v_target(x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
    """v-objective regression target v = alpha * noise - sigma * x0. x0, noise: (B, C, L); t: (B,)."""
    alpha, sigma = v_alpha_sigma(t)
    return _expand(alpha, x0) * noise - _expand(sigma, x0) * x0


def v_scalings(sigma: Tensor, sigma_data: float = 1.0) -> tuple[Tensor, Tensor, Tensor]:
    """k-diffusion VDenoiser preconditioning for noise level `sigma` (B,): returns (c_skip, c_out, c_in)
    with c_skip = sd^2 / (s^2 + sd^2), c_out = -s * sd / sqrt(s^2 + sd^2), c_in = 1 / sqrt(s^2 + sd^2)."""
    c_skip = sigma_data**2 / (sigma**2 + sigma_data**2)
    c_out = -sigma * sigma_data / (sigma**2 + sigma_data**2) ** 0.5
    c_in = 1 / (sigma**2 + sigma_data**2) ** 0.5
    return c_skip, c_out, c_in


def rf_noise(x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
    """Rectified-flow noising z = (1 - t) * x0 + t * noise. x0, noise: (B, C, L); t: (B,)."""
    t = _expand(t, x0)
    return (1 - t) * x0 + t * noise


def rf_target(x0: Tensor, noise: Tensor) -> Tensor:
    """Rectified-flow velocity target noise - x0 (B, C, L)."""
    return noise - x0


def rf_x0(z: Tensor, v: Tensor, t: Tensor) -> Tensor:
    """Clean estimate from a rectified-flow velocity: x0 = z - t * v. z, v: (B, C, L); t: (B,) or 0-dim."""
    return z - _expand(t, z) * v


def flow_to_v_input(z: Tensor, t: Tensor) -> tuple[Tensor, Tensor]:
    """A point of the rectified-flow path z = (1 - t) x0 + t eps as a v-objective input: (z / n, t_v) with
    n = sqrt((1 - t)^2 + t^2) and t_v = (2 / pi) atan2(t, 1 - t), so that z / n = cos(pi t_v / 2) x0 +
    sin(pi t_v / 2) eps exactly (defined at t = 1 too). z: (B, C, L); t: (B,) -> ((B, C, L), (B,))."""
    norm = ((1 - t) ** 2 + t**2).sqrt()
    return z / _expand(norm, z), torch.atan2(t, 1 - t) / math.pi * 2


def flow_x0(objective: str, z: Tensor, t: Tensor, output: Tensor) -> Tensor:
    """Clean estimate x0 from a network output at flow time t. For `rectified_flow` the output is the
    velocity at (z, t); for `v` it is the v-prediction at `flow_to_v_input(z, t)`. z, output: (B, C, L)."""
    if objective == "rectified_flow":
        return rf_x0(z, output, t)
    z_v, t_v = flow_to_v_input(z, t)
    alpha, sigma = v_alpha_sigma(t_v)
    return _expand(alpha, z) * z_v - _expand(sigma, z) * output
