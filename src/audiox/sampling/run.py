"""One sampling run: pick the grid and the solver for the model's objective and integrate from noise.

`net(x: (B, C, L), t: (B,)) -> (B, C, L)` is the guided network output (conditioning and CFG already bound,
e.g. `functools.partial(model.velocity, context=..., cfg_scale=...)`). For the `v` objective it is wrapped
into a k-diffusion denoiser over a polyexponential sigma schedule (official `sample_k`); for
`rectified_flow` the sampler is the Euler flow solver (official `sample_rf`, which ignores the sampler
name) or the Turbo 4-step DMD sampler (which also runs a DMD student of a `v` teacher, through the flow
view of its network, `diffusion.denoiser.flow_velocity`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from audiox.diffusion.denoiser import flow_velocity, v_denoiser
from audiox.errors import InputError
from audiox.sampling import SAMPLERS
from audiox.sampling.k_solvers import Callback
from audiox.sampling.noise import NoiseSource
from audiox.sampling.schedules import sigmas_polyexponential, timesteps_dmd, timesteps_rectified_flow

FLOW_SAMPLERS = ("rf-euler", "dmd")
DEFAULT_SAMPLER = {"v": "dpmpp-3m-sde", "rectified_flow": "rf-euler"}


@dataclass(frozen=True, kw_only=True)
class SamplerSettings:
    """What the official `generate_diffusion_cond` / `_dmd` take. Defaults: the official README
    (dpmpp-3m-sde, 250 steps, cfg 7, sigma 0.3 .. 500, rho 1)."""

    sampler: str | None = None  # None: the objective's default
    steps: int = 250
    sigma_min: float = 0.3
    sigma_max: float = 500.0
    rho: float = 1.0

    def resolved_sampler(self, objective: str) -> str:
        name = self.sampler or DEFAULT_SAMPLER[objective]
        if name not in SAMPLERS:
            raise InputError(f"unknown sampler {name!r}; choose one of {', '.join(SAMPLERS)}")
        if objective == "rectified_flow" and name not in FLOW_SAMPLERS:
            name = "rf-euler"  # official quirk: sample_rf deletes sampler_type and always runs Euler
        if objective == "v" and name == "rf-euler":
            raise InputError(f"sampler {name!r} is for rectified-flow models; this model uses the v objective")
        if self.steps < 1:
            raise InputError(f"steps must be >= 1, got {self.steps}")
        return name


def sampling_grid(objective: str, sampler: str, settings: SamplerSettings) -> Tensor:
    """The sampler's (steps + 1,) grid: sigmas (v), or times t in [0, 1] (rectified flow, DMD)."""
    if sampler == "dmd":
        return timesteps_dmd(settings.steps)
    if objective == "rectified_flow":
        return timesteps_rectified_flow(settings.steps, settings.sigma_max)
    return sigmas_polyexponential(settings.steps, settings.sigma_min, settings.sigma_max, settings.rho)


def sample_latents(
    net: Callable[[Tensor, Tensor], Tensor],
    noise: Tensor,
    *,
    objective: str,
    settings: SamplerSettings,
    step_noise: NoiseSource | Sequence[Tensor] | Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    progress: bool = False,
    keep: tuple[Tensor, Tensor] | None = None,
) -> Tensor:
    """Integrate from `noise` (B, C, L) standard normal to latents (B, C, L).

    `step_noise`: the stochastic samplers' per-step noise (recorded tensors or a source); otherwise drawn
    from `generator` (SDE solvers: a Brownian tree seeded by one draw from it, as officially).
    `keep` = (init latents (B, C, L), keep mask (B or 1, 1, L) bool): latent inpainting; kept frames follow
    the noised init along the sampling path and equal `init` bit-for-bit in the result."""
    sampler = settings.resolved_sampler(objective)
    grid = sampling_grid(objective, sampler, settings).to(noise.device)
    fn = SAMPLERS[sampler]
    kwargs = _optional_kwargs(fn, settings=settings, step_noise=step_noise, generator=generator)
    if objective == "rectified_flow" or sampler == "dmd":
        # a DMD student distilled from a v teacher keeps the v parameterisation: it runs in the flow view
        velocity = flow_velocity(net, objective)
        velocity = velocity if keep is None else _inpaint_velocity(velocity, noise, *keep)
        out = fn(velocity, noise, grid, callback=callback, disable_progress=not progress, **kwargs)
    else:
        denoise = v_denoiser(net) if keep is None else _inpaint_denoiser(v_denoiser(net), noise, *keep)
        x = noise * grid[0]  # official: x = noise * sigma_max
        out = fn(denoise, x, grid, callback=callback, disable_progress=not progress, **kwargs)
    return out if keep is None else torch.where(keep[1], keep[0], out)


def _inpaint_denoiser(denoise: Callable, noise: Tensor, init: Tensor, keep: Tensor) -> Callable:
    """v objective: kept frames are replaced by init + sigma * noise before the call, and their denoised
    estimate is the init itself, so every solver drives them onto the init (RePaint-style replacement)."""

    def wrapped(x: Tensor, sigma: Tensor) -> Tensor:
        noised_init = init + sigma.view(-1, 1, 1) * noise
        return torch.where(keep, init, denoise(torch.where(keep, noised_init, x), sigma))

    return wrapped


def _inpaint_velocity(velocity: Callable, noise: Tensor, init: Tensor, keep: Tensor) -> Callable:
    """Rectified flow: kept frames sit on the straight path (1 - t) init + t noise, velocity noise - init."""

    def wrapped(x: Tensor, t: Tensor) -> Tensor:
        tt = t.view(-1, 1, 1)
        on_path = (1 - tt) * init + tt * noise
        return torch.where(keep, noise - init, velocity(torch.where(keep, on_path, x), t))

    return wrapped


def _optional_kwargs(fn: Callable, *, settings: SamplerSettings, step_noise, generator) -> dict:
    """The keyword arguments among noise / generator / sigma_min / sigma_max that `fn` accepts."""
    params = inspect.signature(fn).parameters
    offered = {
        "noise": step_noise,
        "generator": generator,
        "sigma_min": settings.sigma_min,
        "sigma_max": settings.sigma_max,
    }
    return {k: v for k, v in offered.items() if k in params}
