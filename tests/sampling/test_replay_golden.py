"""Replays the recorded golden sampling runs without the model: a fake denoiser / velocity returns the
recorded per-call outputs in order, our solver does the rest, and its result must match the recorded
final latents. Only solvers that call the model once per step (callbacks aligned with calls) can be
replayed fully; for the two-call solvers only the final denoising step is checked."""

from __future__ import annotations

import re

import pytest
import torch
from safetensors.torch import load_file

from audiox.sampling import SAMPLERS
from audiox.sampling.noise import BrownianTreeNoise
from audiox.sampling.schedules import sigmas_polyexponential, timesteps_dmd, timesteps_rectified_flow
from tests.conftest import REFVECTORS

PUBLIC = REFVECTORS / "public"


def _case(name: str) -> tuple[dict, dict, dict]:
    import json

    folder = PUBLIC / name
    if not folder.is_dir():
        pytest.fail(f"{folder} missing: the golden vectors ship with the repository (tests/golden/data)")
    meta = json.loads((folder / "case.json").read_text())
    return meta, load_file(folder / "inputs.safetensors"), load_file(folder / "outputs.safetensors")


def _kwarg(call: str, name: str) -> float:
    return float(re.search(rf"\b{name}=([0-9.eE+-]+)", call).group(1))


