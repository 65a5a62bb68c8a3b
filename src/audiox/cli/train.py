"""Train or fine-tune an AudioX diffusion model on a JSONL manifest (or its cache) with PyTorch Lightning.

Fine-tune from a model folder (official or ours):  audiox train --init MODEL_DIR --data train.jsonl --out runs/ft
From scratch (tiny preset or a config.json):        audiox train --model-config tiny-dit --data train.jsonl --out runs/t
From a cache (no frozen encoder runs per step):
    audiox encode-dataset --model MODEL_DIR --data train.jsonl --out cache
    audiox train --init MODEL_DIR --data cache --out runs/ft
A cache holds fixed windows (offset 0, no sign flip) and must come from the trained model's own frozen
encoders; random audio-prompt span masks become whole-prompt masks there (see audiox.training.lightning_module).
Settings come from --config train.json (audiox.training.config.TrainConfig; absent fields keep the AudioX
defaults) and dotted overrides: --set run.max_steps=1000 --set optimizer.lr=1e-4 --set run.strategy=ddp.
Resume with --resume OUT/checkpoints/last.ckpt (optimizer, scheduler, EMA and data position restored).
The trained (EMA) model is exported to OUT/export/final, loadable by `audiox generate --model`.
LoRA: --lora RANK [--lora-targets to_qkv to_out] [--lora-alpha A] trains only low-rank adapters on the
backbone's linear layers and exports only them (OUT/export/final/adapter.safetensors, the base recorded):
    audiox train --init MODEL_DIR --data train.jsonl --out runs/lora --lora 8
    audiox generate "a new sound" --model MODEL_DIR --lora runs/lora/export/final/adapter.safetensors:0.8
Needs the `train` extra (pip install 'audiox[train]').
"""

from __future__ import annotations

import argparse
import json

from audiox.cli.model_arg import add_download_argument
from audiox.errors import ConfigError


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_training_arguments(
        p,
        data_help="training manifest (.jsonl, official AudioX-Turbo format) or a cache folder written by "
        "`audiox encode-dataset`",
        out_help="output folder: checkpoints/, logs/, demos/, export/",
        config_help="training config JSON (TrainConfig fields); default: AudioX preset",
        init_help="model folder to fine-tune (config.json + weights)",
    )
    p.add_argument("--lora", type=int, default=None, metavar="RANK",
                   help="train only LoRA adapters of this rank on the backbone's linear layers (needs --init)")
    p.add_argument("--lora-targets", nargs="+", default=None, metavar="NAME",
                   help="layers to adapt: globs or words matched against the backbone's linear layer names "
                        "(default: every linear layer)")
    p.add_argument("--lora-alpha", type=float, default=None, help="LoRA alpha (default: the rank, scaling 1)")


def add_training_arguments(
    p: argparse.ArgumentParser, *, data_help: str, out_help: str, config_help: str, init_help: str
) -> None:
    """The options every training verb shares: data, output, config + dotted overrides, model source, resume."""
    p.add_argument("--data", required=True, help=data_help)
    p.add_argument("--out", required=True, help=out_help)
    p.add_argument("--config", default=None, help=config_help)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="dotted override of a config field, e.g. run.max_steps=100 (repeatable)")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--init", default=None,
                        help=f"{init_help}: a folder or a Hugging Face repo id (owner/name)")
    source.add_argument("--model-config", default=None,
                        help="train from scratch: tiny-dit, tiny-mmdit, or a model config.json")
    p.add_argument("--resume", default=None, help="Lightning checkpoint to resume from")
    add_download_argument(p)


def run(args: argparse.Namespace) -> int:
    from audiox.training.config import TrainConfig, load_train_config
    from audiox.training.fit import build_training_model, train_diffusion

    cfg = load_train_config(TrainConfig, args.config, [*args.overrides, *_lora_overrides(args)])
    if cfg.lora.rank > 0 and args.init is None:
        raise ConfigError("--lora adapts an existing model: pass --init MODEL_DIR (the base the adapter is for)")
    built = build_training_model(init=args.init, model_config=args.model_config, seed=cfg.run.seed,
                                 download=args.download)
    result = train_diffusion(
        built.model, cfg, args.data, args.out, resume=args.resume, export_options=built.options,
        synchformer=built.synchformer, base_model=str(args.init or ""),
    )
    if result.trainer.is_global_zero:
        what = "LoRA adapter" if cfg.lora.rank > 0 else "model folder"
        print(f"trained {result.trainer.global_step} steps; {what}: {result.out_dir / 'export' / 'final'}")
    return 0


def _lora_overrides(args: argparse.Namespace) -> list[str]:
    """--lora / --lora-targets / --lora-alpha as `--set lora.*` overrides (so a resume sees the same config)."""
    out = [] if args.lora is None else [f"lora.rank={args.lora}"]
    if args.lora_targets:
        out.append("lora.targets=" + json.dumps(args.lora_targets))
    if args.lora_alpha is not None:
        out.append(f"lora.alpha={args.lora_alpha}")
    return out
