"""Exact vs optimised, per component, in one process with random weights: the ratios of issue 19.

    python benchmarks/speed.py --config audiox_turbo_infer_4step --repeats 2
    python benchmarks/speed.py --config audiox_v1 --parts step --repeats 2
    python benchmarks/speed.py --config tiny-mmdit --repeats 5 --fast

Parts (`--parts`, comma-separated):
- `step`: one guided network evaluation. exact = `model.velocity` (the official work every step);
  optimised = `model.guided_velocity` with the window's `StepInvariantCache` (built once, its cost printed
  as `prepare`, counted once per window in the totals).
- `cond`: the conditioners of a text-only request (zero video, silent audio prompt). exact = every
  conditioner run (`reuse=False`: CLIP on zeros, the VAE encoder on silence); optimised = `reuse=True` (the
  empty feature without CLIP, the memoised silence encoding; its first, memo-filling call printed apart).
- `e2e` (not in the default): whole windows through `AudioX`, exact / optimised / fast alternating, each
  from an empty silence memo (a fresh process's first call).
- `decode`: VAE decode. exact = the snake activation out of place (as before, patched in for the pair);
  optimised = the in-place snake of inference (bit-identical).
Calls alternate exact / optimised, so load on a shared machine hits both alike; each ratio is computed per
pair and the median pair ratio is printed with the spread. `--fast` adds the fast mode (the network and the
VAE decode under bf16 autocast, with the cache) and its distance from the exact output. Window totals =
cond + steps x step (+ prepare) + decode. Printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext

import torch
from generate import build_model, clear_memos, conditioner_inputs, default_cfg, default_steps


def alternate(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each function, called in turn `repeats` times."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def ratio_line(label: str, times: dict[str, list[float]], base: str, other: str) -> str:
    ratios = [b / o for b, o in zip(times[base], times[other])]
    return (f"{label:<28} {base} {statistics.median(times[base]):9.3f} s   {other} "
            f"{statistics.median(times[other]):9.3f} s   ratio {statistics.median(ratios):5.2f}x "
            f"(pairs {min(ratios):.2f}-{max(ratios):.2f})")


def autocast(device: torch.device, dtype: torch.dtype):
    return torch.autocast(device.type, dtype=dtype) if dtype != torch.float32 else nullcontext()


def bench_step(model, context, x, t, args, device) -> dict[str, float]:
    """exact step, cached step, prepare; with --fast the bf16 cached step and its error."""
    with torch.no_grad():
        start = time.perf_counter()
        prepared = model.prepare_guidance(context, cfg_scale=args.cfg_scale)
        prepare_s = time.perf_counter() - start
        fns = {
            "exact": lambda: model.velocity(x, t, context, cfg_scale=args.cfg_scale),
            "cached": lambda: model.guided_velocity(x, t, prepared),
        }
        if args.fast:
            with autocast(device, torch.bfloat16):
                fast_prepared = model.prepare_guidance(context, cfg_scale=args.cfg_scale)

            def fast():
                with autocast(device, torch.bfloat16):
                    return model.guided_velocity(x, t, fast_prepared)

            fns["fast"] = fast
        times = alternate(fns, args.repeats)
        print(ratio_line("network step", times, "exact", "cached"))
        print(f"{'  prepare (once per window)':<28} {prepare_s:9.3f} s")
        out = {"exact": statistics.median(times["exact"]), "cached": statistics.median(times["cached"]),
               "prepare": prepare_s}
        exact_out = fns["exact"]()
        assert torch.equal(fns["cached"](), exact_out), "cached step differs from the exact step"
        print(f"{'  cached == exact':<28} bit-identical (torch.equal)")
        if args.fast:
            print(ratio_line("network step, fast", times, "exact", "fast"))
            diff = (fast().float() - exact_out).abs()
            print(f"{'  fast vs exact':<28} max abs {diff.max():.3e}  mean abs {diff.mean():.3e}  "
                  f"(exact mean abs {exact_out.abs().mean():.3e})")
            out["fast"] = statistics.median(times["fast"])
    return out


def bench_cond(model, inputs) -> dict[str, float]:
    def run(reuse: bool):
        with torch.no_grad():
            return model.conditioner(inputs, generator=torch.Generator().manual_seed(0), reuse=reuse)

    start = time.perf_counter()
    first = run(True)  # fills the silence memo
    first_s = time.perf_counter() - start
    return {"first": first_s, "out": first, "run": run}


@contextmanager
def out_of_place_snake():
    """The VAE's snake as before (four full-size temporaries), for the decode's exact-vs-optimised pair."""
    from audiox.vae import snake

    def reference(x, log_alpha, log_beta):
        alpha, beta = torch.exp(log_alpha)[None, :, None], torch.exp(log_beta)[None, :, None]
        return x + (1.0 / (beta + 1e-9)) * torch.sin(x * alpha).pow(2)

    saved, snake.snake_beta = snake.snake_beta, reference
    try:
        yield
    finally:
        snake.snake_beta = saved


def bench_decode(model, latents, args, device) -> dict[str, float]:
    """exact = the decoder with the out-of-place snake; optimised = the in-place snake (bit-identical)."""
    def exact():
        with out_of_place_snake():
            return model.decode(latents)

    with torch.no_grad():
        fns = {"exact": exact, "in-place": lambda: model.decode(latents)}
        if args.fast:
            def fast():
                with autocast(device, torch.bfloat16):
                    return model.decode(latents)

            fns["fast"] = fast
        times = alternate(fns, args.repeats)
        out = {"exact": statistics.median(times["exact"]), "optimised": statistics.median(times["in-place"])}
        print(ratio_line("VAE decode (snake)", times, "exact", "in-place"))
        same = torch.equal(fns["exact"](), fns["in-place"]())
        print(f"{'  in-place == exact':<28} {same}")
        if args.fast:
            print(ratio_line("VAE decode, fast", times, "exact", "fast"))
            ref, got = fns["exact"](), fns["fast"]().float()
            snr = 10 * torch.log10(ref.pow(2).mean() / (got - ref).pow(2).mean())
            print(f"{'  fast vs exact':<28} SNR {snr:.1f} dB, max abs {(got - ref).abs().max():.3e}")
            out["fast"] = statistics.median(times["fast"])
    return out


def bench_e2e(model, args) -> None:
    """Whole text-to-audio windows through the pipeline, alternating: exact (official work, `reuse=False`),
    optimised (exact precision, reuse; the silence memo cleared first: a fresh process's first call) and
    fast (precision fast, memo cleared too). Output equality / SNR against exact printed."""
    from audiox.pipeline import AudioX, GenerationRequest

    pipes = {"exact": AudioX(model, reuse=False), "optimised": AudioX(model), "fast": AudioX(model, precision="fast")}
    request = GenerationRequest(text="a dog barks", duration_s=10.0, seed=1, cfg_scale=args.cfg_scale,
                                steps=args.steps, batch_size=args.batch_size)
    outputs = {}

    def run(name: str):
        clear_memos(model)
        outputs[name] = pipes[name](request).audio

    times = alternate({name: (lambda n=name: run(n)) for name in pipes}, args.repeats)
    print(ratio_line("text-to-audio window", times, "exact", "optimised"))
    print(ratio_line("text-to-audio window, fast", times, "exact", "fast"))
    ref = outputs["exact"]
    snr = 10 * torch.log10(ref.pow(2).mean() / (outputs["fast"] - ref).pow(2).mean())
    print(f"{'  optimised == exact':<28} {torch.equal(outputs['optimised'], ref)}; fast vs exact SNR {snr:.1f} dB")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description="exact vs optimised per component (prints ratios)")
    p.add_argument("--config", default="tiny-mmdit",
                   help="tiny-dit | tiny-mmdit | audiox_v1 | audiox_turbo_infer_4step | PATH")
    p.add_argument("--parts", default="step,cond,decode")
    p.add_argument("--steps", type=int, default=None, help="steps for the window totals (default: the model's)")
    p.add_argument("--cfg-scale", type=float, default=None, help="default: 1 for Turbo (DMD), else 7")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--fast", action="store_true", help="also time the bf16 fast mode and its error")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    device, generator = torch.device("cpu"), torch.Generator().manual_seed(args.seed)
    model, build_s = build_model(args.config, generator)
    model = model.eval().requires_grad_(False)
    args.cfg_scale = args.cfg_scale if args.cfg_scale is not None else default_cfg(model)
    steps = args.steps or default_steps(model)
    frames = getattr(model.backbone, "num_latent_frames", None)
    frames = frames or model.config.sample_size // model.pretransform.downsampling_ratio
    parts = set(args.parts.split(","))
    print(f"config {args.config} ({model.config.model.diffusion.type}), built in {build_s:.0f} s; threads "
          f"{torch.get_num_threads()}, batch {args.batch_size}, cfg {args.cfg_scale}, L {frames}, steps {steps}, "
          f"repeats {args.repeats}")
    inputs = conditioner_inputs(model, args.batch_size, "none", generator)
    totals = {"exact": 0.0, "optimised": 0.0}
    if "cond" in parts:
        cond = bench_cond(model, inputs)
        times = alternate({"exact": lambda: cond["run"](False), "reuse": lambda: cond["run"](True)}, args.repeats)
        exact_out = cond["run"](False)
        same = all(torch.equal(a, b) for k in exact_out for a, b in zip(exact_out[k], cond["out"][k]))
        print(ratio_line("conditioners (text only)", times, "exact", "reuse"))
        print(f"{'  first call (memo fill)':<28} {cond['first']:9.3f} s; reuse == exact: {same}")
        totals["exact"] += statistics.median(times["exact"])
        totals["optimised"] += statistics.median(times["reuse"])
    with torch.no_grad():
        context = model.fuse(model.conditioner(inputs, generator=torch.Generator().manual_seed(0)))[0]
    x = torch.randn(args.batch_size, model.config.model.io_channels, frames, generator=generator)
    t = torch.full((args.batch_size,), 0.5)
    if "step" in parts:
        step = bench_step(model, context, x, t, args, device)
        totals["exact"] += steps * step["exact"]
        totals["optimised"] += steps * step["cached"] + step["prepare"]
    if "decode" in parts:
        decode = bench_decode(model, x, args, device)
        totals["exact"] += decode["exact"]
        totals["optimised"] += decode["optimised"]
    if "e2e" in parts:
        bench_e2e(model, args)
    if parts >= {"step", "cond", "decode"}:
        print(f"{'window total (estimate)':<28} exact {totals['exact']:9.1f} s   optimised "
              f"{totals['optimised']:9.1f} s   ratio {totals['exact'] / totals['optimised']:5.2f}x")


if __name__ == "__main__":
    main()
