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
from dataclasses import dataclass, replace

import torch
from torch import Tensor

from audiox.diffusion.denoiser import flow_velocity, v_denoiser
from audiox.diffusion.objectives import rf_noise, t_to_sigma
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
    init_strength: float | None = None  # None: start from pure noise; s in (0, 1]: from an init noised to t = s

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
    """The sampler's grid: (steps + 1,) sigmas (v), or times t in [0, 1] (rectified flow, DMD).

    With `init_strength` s the grid starts at the model time t = s instead of pure noise: rectified flow
    and DMD run linspace(min(s, sigma_max), 0, steps + 1) (official `sample_rf` with sigma_max = s); the v
    objective runs its schedule from sigma = tan(pi s / 2) (capped at sigma_max) down to sigma_min (the
    official `sample_k` with sigma_max = the init noise level), or a single step to 0 when that sigma is
    at or below sigma_min."""
    strength = settings.init_strength
    if sampler == "dmd":
        return timesteps_dmd(settings.steps) if strength is None else timesteps_rectified_flow(settings.steps, strength)
    if objective == "rectified_flow":
        t_max = settings.sigma_max if strength is None else min(strength, settings.sigma_max)
        return timesteps_rectified_flow(settings.steps, t_max)
    sigma_max = settings.sigma_max
    if strength is not None:
        sigma_max = min(float(t_to_sigma(torch.tensor(strength, dtype=torch.float64))), settings.sigma_max)
        if sigma_max <= settings.sigma_min:
            return torch.tensor([sigma_max, 0.0], dtype=torch.float32)
    return sigmas_polyexponential(settings.steps, settings.sigma_min, sigma_max, settings.rho)


def start_point(flow: bool, noise: Tensor, grid: Tensor, init: Tensor | None) -> Tensor:
    """The sampler's starting x: (B, C, L). `flow`: the grid holds times t (rectified flow, DMD), else
    k-diffusion sigmas. Without init: noise at the grid's first level (sigmas: noise * sigma, official;
    times: the noise). With init latents (B, C, L): the init noised to grid[0]: sigmas: init + sigma noise;
    times: (1 - t) init + t noise."""
    if init is None:
        return noise if flow else noise * grid[0]
    return rf_noise(init, noise, grid[0]) if flow else init + grid[0] * noise


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
    init: Tensor | None = None,
) -> Tensor:
    """Integrate from `noise` (B, C, L) standard normal to latents (B, C, L).

    `step_noise`: the stochastic samplers' per-step noise (recorded tensors or a source); otherwise drawn
    from `generator` (SDE solvers: a Brownian tree seeded by one draw from it, as officially).
    `keep` = (init latents (B, C, L), keep mask (B or 1, 1, L) bool): latent inpainting; kept frames follow
    the noised init along the sampling path and equal `init` bit-for-bit in the result.
    `init` (B, C, L) with `settings.init_strength`: a variation; sampling starts from the init noised to
    that strength (`sampling_grid`, `start_point`)."""
    if (init is None) != (settings.init_strength is None):
        raise InputError("init latents and settings.init_strength come together")
    sampler = settings.resolved_sampler(objective)
    grid = sampling_grid(objective, sampler, settings).to(noise.device)
    fn = SAMPLERS[sampler]
    if settings.init_strength is not None and objective == "v":  # DPM-Solver reads its own endpoints
        settings = replace(settings, sigma_max=float(grid[0]))
    kwargs = _optional_kwargs(fn, settings=settings, step_noise=step_noise, generator=generator)
    flow = objective == "rectified_flow" or sampler == "dmd"
    x = start_point(flow, noise, grid, init)  # official: x = noise * sigma_max without an init
    if flow:
        # a DMD student distilled from a v teacher keeps the v parameterisation: it runs in the flow view
        velocity = flow_velocity(net, objective)
        velocity = velocity if keep is None else _inpaint_velocity(velocity, noise, *keep)
        out = fn(velocity, x, grid, callback=callback, disable_progress=not progress, **kwargs)
    else:
        denoise = v_denoiser(net) if keep is None else _inpaint_denoiser(v_denoiser(net), noise, *keep)
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
