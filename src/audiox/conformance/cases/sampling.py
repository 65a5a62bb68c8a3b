"""Golden-vector case runners for the whole diffusion model after its conditioners: context assembly
(MAF wiring), guided forwards, and complete sampling runs (v / k-diffusion solvers, rectified-flow Euler,
Turbo DMD) with VAE decode. Sampler settings are read from the official call strings in case.json."""

from __future__ import annotations

import re
from functools import partial

import torch
from torch import Tensor

from audiox.checkpoints.keys import to_internal
from audiox.checkpoints.load import load_into
from audiox.config.parse import parse_config
from audiox.conformance.case import Case
from audiox.conformance.kinds import CaseKind, forward_tolerance
from audiox.diffusion.model import DiffusionModel
from audiox.sampling.run import SamplerSettings, sample_latents
from audiox.sampling.schedules import sigmas_polyexponential, timesteps_dmd, timesteps_rectified_flow

COND_IDS = ("video_prompt", "text_prompt", "audio_prompt")
# samplers whose accepted steps depend on an error estimate: a last-digit difference changes the step
# sequence, so only their final latents / audio are compared (refvectors README: "treat as soft")
STEP_ADAPTIVE = ("k-dpm-adaptive",)
SET_A_NAMES = {"video_prompt": "video", "text_prompt": "text", "audio_prompt": "audio"}


def build_model(case: Case) -> DiffusionModel:
    """The case's model from its config.json (harness notes ignored), official weights loaded strictly."""
    model = DiffusionModel(parse_config(case.config, source=f"{case.name}/config.json", strict=False)).eval()
    load_into(model, to_internal(case.state_dict), config_name=case.name, source="state_dict.safetensors")
    return model


def conditions(case: Case) -> dict[str, tuple[Tensor, Tensor]]:
    """Conditioner outputs as the official MultiConditioner returns them: {id: (tokens, mask)}; the
    text mask is bool, the others float. Set A: `<m>_feat` / `<m>_mask`; set B: `cond.<id>.tokens/.mask`."""
    out = {}
    for cond_id in COND_IDS:
        short = SET_A_NAMES[cond_id]
        if f"cond.{cond_id}.tokens" in case.inputs:
            tokens, mask = case.inputs[f"cond.{cond_id}.tokens"], case.inputs[f"cond.{cond_id}.mask"]
        else:
            tokens, mask = case.inputs[f"{short}_feat"], case.inputs[f"{short}_mask"]
        out[cond_id] = (tokens, mask != 0 if mask.dtype == torch.uint8 else mask)
    return out


def call_kwargs(case: Case, call: str) -> dict[str, float | str]:
    """Keyword arguments of the official call recorded under `case.meta["calls"][call]`."""
    text = case.meta["calls"][call]
    values: dict[str, float | str] = {}
    for key, raw in re.findall(r"(\w+)=('[^']*'|[-+0-9.eE]+)", text):
        values.setdefault(key, raw.strip("'") if raw.startswith("'") else float(raw))
    return values


def _find_call(case: Case, *candidates: str) -> str:
    for name in candidates:
        if name in case.meta["calls"]:
            return name
    raise KeyError(f"none of the calls {candidates} in case.json")


def _settings(kw: dict) -> SamplerSettings:
    return SamplerSettings(
        sampler=kw.get("sampler_type"),
        steps=int(kw["steps"]),
        sigma_min=float(kw.get("sigma_min", 0.3)),
        sigma_max=float(kw.get("sigma_max", 500.0)),
    )


def _guided(model: DiffusionModel, context: Tensor, kw: dict):
    return partial(
        model.velocity, context=context, cfg_scale=float(kw.get("cfg_scale", 1.0)),
        scale_phi=float(kw.get("scale_phi", 0.0)),
    )


def run_wrapper_forwards(case: Case, model: DiffusionModel, context: Tensor, mask: Tensor) -> dict[str, Tensor]:
    """cross_attn_cond / _mask and every `out_cfg<N>` forward of the wrapper."""
    out = {"cross_attn_cond": context, "cross_attn_mask": mask.float()}
    x, t = case.inputs["x"], case.inputs["t"]
    for name in case.outputs:
        match = re.fullmatch(r"out_cfg(\d+)", name)
        if match:
            out[name] = model.velocity(x, t, context, cfg_scale=float(match.group(1)))
    if "debug_naive_unswapped_cross_attn_cond" in case.outputs:
        cond = conditions(case)
        naive = model.maf_block(*(cond[i][0] for i in COND_IDS))
        out["debug_naive_unswapped_cross_attn_cond"] = torch.cat([naive.video, naive.text, naive.audio], dim=1)
    return out


