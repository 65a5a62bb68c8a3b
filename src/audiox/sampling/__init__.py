"""Samplers: `SAMPLERS` is the only name -> function table (official `sampler_type` names).

v-objective solvers take `(denoise, x, sigmas, ...)`; "rf-euler" and "dmd" take `(velocity, x, ts, ...)`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from torch import Tensor

from audiox.sampling import dpm_solver, flow_solvers, k_solvers, turbo

Sampler = Callable[..., Tensor]

SAMPLERS: dict[str, Sampler] = {
    "dpmpp-3m-sde": k_solvers.sample_dpmpp_3m_sde,
    "dpmpp-2m-sde": k_solvers.sample_dpmpp_2m_sde,
    "dpmpp-2m": k_solvers.sample_dpmpp_2m,
    "euler": k_solvers.sample_euler,
    "k-heun": k_solvers.sample_heun,
    "k-lms": k_solvers.sample_lms,
    "k-dpm-2": k_solvers.sample_dpm_2,
    "k-dpmpp-2s-ancestral": k_solvers.sample_dpmpp_2s_ancestral,
    "k-dpm-fast": dpm_solver.sample_dpm_fast,
    # official quirk: AudioX's sample_k calls the adaptive solver with rtol = atol = 0.01.
    "k-dpm-adaptive": partial(dpm_solver.sample_dpm_adaptive, rtol=0.01, atol=0.01),
    "rf-euler": flow_solvers.sample_rf_euler,
    "dmd": turbo.sample_dmd,
}

__all__ = ["SAMPLERS", "Sampler"]
