"""One-shot accelerator check (issue 19): full-size models with random weights, one JSON line per figure.

    python benchmarks/device_check.py --device cuda                       # what device_check.sh runs
    python benchmarks/device_check.py --device cpu --turbo tiny-mmdit --v1 tiny-dit   # a smoke run

Figures: versions and device; the Turbo MMDiT step (exact = no cache, fp32; cached fp32; fast = cached under
bf16 autocast); Turbo text-to-audio end to end through the pipeline (exact: precision exact, no reuse; fast:
precision fast, reuse), first call and warm; VAE decode of one 11 s window (fp32 and bf16); the v1 DiT
250-step CFG clip (exact and fast); peak accelerator memory of each. Models are built on `meta` and given
random tensors (`benchmarks/generate.py`), nothing is downloaded. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable

import torch
from generate import build_model

from audiox.pipeline import AudioX, GenerationRequest


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(fn: Callable[[], object], device: torch.device, repeats: int = 1) -> tuple[float, float]:
    """(best seconds over `repeats` calls, peak memory GiB of the calls; 0 off CUDA)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    best = float("inf")
    for _ in range(repeats):
        sync(device)
        start = time.perf_counter()
        fn()
        sync(device)
        best = min(best, time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) / 2**30 if device.type == "cuda" else 0.0
    return best, peak


def emit(figure: str, seconds: float, peak_gib: float, **extra) -> None:
    print(json.dumps({"figure": figure, "ms": round(seconds * 1000, 2), "peak_gib": round(peak_gib, 2), **extra}),
          flush=True)


def check_steps(model, device: torch.device, repeats: int) -> None:
    frames = model.backbone.num_latent_frames
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(1, model.config.model.io_channels, frames, generator=gen).to(device)
    t = torch.full((1,), 0.5, device=device)
    context = torch.randn(1, model.backbone.num_mm_tokens, model.backbone.mm_token_dim, generator=gen).to(device)
    with torch.no_grad():
        prepared = model.prepare_guidance(context)
        emit("turbo_step_exact_fp32", *measure(lambda: model.velocity(x, t, context), device, repeats))
        emit("turbo_step_cached_fp32", *measure(lambda: model.guided_velocity(x, t, prepared), device, repeats))
        with torch.autocast(device.type, dtype=torch.bfloat16):
            fast = model.prepare_guidance(context)
            emit("turbo_step_fast_bf16", *measure(lambda: model.guided_velocity(x, t, fast), device, repeats))
        latents = x.float()
        emit("vae_decode_11s_fp32", *measure(lambda: model.decode(latents), device, repeats))
        with torch.autocast(device.type, dtype=torch.bfloat16):
            emit("vae_decode_11s_bf16", *measure(lambda: model.decode(latents), device, repeats))


def check_pipeline(model, device: torch.device, label: str, request: GenerationRequest) -> None:
    """First (cold) and second (warm) call of the exact and the fast pipeline on one request."""
    runs = {"exact": AudioX(model, device=device, reuse=False),
            "fast": AudioX(model, device=device, precision="fast")}
    outputs = {}
    for name, pipe in runs.items():
        first, peak = measure(lambda p=pipe, n=name: outputs.__setitem__(n, p(request).audio), device)
        warm, _ = measure(lambda p=pipe: p(request), device)
        emit(f"{label}_{name}_first", first, peak, precision=str(pipe.precision.network_dtype))
        emit(f"{label}_{name}_warm", warm, peak, precision=str(pipe.precision.network_dtype))
    ref, got = outputs["exact"], outputs["fast"]
    snr = 10 * torch.log10(ref.pow(2).mean() / (got - ref).pow(2).mean().clamp_min(1e-30))
    print(json.dumps({"figure": f"{label}_fast_vs_exact_snr_db", "value": round(float(snr), 1)}), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--turbo", default="audiox_turbo_infer_4step")
    p.add_argument("--v1", default="audiox_v1")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--v1-steps", type=int, default=250)
    args = p.parse_args()
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    print(json.dumps({"figure": "versions", "torch": torch.__version__, "cuda": torch.version.cuda,
                      "device": name}), flush=True)
    gen = torch.Generator().manual_seed(0)
    turbo, build_s = build_model(args.turbo, gen)
    turbo = turbo.eval().requires_grad_(False).to(device)
    print(json.dumps({"figure": "turbo_build_s", "value": round(build_s, 1)}), flush=True)
    check_steps(turbo, device, args.repeats)
    check_pipeline(turbo, device, "turbo_t2a_10s", GenerationRequest(text="a dog barks", duration_s=10.0, seed=0))
    del turbo
    if device.type == "cuda":
        torch.cuda.empty_cache()
    v1, _ = build_model(args.v1, gen)
    v1 = v1.eval().requires_grad_(False).to(device)
    request = GenerationRequest(text="a dog barks", duration_s=10.0, seed=0, steps=args.v1_steps, cfg_scale=7.0)
    check_pipeline(v1, device, f"v1_{args.v1_steps}step_cfg_10s", request)


if __name__ == "__main__":
    main()
