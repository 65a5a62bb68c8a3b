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
Needs the `train` extra (pip install 'audiox[train]').
"""

from __future__ import annotations

import argparse

from audiox.cli.model_arg import add_download_argument


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_training_arguments(
        p,
        data_help="training manifest (.jsonl, official AudioX-Turbo format) or a cache folder written by "
        "`audiox encode-dataset`",
        out_help="output folder: checkpoints/, logs/, demos/, export/",
        config_help="training config JSON (TrainConfig fields); default: AudioX preset",
        init_help="model folder to fine-tune (config.json + weights)",
    )


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

    cfg = load_train_config(TrainConfig, args.config, args.overrides)
    built = build_training_model(init=args.init, model_config=args.model_config, seed=cfg.run.seed,
                                 download=args.download)
    result = train_diffusion(
        built.model, cfg, args.data, args.out, resume=args.resume, export_options=built.options,
        synchformer=built.synchformer,
    )
    if result.trainer.is_global_zero:
        print(f"trained {result.trainer.global_step} steps; model folder: {result.out_dir / 'export' / 'final'}")
    return 0
