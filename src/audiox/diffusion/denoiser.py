"""Adapters from a velocity network `net(x, t) -> v` to the functions the samplers call.

No weights live here: each adapter is a closure over a callable (the backbone with its conditioning and
CFG already bound, e.g. by `functools.partial`). Shapes: x: (B, C, L); sigma, t: (B,).

* `Denoiser` (k-diffusion convention): `denoise(x, sigma) -> x0` for x = x0 + sigma * eps.
* `Velocity` (rectified flow): `velocity(x, t) -> v` with v = eps - x0.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from audiox.diffusion.objectives import flow_to_v_input, flow_x0, rf_x0, sigma_to_t, v_scalings

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


def flow_denoiser(net: Callable[[Tensor, Tensor], Tensor], objective: str) -> Callable[[Tensor, Tensor], Tensor]:
    """x0(z: (B, C, L), t: (B,)) of a network of either objective at a point z = (1 - t) x0 + t eps of the
    rectified-flow path: the flow / denoiser view DMD distillation and the DMD sampler use for both families
    (a `v` network is called at `flow_to_v_input(z, t)`)."""
    if objective == "rectified_flow":
        return rf_denoiser(net)

    def denoise(z: Tensor, t: Tensor) -> Tensor:
        return flow_x0(objective, z, t, net(*flow_to_v_input(z, t)))

    return denoise


def flow_velocity(net: Callable[[Tensor, Tensor], Tensor], objective: str) -> Velocity:
    """Rectified-flow velocity (z - x0) / t of a network of either objective (t > 0); for `rectified_flow`
    the network's raw output."""
    if objective == "rectified_flow":
        return rf_velocity(net)
    denoise = flow_denoiser(net, objective)

    def velocity(z: Tensor, t: Tensor) -> Tensor:
        return (z - denoise(z, t)) / _expand(t, z)

    return velocity


def _expand(c: Tensor, like: Tensor) -> Tensor:
    return c.reshape(c.shape + (1,) * (like.ndim - c.ndim))
