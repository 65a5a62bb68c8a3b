"""Generation speed with random weights: conditioner time, ms per network evaluation (one guided
`model.velocity` call, CFG batched as [cond; uncond]), VAE decode time, and the real-time factor.

    python benchmarks/generate.py --config tiny-dit --steps 8
    python benchmarks/generate.py --config audiox_turbo_infer_4step --parts nfe --warmup 0 --repeats 1

Configs: tiny-dit / tiny-mmdit (the test presets, plain random init), an official name (audiox_v1,
audiox_turbo_infer_4step) or a config.json PATH (built on `meta`, then random tensors assigned through
the fast loader: no slow init; the T5 is a random encoder of the t5-base architecture with a word tokenizer,
so tokenization is not representative but the encoder cost is). Conditioner inputs are what a text-to-audio
request builds (`--media none`: zero video -> empty feature, silent audio prompt) or random video frames /
sync features / audio (`--media random`). Everything runs as the pipeline runs it: conditioners and VAE in
float32, the network under autocast when `--dtype` is not float32.

RTF = generated seconds / (conditioners + steps x NFE + decode), one NFE per step (the default samplers:
dpmpp-3m-sde, rf-euler and the Turbo DMD sampler all evaluate the network once per step).

`--modes official,exact,fast` instead runs whole text-to-audio windows through `AudioX` with a `StageClock`
(`pipeline.stage_clock`), the modes alternating, and prints one table row per stage (conditioners, prepare,
steps, decode, window): `official` = the official work (`reuse=False`), `exact` = the default pipeline (exact
numerics, step-invariant reuse), `fast` = `precision="fast"`; the savings are official / exact and exact /
fast, from the medians. Every call starts from an empty silence memo (what a fresh `audiox generate` pays).

    python benchmarks/generate.py --config audiox_turbo_infer_4step --modes official,exact,fast --repeats 2

The figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from contextlib import nullcontext

import torch
from torch import Tensor, nn

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
TINY = {"tiny-dit": "dit", "tiny-mmdit": "mmdit"}


def random_state(module: nn.Module, generator: torch.Generator) -> dict[str, Tensor]:
    """Cheap random values for every state-dict entry: matrices U(+-1/sqrt(fan_in)) (keeps activations O(1),
    no denormals), 1-D `weight`/`gamma` ones, other 1-D tensors (biases, betas) zeros."""
    out = {}
    for key, ref in module.state_dict().items():
        if not ref.is_floating_point():
            out[key] = torch.zeros(ref.shape, dtype=ref.dtype)
        elif ref.dim() >= 2:
            bound = (ref[0].numel() if ref.shape[0] else 1) ** -0.5
            out[key] = torch.empty(ref.shape, dtype=ref.dtype).uniform_(-bound, bound, generator=generator)
        elif key.endswith(("weight", "gamma")):
            out[key] = torch.ones(ref.shape, dtype=ref.dtype)
        else:
            out[key] = torch.zeros(ref.shape, dtype=ref.dtype)
    return out


def random_module(build: Callable[[], nn.Module], generator: torch.Generator) -> nn.Module:
    """Build on meta, assign random tensors through the fast loader (buffers recomputed)."""
    from audiox.checkpoints.materialize import build_on_meta, load_and_materialize

    module = build_on_meta(build)
    return load_and_materialize(module, random_state(module, generator), config_name="random", source="random")


def random_t5(width: int, generator: torch.Generator):
    """A t5-base-architecture encoder of width `width` with random weights, and the tiny word tokenizer."""
    from transformers import T5Config, T5EncoderModel

    from audiox.conditioning.text_t5 import T5TextEncoder
    from audiox.conditioning.tiny_encoders import word_tokenizer

    cfg = T5Config(vocab_size=32128, d_model=width, d_kv=64, d_ff=4 * width, num_layers=12,
                   num_heads=width // 64, feed_forward_proj="relu")
    return T5TextEncoder(tokenizer=word_tokenizer(), model=random_module(lambda: T5EncoderModel(cfg), generator))


def build_model(name: str, generator: torch.Generator):
    """(DiffusionModel, seconds to build) for a tiny preset, an official name or a config.json path."""
    from audiox.conditioning.text_t5 import T5_MODEL_DIMS
    from audiox.conditioning.tiny_encoders import tiny_conditioner_options, tiny_t5
    from audiox.config.parse import load_config
    from audiox.config.presets import OFFICIAL_CONFIGS, official_config_path, tiny_config
    from audiox.diffusion.model import DiffusionModel

    start = time.perf_counter()
    if name in TINY:
        model = DiffusionModel(tiny_config(TINY[name]), text_encoder=tiny_t5(), conditioner_options=tiny_conditioner_options())
        return model, time.perf_counter() - start
    cfg = load_config(official_config_path(name) if name in OFFICIAL_CONFIGS else name)
    t5 = [c for c in (cfg.model.conditioning.configs if cfg.model.conditioning else ()) if c.type == "t5"]
    text_encoder = random_t5(T5_MODEL_DIMS[t5[0].config.t5_model_name], generator) if t5 else None
    model = random_module(lambda: DiffusionModel(cfg, text_encoder=text_encoder), generator)
    return model, time.perf_counter() - start


def conditioner_inputs(model, batch: int, media: str, generator: torch.Generator) -> dict:
    """What the pipeline builds for a text-to-audio window; `media="random"` fills video/sync/audio."""
    from audiox.conditioning.conditioner_set import VideoWithSync
    from audiox.pipeline.inputs import WindowMedia
    from audiox.pipeline.inputs import conditioner_inputs as pipeline_inputs

    inputs = pipeline_inputs(model, WindowMedia("a dog barks", None, 0.0, None), batch_size=batch, synchformer=None)
    if media == "none":
        return inputs

    def fill(x: Tensor, scale: float, offset: float = 0.0) -> Tensor:
        return torch.rand(x.shape, generator=generator) * scale + offset

    for key, value in inputs.items():
        if isinstance(value, VideoWithSync):
            inputs[key] = VideoWithSync(fill(value.video, 255.0), fill(value.sync_features, 2.0, -1.0))
        elif isinstance(value, Tensor):
            inputs[key] = fill(value, 255.0) if value.dim() == 5 else fill(value, 0.2, -0.1)
    return inputs


def timed(fn: Callable[[], object], *, warmup: int, repeats: int, device: torch.device) -> list[float]:
    """Wall seconds of `repeats` calls after `warmup` untimed ones (CUDA synchronised)."""
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return times


def describe(label: str, times: list[float], unit: float = 1.0, suffix: str = "s") -> str:
    med = statistics.median(times) * unit
    return f"{label:<22} median {med:10.1f} {suffix}   min {min(times) * unit:10.1f} {suffix}   ({len(times)} runs)"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description="AudioX generation speed with random weights (prints figures)")
    p.add_argument("--config", default="tiny-dit", help="tiny-dit | tiny-mmdit | audiox_v1 | audiox_turbo_infer_4step | PATH")
    p.add_argument("--steps", type=int, default=None, help="sampler steps for the RTF (default: the model's)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=sorted(DTYPES), default="float32", help="autocast dtype of the network")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    p.add_argument("--cfg-scale", type=float, default=None,
                   help="> 1: CFG on (batched cond + uncond); default 1 for a Turbo (DMD) model, else 7")
    p.add_argument("--latent-length", type=int, default=None, help="latent frames L (default: the model's window)")
    p.add_argument("--media", choices=["none", "random"], default="none")
    p.add_argument("--parts", default="cond,nfe,decode", help="comma-separated subset of cond,nfe,decode")
    p.add_argument("--modes", default=None,
                   help="comma-separated subset of official,exact,fast: per-stage table of whole windows instead")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def default_steps(model) -> int:
    if model.objective == "v":
        return 250
    training = model.config.training or {}
    return int(training["dmd_sample_steps"]) if "dmd_sample_steps" in training else 50


def default_cfg(model) -> float:
    """1 (no CFG) for a Turbo (DMD) model, else the official 7."""
    return 1.0 if "dmd_sample_steps" in (model.config.training or {}) else 7.0


def clear_memos(model) -> None:
    """Forget every remembered silence encoding (a fresh process's first call)."""
    for module in model.modules():
        if hasattr(module, "_silence"):
            module._silence.clear()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    device, dtype = torch.device(args.device), DTYPES[args.dtype]
    generator = torch.Generator().manual_seed(args.seed)
    model, build_s = build_model(args.config, generator)
    model = model.eval().requires_grad_(False).to(device)
    backbone = model.backbone
    frames = args.latent_length or getattr(backbone, "num_latent_frames", None)
    frames = frames or model.config.sample_size // model.pretransform.downsampling_ratio
    steps = args.steps or default_steps(model)
    args.cfg_scale = args.cfg_scale if args.cfg_scale is not None else default_cfg(model)
    params = sum(p.numel() for p in model.parameters())
    print(f"config {args.config}: {model.config.model.diffusion.type}, {params / 1e6:.1f} M parameters "
          f"(backbone {sum(p.numel() for p in backbone.parameters()) / 1e6:.1f} M), built in {build_s:.1f} s")
    print(f"device {device}, dtype {args.dtype}, threads {torch.get_num_threads()}, batch {args.batch_size}, "
          f"L {frames}, cfg_scale {args.cfg_scale}, steps {steps}, media {args.media}")
    if args.modes:
        stage_table(model, args, steps, device)
        return
    results = run_parts(model, args, frames, device, dtype, generator)
    report(results, model, args, frames, steps)


def stage_table(model, args, steps: int, device: torch.device) -> None:
    """Whole text-to-audio windows through `AudioX` per mode (alternating, `args.repeats` rounds after
    `args.warmup`), seconds per stage from a `StageClock`; prints the per-stage table and fast vs exact SNR."""
    from audiox.pipeline import AudioX, GenerationRequest
    from audiox.pipeline.stage_clock import STAGES, StageClock

    settings = {"official": {"reuse": False}, "exact": {}, "fast": {"precision": "fast"}}
    modes = args.modes.split(",")
    unknown = [m for m in modes if m not in settings]
    if unknown:
        raise SystemExit(f"--modes: unknown {unknown}; choose from {', '.join(settings)}")
    clocks = {m: StageClock() for m in modes}
    pipes = {m: AudioX(model, device=device, clock=clocks[m], **settings[m]) for m in modes}
    request = GenerationRequest(text="a dog barks", duration_s=pipes[modes[0]].window_s, seed=1,
                                cfg_scale=args.cfg_scale, steps=steps, batch_size=args.batch_size)
    times: dict[str, dict[str, list[float]]] = {m: {s: [] for s in (*STAGES, "window")} for m in modes}
    outputs = {}
    for round_index in range(args.warmup + args.repeats):
        for mode in modes:
            clear_memos(model)
            clocks[mode].reset()
            start = time.perf_counter()
            outputs[mode] = pipes[mode](request).audio
            total = time.perf_counter() - start
            if round_index >= args.warmup:
                for stage in STAGES:
                    times[mode][stage].append(clocks[mode].seconds.get(stage, 0.0))
                times[mode]["window"].append(total)
    med = {m: {s: statistics.median(v) for s, v in times[m].items()} for m in modes}
    pairs = [(a, b) for a, b in (("official", "exact"), ("exact", "fast")) if a in modes and b in modes]
    print("| stage | " + " | ".join(modes) + " | " + " | ".join(f"{b} vs {a}" for a, b in pairs) + " |")
    print("| --- " * (1 + len(modes) + len(pairs)) + "|")
    for stage in (*STAGES, "window"):
        cells = [f"{med[m][stage]:.3f} s" for m in modes]
        for a, b in pairs:
            both = min(med[a][stage], med[b][stage]) >= 1e-3  # official has no prepare stage (~0 s)
            cells.append(f"{med[a][stage] / med[b][stage]:.2f}x" if both else "-")
        print(f"| {stage} | " + " | ".join(cells) + " |")
    print(f"({args.repeats} rounds after {args.warmup} warm-up, medians; window = the whole call, including "
          "trimming and the stages above)")
    if "exact" in outputs:
        ref = outputs["exact"]
        for mode in modes:
            if mode != "exact":
                err = (outputs[mode] - ref).pow(2).mean()
                snr = "identical" if err == 0 else f"SNR {10 * torch.log10(ref.pow(2).mean() / err):.1f} dB"
                print(f"{mode} vs exact output: {snr}")


def run_parts(model, args, frames: int, device, dtype, generator) -> dict[str, list[float]]:
    """Time the requested parts; -> {part: seconds per run}."""
    from audiox.pipeline.core import _to_device

    parts, batch, results = set(args.parts.split(",")), args.batch_size, {}
    inputs = {k: _to_device(v, device) for k, v in conditioner_inputs(model, batch, args.media, generator).items()}

    def encode() -> Tensor:
        with torch.no_grad():
            return model.fuse(model.conditioner(inputs, generator=torch.Generator().manual_seed(0)))[0]

    if "cond" in parts:
        results["cond"] = timed(encode, warmup=args.warmup, repeats=args.repeats, device=device)
    context = encode()
    x = torch.randn(batch, model.config.model.io_channels, frames, generator=generator).to(device)
    t = torch.full((batch,), 0.5, device=device)
    autocast = torch.autocast(device.type, dtype=dtype) if dtype != torch.float32 else nullcontext()

    def nfe() -> Tensor:
        with torch.no_grad(), autocast:
            return model.velocity(x, t, context, cfg_scale=args.cfg_scale)

    if "nfe" in parts:
        results["nfe"] = timed(nfe, warmup=args.warmup, repeats=args.repeats, device=device)
    if "decode" in parts:
        with torch.no_grad():
            results["decode"] = timed(lambda: model.decode(x.float()), warmup=args.warmup, repeats=args.repeats, device=device)
    return results


def report(results: dict[str, list[float]], model, args, frames: int, steps: int) -> None:
    """Print each part and the real-time factor (when every part was measured)."""
    labels = {"cond": "conditioners", "nfe": "network evaluation", "decode": "VAE decode"}
    for part, times in results.items():
        print(describe(labels[part], times, 1000.0, "ms"))
    decoded_s = model.pretransform.decoded_length(frames) / model.config.sample_rate
    audio_s = min(decoded_s, 10.0) * args.batch_size  # the pipeline keeps min(window, 10 s) per window
    if set(results) == {"cond", "nfe", "decode"}:
        total = statistics.median(results["cond"]) + steps * statistics.median(results["nfe"])
        total += statistics.median(results["decode"])
        print(f"one window: {audio_s:.2f} s of audio in {total:.2f} s ({steps} steps x 1 NFE) -> "
              f"real-time factor {audio_s / total:.3f} (seconds of audio per wall second)")


if __name__ == "__main__":
    main()