def _dmd_noise(case: Case) -> tuple[Tensor, list[Tensor]]:
    """(initial noise, fresh re-noise draws in call order) in either naming style."""
    inputs = case.inputs
    if "dmd_fresh_noise" in inputs:
        return inputs["dmd_initial_noise"], list(inputs["dmd_fresh_noise"])
    initial = inputs["dmd.initial_noise"] if "dmd.initial_noise" in inputs else inputs["initial_noise"]
    fresh = [inputs[k] for k in sorted((k for k in inputs if k.startswith("dmd.fresh_noise_")), key=lambda k: int(k.rsplit("_", 1)[1]))]
    return initial, fresh


def run_dmd(case: Case, model: DiffusionModel, context: Tensor, call: str) -> tuple[Tensor, Tensor, dict]:
    """Turbo 4-step DMD latents, its time grid, and per-call debug tensors."""
    kw = call_kwargs(case, call)
    initial, fresh = _dmd_noise(case)
    record: dict[str, list[Tensor]] = {"t": [], "v": []}
    settings = SamplerSettings(sampler="dmd", steps=int(kw["steps"]))

    def keep(info: dict) -> None:
        record["t"].append(info["t"].expand(initial.shape[0]).clone())
        record["v"].append(info["v"])

    latents = sample_latents(
        _guided(model, context, {}), initial, objective="rectified_flow", settings=settings,
        step_noise=fresh, callback=keep,
    )
    return latents, timesteps_dmd(settings.steps), record


def run_wrapper_dit_maf(case: Case) -> dict[str, Tensor]:
    model = build_model(case)
    context, mask = model.fuse(conditions(case))
    out = run_wrapper_forwards(case, model, context, mask)
    latents, ts, _ = run_dmd(case, model, context, _find_call(case, "dmd_latents", "dmd"))
    out.update(dmd_latents=latents, dmd_timesteps=ts)
    return out


def run_maf_wrapper_mmdit(case: Case) -> dict[str, Tensor]:
    model = build_model(case)
    context, mask = model.fuse(conditions(case))
    return run_wrapper_forwards(case, model, context, mask)


def run_sample_rf_and_dmd(case: Case) -> dict[str, Tensor]:
    """Set A: rectified-flow Euler with CFG, and DMD, with per-call debug tensors."""
    model = build_model(case)
    context, _ = model.fuse(conditions(case))
    kw = call_kwargs(case, "rf_sampled")
    record: dict[str, list[Tensor]] = {"t": [], "v": []}
    noise = case.inputs["rf_initial_noise"]

    def keep(info: dict) -> None:
        record["t"].append(info["t"].expand(noise.shape[0]).clone())
        record["v"].append(info["v"])

    settings = SamplerSettings(steps=int(kw["steps"]), sigma_max=float(kw.get("sigma_max", 1.0)))
    rf = sample_latents(_guided(model, context, kw), noise, objective="rectified_flow", settings=settings, callback=keep)
    dmd, ts, dmd_record = run_dmd(case, model, context, "dmd_sampled")
    return {
        "rf_sampled": rf,
        "rf_debug_t_per_call": torch.stack(record["t"]),
        "rf_debug_v_per_call": torch.stack(record["v"]),
        "dmd_sampled": dmd,
        "dmd_timesteps": ts,
        "dmd_debug_t_per_call": torch.stack(dmd_record["t"]),
        "dmd_debug_v_per_call": torch.stack(dmd_record["v"]),
    }


