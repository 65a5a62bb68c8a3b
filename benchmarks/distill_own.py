"""Distil the shipped own model into a 4-step DMD student on its synthetic world (issue 18's proof run).

    python benchmarks/distill_own.py --out runs/distill                 (cache, then distillation; resumable)
    audiox bench --tasks t2a --num 20 --json teacher.json                                   (the teacher)
    audiox bench --model runs/distill/proof/export/final --tasks t2a --num 20 --json student.json

Stage 1 encodes `--items` synthetic training examples (the recipe of `audiox train-own`: seed 0, world 0,
its task weights) with the shipped model's frozen encoders into OUT/cache; stage 2 runs `audiox distill`
with the settings below into OUT/proof, continuing from OUT/proof/checkpoints/last.ckpt when it exists.
Prints the run's wall time.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

# CPU-sized: a higher learning rate than the official 1e-5 (a few hundred steps, not tens of thousands), a
# short warm-up, and one fake-score update per student update (official: 5 student updates per fake one)
PROOF_SETTINGS = [
    "run.batch_size=8", "run.checkpoint_every_n_steps=50", "run.log_every_n_steps=5", "optimizer.lr=1e-4",
    "scheduler.warmup=0.9", "teacher_guidance_scale=6.0", "update_ratio_s_f=1", "fake_updates_per_cycle=1",
]


def main() -> None:
    from audiox.pipeline.load import default_model_dir, load_pipeline
    from audiox.synth.own_training import OWN_TASK_WEIGHTS
    from audiox.synth.training_data import SynthTrainingDataset, synth_training_config
    from audiox.training.config import load_train_config
    from audiox.training.distill_config import DistillConfig
    from audiox.training.distill_module import distill
    from audiox.training.encode_dataset import encode_dataset

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--items", type=int, default=384, help="cached synthetic training examples")
    p.add_argument("--steps", type=int, default=200, help="distillation optimizer steps")
    args = p.parse_args()
    started = time.perf_counter()
    cache = args.out / "cache"
    if not (cache / "index.json").is_file():
        model = load_pipeline(None).model
        cfg = synth_training_config(model, seed=0, world_seed=0, length=args.items, music_prob=0.25,
                                    task_weights=OWN_TASK_WEIGHTS, random_sign_flip=False)
        encode_dataset(model, SynthTrainingDataset(cfg), cache, batch_size=8, progress=True)
    cfg = load_train_config(DistillConfig, None, [*PROOF_SETTINGS, f"run.max_steps={args.steps}"])
    last = args.out / "proof" / "checkpoints" / "last.ckpt"
    distill(default_model_dir(), cfg, cache, args.out / "proof", resume=last if last.is_file() else None)
    print(f"student: {args.out / 'proof' / 'export' / 'final'} ({(time.perf_counter() - started) / 60:.1f} min)")


if __name__ == "__main__":
    main()
