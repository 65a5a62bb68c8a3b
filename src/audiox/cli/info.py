"""Describe a model: family, objective, components with parameter counts, tasks, and the files it needs.

MODEL is a model folder (without MODEL: the model shipped in the package; also the folders `audiox train-own`
and `audiox train` export, and official downloads), a Hugging Face repo id in the local cache
(HKUSTAudio/AudioX-MAF; only its config is needed, --download fetches the rest), a config.json, or the name
of a shipped official config (audiox_turbo_infer_4step, audiox_v1). The model is built on the meta device:
no weights are loaded.
"""

from __future__ import annotations

import argparse

from audiox.cli.model_arg import add_download_argument


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "model",
        nargs="?",
        default=None,
        help="model folder, hub repo id, config.json, or official config name (default: the shipped model)",
    )
    add_download_argument(p)


def run(args: argparse.Namespace) -> int:
    from audiox.pipeline.describe import describe_model, tasks

    info = describe_model(args.model, download=args.download)
    cfg, d = info.config, info.config.model.diffusion
    print(f"model:        {info.source}" + ("  (the shipped model)" if args.model is None else ""))
    if info.folder is not None:
        print(f"folder:       {info.folder}")
    print(f"config:       {info.config_path}")
    print(
        f"backbone:     {d.type}, embed {d.config.embed_dim}, depth {d.config.depth}, "
        f"objective {d.diffusion_objective}" + (", MAF fusion" if d.gate else "")
    )
    print(
        f"audio:        {cfg.sample_rate} Hz, {cfg.audio_channels} ch, window {cfg.sample_size} samples "
        f"({cfg.sample_size / cfg.sample_rate:.2f} s), {cfg.latent_length} latent frames"
    )
    print(f"conditioners: {', '.join(info.conditioners) or 'none'}")
    print(f"tasks:        {', '.join(tasks(info.conditioners))}")
    print("parameters:")
    for name, count in info.parameters.items():
        print(f"  {name:<28} {count:>15,}")
    print("files:")
    for f in info.files:
        print(f"  {f.name:<50}  {f.why}" + (f"  [{f.state}]" if f.state else ""))
    if info.download_command is not None:
        print(f"fetch:        {info.download_command}  (or rerun with --download)")
    return 0