class Replay:
    """Fake model: the k-th call returns recorded[k]; records the time/sigma it was called with."""

    def __init__(self, recorded: torch.Tensor) -> None:
        self.recorded, self.times = recorded, []

    def __call__(self, x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
        self.times.append(sigma.clone())
        assert sigma.shape == (x.shape[0],)
        return self.recorded[len(self.times) - 1]


def _assert_close(ours: torch.Tensor, ref: torch.Tensor, atol: float, rtol: float = 1e-4) -> None:
    err = (ours - ref).abs()
    bound = atol + rtol * ref.abs()
    assert bool((err <= bound).all()), f"max abs err {err.max().item():.3e} (atol {atol:.1e})"


# ----- set A: sample_v_kdiffusion -------------------------------------------------------------------


@pytest.mark.parametrize("sampler", ["dpmpp-3m-sde", "dpmpp-2m-sde"])
def test_set_a_sde_replay(sampler: str) -> None:
    meta, inputs, outputs = _case("sample_v_kdiffusion")
    key = sampler.replace("-", "_")
    call = meta["calls"][f"{key}_sampled"]
    sigmas = sigmas_polyexponential(
        int(_kwarg(call, "steps")), _kwarg(call, "sigma_min"), _kwarg(call, "sigma_max")
    )
    assert torch.equal(sigmas, outputs["sigmas"])
    denoised = outputs[f"{key}_debug_denoised_per_call"]
    model = Replay(denoised)
    x = inputs["initial_noise"] * sigmas[0]
    out = SAMPLERS[sampler](model, x, sigmas, noise=inputs[f"{key}_sde_noise"])
    assert len(model.times) == len(denoised)
    assert all(torch.equal(t, sigmas[i].expand_as(t)) for i, t in enumerate(model.times))
    ref = outputs[f"{key}_sampled"]
    _assert_close(out, ref, atol=1e-5 * max(1.0, ref.abs().max().item()))


@pytest.mark.parametrize("key", ["k_heun", "k_dpm_2"])
def test_set_a_two_call_solvers_final_step(key: str) -> None:
    """Heun / DPM-2 end with an Euler step to sigma 0, which returns the last denoised (partial check)."""
    _, _, outputs = _case("sample_v_kdiffusion")
    ref, last = outputs[f"{key}_sampled"], outputs[f"{key}_debug_denoised_per_call"][-1]
    _assert_close(last, ref, atol=1e-5 * max(1.0, ref.abs().max().item()))


# ----- set B: sampling_v_dit_b ----------------------------------------------------------------------


def _set_b_sigmas(meta: dict, sampler: str) -> torch.Tensor:
    call = meta["calls"][sampler]
    return sigmas_polyexponential(
        int(_kwarg(call, "steps")), _kwarg(call, "sigma_min"), _kwarg(call, "sigma_max")
    )


def _tol(meta: dict, name: str) -> tuple[float, float]:
    tol = meta["tolerance"][name]
    return tol["suggested_atol"], tol["suggested_rtol"]


@pytest.mark.parametrize(
    "sampler", ["k-heun", "k-lms", "k-dpm-2", "k-dpmpp-2s-ancestral", "dpmpp-2m-sde", "dpmpp-3m-sde"]
)
def test_set_b_sigmas(sampler: str) -> None:
    meta, _, outputs = _case("sampling_v_dit_b")
    key = sampler.replace("-", "_")
    assert torch.equal(_set_b_sigmas(meta, sampler), outputs[f"{key}.sigmas"])


@pytest.mark.parametrize("sampler", ["k-lms", "dpmpp-2m-sde", "dpmpp-3m-sde"])
def test_set_b_replay(sampler: str) -> None:
    meta, inputs, outputs = _case("sampling_v_dit_b")
    key = sampler.replace("-", "_")
    sigmas = _set_b_sigmas(meta, sampler)
    denoised = outputs[f"{key}.denoised_at_callback"]
    model = Replay(denoised)
    kwargs = {"noise": inputs[f"{key}.brownian_noise"]} if sampler.endswith("sde") else {}
    out = SAMPLERS[sampler](model, inputs["initial_noise"] * sigmas[0], sigmas, **kwargs)
    assert len(model.times) == len(denoised)
    atol, rtol = _tol(meta, f"{key}.latents")
    _assert_close(out, outputs[f"{key}.latents"], atol / 5, rtol)


@pytest.mark.parametrize("sampler", ["dpmpp-2m-sde", "dpmpp-3m-sde"])
def test_set_b_brownian_seed_reproduces_official_noise(sampler: str) -> None:
    """With torchsde (extra `audiox[exact]`) the recorded seed alone reproduces the official run."""
    pytest.importorskip("torchsde")
    meta, inputs, outputs = _case("sampling_v_dit_b")
    key = sampler.replace("-", "_")
    sigmas = _set_b_sigmas(meta, sampler)
    x = inputs["initial_noise"] * sigmas[0]
    seed = int(inputs[f"{key}.brownian_seed"][0])
    tree = BrownianTreeNoise(x, sigmas[sigmas > 0].min(), sigmas.max(), seed=seed, backend="torchsde")
    noise = torch.stack([tree(sigmas[i], sigmas[i + 1]) for i in range(len(sigmas) - 2)])
    _assert_close(noise, inputs[f"{key}.brownian_noise"], atol=1e-5)
    out = SAMPLERS[sampler](
        Replay(outputs[f"{key}.denoised_at_callback"]),
        x,
        sigmas,
        noise=tree.__class__(x, sigmas[sigmas > 0].min(), sigmas.max(), seed=seed, backend="torchsde"),
    )
    atol, rtol = _tol(meta, f"{key}.latents")
    _assert_close(out, outputs[f"{key}.latents"], atol / 5, rtol)


@pytest.mark.parametrize("key", ["k_heun", "k_dpm_2", "k_dpmpp_2s_ancestral"])
def test_set_b_two_call_solvers_final_step(key: str) -> None:
    """These end with an Euler step to sigma 0 that returns the last denoised (partial check)."""
    meta, _, outputs = _case("sampling_v_dit_b")
    atol, rtol = _tol(meta, f"{key}.latents")
    _assert_close(outputs[f"{key}.denoised_at_callback"][-1], outputs[f"{key}.latents"], atol / 5, rtol)


# ----- rectified flow and DMD -----------------------------------------------------------------------


def test_set_a_rf_euler_replay() -> None:
    _, inputs, outputs = _case("sample_rf_and_dmd_turbo")
    v = outputs["rf_debug_v_per_call"]
    ts = timesteps_rectified_flow(len(v), sigma_max=500.0)
    model = Replay(v)
    out = SAMPLERS["rf-euler"](model, inputs["rf_initial_noise"], ts)
    assert torch.equal(torch.stack(model.times), outputs["rf_debug_t_per_call"])
    _assert_close(out, outputs["rf_sampled"], atol=1e-5 * max(1.0, outputs["rf_sampled"].abs().max().item()))


def test_set_a_dmd_replay() -> None:
    _, inputs, outputs = _case("sample_rf_and_dmd_turbo")
    v = outputs["dmd_debug_v_per_call"]
    ts = timesteps_dmd(len(v))
    assert torch.equal(ts, outputs["dmd_timesteps"])
    model = Replay(v)
    out = SAMPLERS["dmd"](model, inputs["dmd_initial_noise"], ts, noise=list(inputs["dmd_fresh_noise"]))
    assert torch.equal(torch.stack(model.times), outputs["dmd_debug_t_per_call"])
    _assert_close(
        out, outputs["dmd_sampled"], atol=1e-5 * max(1.0, outputs["dmd_sampled"].abs().max().item())
    )


def test_set_b_turbo_time_grids() -> None:
    meta, _, outputs = _case("turbo_pipeline_mmdit_maf_b")
    rf_call, dmd_call = meta["calls"]["rf_euler_cfg6"], meta["calls"]["dmd"]
    rf = timesteps_rectified_flow(int(_kwarg(rf_call, "steps")), sigma_max=_kwarg(rf_call, "sigma_max"))
    assert torch.equal(rf, outputs["rf.timesteps"])
    assert torch.equal(timesteps_dmd(int(_kwarg(dmd_call, "steps"))), outputs["dmd.timesteps"])
