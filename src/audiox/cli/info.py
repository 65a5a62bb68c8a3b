"""Describe a model: family, objective, components with parameter counts, tasks, and the files it needs.

MODEL is a model folder (with config.json), a config.json, or the name of a shipped official config
(audiox_turbo_infer_4step, audiox_v1). The model is built on the meta device: nothing is loaded.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model folder, config.json, or official config name")


def run(args: argparse.Namespace) -> int:
    import torch

    from audiox.config.parse import load_config
    from audiox.config.presets import OFFICIAL_CONFIGS, official_config_path
    from audiox.diffusion.model import DiffusionModel, parameter_counts
    from audiox.pipeline.load import expected_files

    target = Path(args.model)
    cfg = load_config(official_config_path(args.model) if args.model in OFFICIAL_CONFIGS else target)
    with torch.device("meta"):
        model = DiffusionModel(cfg)
    d = cfg.model.diffusion
    conditioners = [f"{c.id} ({c.type})" for c in (cfg.model.conditioning.configs if cfg.model.conditioning else ())]
    print(f"model:        {args.model}")
    print(f"backbone:     {d.type}, embed {d.config.embed_dim}, depth {d.config.depth}, objective {d.diffusion_objective}"
          + (", MAF fusion" if d.gate else ""))
    print(f"audio:        {cfg.sample_rate} Hz, {cfg.audio_channels} ch, window {cfg.sample_size} samples "
          f"({cfg.sample_size / cfg.sample_rate:.2f} s), {cfg.latent_length} latent frames")
    print(f"conditioners: {', '.join(conditioners) or 'none'}")
    print(f"tasks:        {', '.join(_tasks(conditioners))}")
    print("parameters:")
    for name, count in parameter_counts(model).items():
        print(f"  {name:<28} {count:>15,}")
    print("files:")
    folder = target if target.is_dir() else None
    for name, why in expected_files(cfg):
        mark = ""
        if folder is not None:
            present = any((folder / n.strip().rstrip("/").split(" ")[0]).exists() for n in name.split("|"))
            mark = "  [present]" if present else "  [missing]"
        print(f"  {name:<48} {why}{mark}")
    return 0


def _tasks(conditioners: list[str]) -> list[str]:
    kinds = " ".join(conditioners)
    tasks = []
    if "t5" in kinds:
        tasks += ["text-to-audio", "text-to-music"]
    if "clip" in kinds:
        tasks += ["video-to-audio", "video-to-music", "image-to-audio"]
    if "t5" in kinds and "clip" in kinds:
        tasks.append("text+video-to-audio/music")
    if "audio_autoencoder" in kinds:
        tasks += ["audio inpainting", "music continuation"]
    return tasks
