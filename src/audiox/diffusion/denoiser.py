"""Adapters from a velocity network `net(x, t) -> v` to the functions the samplers call.

No weights live here: each adapter is a closure over a callable (the backbone with its conditioning and
CFG already bound, e.g. by `functools.partial`). Shapes: x: (B, C, L); sigma, t: (B,).

* `Denoiser` (k-diffusion convention): `denoise(x, sigma) -> x0` for x = x0 + sigma * eps.
* `Velocity` (rectified flow): `velocity(x, t) -> v` with v = eps - x0.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from audiox.diffusion.objectives import rf_x0, sigma_to_t, v_scalings

Denoiser = Callable[[Tensor, Tensor], Tensor]
Velocity = Callable[[Tensor, Tensor], Tensor]


def v_denoiser(net: Callable[[Tensor, Tensor], Tensor], sigma_data: float = 1.0) -> Denoiser:
    """k-diffusion `VDenoiser` around a v-objective network (Salimans & Ho 2022).

    Returns `denoise(x: (B, C, L), sigma: (B,)) -> x0: (B, C, L)` computing
    net(x * c_in, t = (2/pi) atan(sigma)) * c_out + x * c_skip (same operation order as k-diffusion 0.1.1).
    """

    def denoise(x: Tensor, sigma: Tensor) -> Tensor:
        c_skip, c_out, c_in = (_expand(c, x) for c in v_scalings(sigma, sigma_data))
        return net(x * c_in, sigma_to_t(sigma)) * c_out + x * c_skip

    return denoise


def rf_velocity(net: Callable[[Tensor, Tensor], Tensor]) -> Velocity:
    """Rectified-flow velocity `velocity(x: (B, C, L), t: (B,)) -> v` (the network's raw output)."""

    def velocity(x: Tensor, t: Tensor) -> Tensor:
        return net(x, t)

    return velocity


def rf_denoiser(net: Callable[[Tensor, Tensor], Tensor]) -> Callable[[Tensor, Tensor], Tensor]:
    """Rectified-flow clean estimate `x0(x: (B, C, L), t: (B,)) = x - t * net(x, t)`."""

    def denoise(x: Tensor, t: Tensor) -> Tensor:
        return rf_x0(x, net(x, t), t)

    return denoise


def _expand(c: Tensor, like: Tensor) -> Tensor:
    return c.reshape(c.shape + (1,) * (like.ndim - c.ndim))
