"""Distil a diffusion model into a few-step student with DMD (AudioX-Turbo's recipe: distribution matching
against the frozen teacher with CFG, a fake-score network, diffusion-discriminator heads, hinge GAN loss).

    audiox distill --teacher MODEL_DIR --data train.jsonl --out runs/turbo
    audiox distill --teacher MODEL_DIR --data cache/ --out runs/turbo --set run.max_steps=2000
    audiox generate "two knocks then a bell" --model runs/turbo/export/final      (4-step DMD, no CFG)
Data: the formats of `audiox train` (a JSONL manifest or an `audiox encode-dataset` cache of the teacher).
Settings: --config distill.json (audiox.training.distill_config.DistillConfig; absent fields keep the official
Turbo values: lr 1e-5, teacher_guidance_scale 6, 4 student steps, 5 student updates per fake update) and
dotted overrides, e.g. --set teacher_guidance_scale=4 --set update_ratio_s_f=1 --set run.batch_size=8.
Resume with --resume OUT/checkpoints/last.ckpt (optimizer, student, fake network, discriminator, EMA and
data position restored; the teacher is read again from --teacher).
Needs the `train` extra (pip install 'audiox[train]').
"""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--teacher", required=True, help="model folder of the teacher (the student starts as a copy)")
    p.add_argument("--data", required=True, help="training manifest (.jsonl) or an `audiox encode-dataset` cache")
    p.add_argument("--out", required=True, help="output folder: checkpoints/, logs/, export/")
    p.add_argument("--config", default=None, help="distillation config JSON (DistillConfig fields)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="dotted override of a config field, e.g. run.max_steps=100 (repeatable)")
    p.add_argument("--resume", default=None, help="Lightning checkpoint to resume from")


def run(args: argparse.Namespace) -> int:
    from audiox.training.config import load_train_config
    from audiox.training.distill_config import DistillConfig
    from audiox.training.distill_module import distill

    cfg = load_train_config(DistillConfig, args.config, args.overrides)
    result = distill(args.teacher, cfg, args.data, args.out, resume=args.resume)
    if result.trainer.is_global_zero:
        print(f"distilled {result.trainer.global_step} steps; model folder: {result.out_dir / 'export' / 'final'}")
    return 0
