"""Rectified-flow ODE solvers (Liu et al. 2022, "Flow Straight and Fast"; Esser et al. 2024, SD3).

`velocity(x: (B, C, L), t: (B,)) -> v: (B, C, L)` with v = eps - x0; t = 1 is pure noise. The grid
`ts` is (steps + 1,) decreasing from t_max <= 1 to 0 (`schedules.timesteps_rectified_flow`).
"""

from __future__ import annotations

from torch import Tensor
from tqdm.auto import trange

from audiox.diffusion.denoiser import Velocity
from audiox.sampling.k_solvers import Callback


def sample_rf_euler(
    velocity: Velocity,
    x: Tensor,
    ts: Tensor,
    *,
    callback: Callback | None = None,
    disable_progress: bool = True,
) -> Tensor:
    """Euler on dx/dt = v over `ts`: x <- x + (t_next - t) * v(x, t) (AudioX-Turbo `sample_rf` /
    `sample_discrete_euler`). x: (B, C, L) pure noise at ts[0] (or a partially noised init). Returns the
    sample at ts[-1] = 0. The callback gets {"x", "i", "t", "v"} per step."""
    for i in trange(len(ts) - 1, disable=disable_progress):
        t, t_next = ts[i], ts[i + 1]
        v = velocity(x, t * x.new_ones((x.shape[0],)))
        if callback is not None:
            callback({"x": x, "i": i, "t": t, "v": v})
        x = x + (t_next - t) * v
    return x
