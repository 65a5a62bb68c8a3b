"""Size budget and CPU generation time of audiox's own small model (`audiox.config.own_model`).

Prints one row per component (parameters, MB as float32 / float16), the weight files of a saved model
folder in the shipped dtype, and the wall time of whole `pipe.generate(...)` calls (10 s, random weights,
conditioners + sampler + VAE decode) plus the load time of the saved folder. Figures only; nothing is
asserted. Random weights; nothing is downloaded. Optionally writes the random-init folder (float32) that
the training session starts from (`--save-init DIR`).

    python benchmarks/own_model_budget.py --backbone dit --steps 25 --threads 2 --repeats 3
    python benchmarks/own_model_budget.py --backbone mmdit --save-init runs/own_init_mmdit
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from audiox.config.own_model import MAX_WEIGHT_BYTES, OWN_STORAGE_DTYPE, own_small_config_dict
from audiox.diffusion.model import num_parameters
from audiox.pipeline import AudioX
from audiox.pipeline.load import load_pipeline, save_pipeline
from audiox.synth.training_data import build_own_model, to_storage_dtype

SAMPLERS = {"dit": "dpmpp-3m-sde", "mmdit": "rf-euler"}
MB = 1e6


def component_rows(model, text_encoder_model) -> list[tuple[str, int]]:
    """(name, parameters) per component; the VAE copy inside the audio conditioner is its own row."""
    rows = [("backbone", num_parameters(model.backbone)), ("maf_block", num_parameters(model.maf_block)),
            ("pretransform (VAE)", num_parameters(model.pretransform))]
    for cond_id, module in model.conditioner.conditioners.items():
        for name, child in module.named_children():
            rows.append((f"{cond_id}.{name}", num_parameters(child)))
        own = sum(p.numel() for n, p in module.named_parameters(recurse=False))
        if own:
            rows.append((f"{cond_id} (own parameters)", own))
    rows.append(("t5 (own text encoder, t5/)", num_parameters(text_encoder_model)))
    return rows


def print_budget(rows: list[tuple[str, int]]) -> int:
    total = sum(n for _, n in rows)
    print(f"{'component':44s} {'params':>11s} {'MB fp32':>9s} {'MB fp16':>9s}")
    for name, n in rows:
        if n:
            print(f"{name:44s} {n:11,d} {4 * n / MB:9.2f} {2 * n / MB:9.2f}")
    print(f"{'TOTAL':44s} {total:11,d} {4 * total / MB:9.2f} {2 * total / MB:9.2f}")
    return total


def time_generate(pipe: AudioX, *, steps: int, sampler: str, repeats: int) -> list[float]:
    pipe.generate("a bell rings once", steps=2, cfg_scale=6.0, sampler=sampler)  # warm-up
    times = []
    for seed in range(repeats):
        start = time.perf_counter()
        out = pipe.generate("two knocks then a bell", steps=steps, cfg_scale=6.0, sampler=sampler, seed=seed)
        times.append(time.perf_counter() - start)
    print(f"output {tuple(out.audio.shape)} at {out.sample_rate} Hz")
    return times


def load_average() -> str:
    """The 1-minute load average (Linux), to judge how shared the CPU was."""
    path = Path("/proc/loadavg")
    return path.read_text().split()[0] if path.is_file() else "?"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--backbone", choices=["dit", "mmdit"], default="dit")
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--save-init", type=Path, default=None, help="also write the random-init float32 folder here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    model, options = build_own_model(args.backbone, seed=args.seed)
    text_encoder = model.conditioner.conditioners["text_prompt"].text_encoder
    cfg = own_small_config_dict(args.backbone)
    vae = cfg["model"]["pretransform"]["config"]
    print(f"own model ({args.backbone}): {cfg['sample_rate']} Hz, {cfg['audio_channels']} ch, VAE x"
          f"{vae['downsampling_ratio']} in time, latent dim {vae['latent_dim']} "
          f"({vae['downsampling_ratio'] * cfg['audio_channels'] / vae['latent_dim']:.0f}x fewer numbers), "
          f"{cfg['sample_size'] // vae['downsampling_ratio']} latent frames per 10 s")
    print_budget(component_rows(model, text_encoder.model))
    pipe = AudioX(model)
    with tempfile.TemporaryDirectory() as tmp:
        folder = save_pipeline(pipe, Path(tmp) / "own", options=options)
        to_storage_dtype(str(folder), getattr(torch, OWN_STORAGE_DTYPE))
        files = {str(f.relative_to(folder)): f.stat().st_size for f in folder.rglob("*.safetensors")}
        weight_bytes = sum(files.values())
        print(f"saved folder ({OWN_STORAGE_DTYPE}): {files} -> {weight_bytes / MB:.2f} MB "
              f"(limit {MAX_WEIGHT_BYTES / MB:.0f} MB: {'ok' if weight_bytes <= MAX_WEIGHT_BYTES else 'OVER'})")
        start = time.perf_counter()
        load_pipeline(folder)
        print(f"load_pipeline: {time.perf_counter() - start:.2f} s")
    sampler = SAMPLERS[args.backbone]
    times = time_generate(pipe, steps=args.steps, sampler=sampler, repeats=args.repeats)
    print(f"generate 10 s, {args.steps} steps {sampler}, cfg 6, {args.threads} threads: "
          f"min {min(times):.2f} s, median {statistics.median(times):.2f} s over {len(times)} runs "
          f"(load average now {load_average()})")
    if args.save_init is not None:
        save_pipeline(pipe, args.save_init, options=options)
        print(f"random-init model folder (float32): {args.save_init}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