def run_turbo_pipeline(case: Case) -> dict[str, Tensor]:
    """Set B: fused context, forwards, RF Euler runs named `rf_euler_cfg<N>`, and DMD, each decoded."""
    model = build_model(case)
    context, mask = model.fuse(conditions(case))
    out = run_wrapper_forwards(case, model, context, mask)
    noise = case.inputs["initial_noise"]
    for run in sorted({k.split(".")[0] for k in case.outputs if k.startswith("rf_euler")}):
        kw = call_kwargs(case, run)
        settings = SamplerSettings(steps=int(kw["steps"]), sigma_max=float(kw.get("sigma_max", 1.0)))
        latents = sample_latents(_guided(model, context, kw), noise, objective="rectified_flow", settings=settings)
        out[f"{run}.latents"], out[f"{run}.audio"] = latents, model.decode(latents)
        out["rf.timesteps"] = timesteps_rectified_flow(settings.steps, settings.sigma_max)
    latents, ts, _ = run_dmd(case, model, context, "dmd")
    out.update({"dmd.latents": latents, "dmd.audio": model.decode(latents), "dmd.timesteps": ts})
    return out


def _v_sampler_runs(case: Case) -> list[tuple[str, str]]:
    """(sampler name, output prefix) pairs: set A `k_heun_sampled`, set B `k_heun.latents`."""
    runs = []
    for name in case.outputs:
        if name.endswith("_sampled"):
            runs.append((name[: -len("_sampled")], name[: -len("_sampled")]))
        elif name.endswith(".latents"):
            runs.append((name[: -len(".latents")], name[: -len(".latents")]))
    return runs


def _step_noise(case: Case, prefix: str) -> Tensor | None:
    for key in (f"{prefix}_sde_noise", f"{prefix}.brownian_noise", f"{prefix}.ancestral_noise"):
        if key in case.inputs:
            return case.inputs[key]
    return None


def run_v_sampling(case: Case) -> dict[str, Tensor]:
    """Original AudioX `generate_diffusion_cond` (v objective) for every sampler the case recorded."""
    model = build_model(case)
    context, _ = model.fuse(conditions(case))
    noise = case.inputs["initial_noise"]
    out: dict[str, Tensor] = {}
    for prefix, _ in _v_sampler_runs(case):
        sampler = prefix.replace("_", "-")
        call = _find_call(case, f"{prefix}_sampled", sampler)
        kw = call_kwargs(case, call)
        settings = _settings({**kw, "sampler_type": sampler})
        denoised: list[Tensor] = []
        latents = sample_latents(
            _guided(model, context, kw), noise, objective="v", settings=settings,
            step_noise=_step_noise(case, prefix), callback=lambda info, seen=denoised: seen.append(info["denoised"]),
        )
        set_a = f"{prefix}_sampled" in case.outputs
        out[f"{prefix}_sampled" if set_a else f"{prefix}.latents"] = latents
        if sampler not in STEP_ADAPTIVE:
            out[f"{prefix}_debug_denoised_per_call" if set_a else f"{prefix}.denoised_at_callback"] = torch.stack(denoised)
        if not set_a:
            out[f"{prefix}.audio"] = model.decode(latents)
            if f"{prefix}.sigmas" in case.outputs:
                out[f"{prefix}.sigmas"] = _sigmas(settings)
        elif "sigmas" in case.outputs:
            out["sigmas"] = _sigmas(settings)
    return out


def _sigmas(settings: SamplerSettings) -> Tensor:
    return sigmas_polyexponential(settings.steps, settings.sigma_min, settings.sigma_max, settings.rho)


def sampling_tolerance(name: str, ref: Tensor) -> tuple[float, float]:
    """Set A prose: final latents atol 1e-3 x their max; denoised per call 1e-4 x max; RF 5e-4."""
    scale = max(1.0, float(ref.abs().max()))
    if name.endswith("_sampled"):
        return 1e-3 * scale, 1e-4
    if "denoised" in name or "_v_per_call" in name:
        return 1e-4 * scale, 1e-4
    return forward_tolerance(name, ref)


CASE_KINDS: dict[str, CaseKind] = {
    "maf_wrapper_mmdit": CaseKind(run_maf_wrapper_mmdit),
    "wrapper_dit_maf": CaseKind(run_wrapper_dit_maf),
    "sample_rf_and_dmd_turbo": CaseKind(run_sample_rf_and_dmd, sampling_tolerance),
    "turbo_pipeline_mmdit_maf": CaseKind(run_turbo_pipeline, sampling_tolerance),
    "sample_v_kdiffusion": CaseKind(run_v_sampling, sampling_tolerance),
    # `<sampler>.denoised_at_callback` is a debug aid (case.json): compared when produced
    "sampling_v_dit": CaseKind(run_v_sampling, sampling_tolerance, is_debug=lambda n: n.endswith(".denoised_at_callback")),
}
