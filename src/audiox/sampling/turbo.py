"""AudioX-Turbo few-step sampler of the DMD-distilled student (Yin et al. 2024, "One-step Diffusion with
Distribution Matching Distillation"; multi-step form of DMD2, Yin et al. 2024).

At each grid time t the student predicts a velocity; its clean estimate x0 = z - t v is re-noised with a
FRESH Gaussian draw to the next time: z = t' eps + (1 - t') x0 (rectified-flow noising). The last step
returns x0. No CFG, float32 (architecture.md §5.3).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from tqdm.auto import trange

from audiox.diffusion.denoiser import Velocity
from audiox.diffusion.objectives import rf_noise, rf_x0
from audiox.sampling.k_solvers import Callback
from audiox.sampling.noise import NoiseSource, as_noise_source


def sample_dmd(
    velocity: Velocity,
    x: Tensor,
    ts: Tensor,
    *,
    noise: NoiseSource | Sequence[Tensor] | Tensor | None = None,
    generator: torch.Generator | None = None,
    callback: Callback | None = None,
    disable_progress: bool = True,
) -> Tensor:
    """Few-step DMD sampling over `ts` (steps + 1,) = linspace(1, 0, steps + 1) (`schedules.timesteps_dmd`).

    x: (B, C, L) initial noise. `noise`: the steps - 1 re-noise draws (recorded tensors or a source
    called as noise(t, t_next)); else `randn` from `generator`. Returns x0: (B, C, L).
    The callback gets {"x", "i", "t", "v", "denoised"} per step.
    """
    steps = len(ts) - 1
    noise_fn = as_noise_source(noise, x, generator) if steps > 1 else None
    z = x
    for i in trange(steps, disable=disable_progress):
        t = ts[i]
        v = velocity(z, t * z.new_ones((z.shape[0],)))
        x0 = rf_x0(z, v, t)
        if callback is not None:
            callback({"x": z, "i": i, "t": t, "v": v, "denoised": x0})
        if i == steps - 1:
            return x0
        # official quirk: a fresh Gaussian draw each step (randn_like), not the initial noise.
        z = rf_noise(x0, noise_fn(t, ts[i + 1]), ts[i + 1])
    return z
