"""Training throughput: samples per second and peak memory of `audiox train` for a given config.

    python benchmarks/train.py --model-config tiny-dit --steps 10 --warmup 3 --set run.batch_size=4
    python benchmarks/train.py --init MODEL_DIR --data train.jsonl --set run.precision=bf16-mixed

Runs the real Lightning training loop (no checkpoints, demos or export); without --data a synthetic
manifest of sine WAVs at the model's rate is generated in a temporary folder. Prints figures; asserts
nothing. Peak memory: CUDA max allocated on GPU, the process's peak RSS on CPU.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import lightning.pytorch as pl
import numpy as np
import soundfile as sf
import torch

from audiox.training.config import TrainConfig, apply_overrides, load_train_config
from audiox.training.fit import ManifestDataModule, build_trainer, build_training_model, manifest_dataset
from audiox.training.lightning_module import DiffusionTrainingModule


class StepTimer(pl.Callback):
    """Wall time of each optimizer step (from the first micro-batch start to the step's end)."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._start: float | None = None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        if self._start is None:
            self._start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if (batch_idx + 1) % trainer.accumulate_grad_batches == 0:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            self.times.append(time.perf_counter() - self._start)
            self._start = None


def synthetic_manifest(folder: Path, sample_rate: int, seconds: float, items: int) -> Path:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    lines = []
    for i in range(items):
        audio = 0.4 * np.sin(2 * np.pi * (110 + 40 * i) * t)
        path = folder / f"item{i}.wav"
        sf.write(path, np.stack([audio, audio]).T.astype(np.float32), sample_rate)
        lines.append(json.dumps({"path": str(path), "type": "audio_condition-audio", "caption": "a dog barks"}))
    (folder / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return folder / "manifest.jsonl"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = p.add_mutually_exclusive_group()
    source.add_argument("--init", default=None, help="model folder")
    source.add_argument("--model-config", default=None, help="tiny-dit (default), tiny-mmdit or a config.json")
    p.add_argument("--data", default=None, help="manifest (default: synthetic)")
    p.add_argument("--config", default=None, help="training config JSON")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--steps", type=int, default=10, help="timed optimizer steps")
    p.add_argument("--warmup", type=int, default=3, help="untimed optimizer steps first")
    args = p.parse_args(argv)
    cfg = load_train_config(TrainConfig, args.config, args.overrides)
    cfg = apply_overrides(cfg, [f"run.max_steps={args.warmup + args.steps}", "run.checkpoint_every_n_steps=1000000000"])
    built = build_training_model(init=args.init, model_config=args.model_config or (None if args.init else "tiny-dit"))
    model = built.model
    with tempfile.TemporaryDirectory() as tmp:
        manifest = args.data or synthetic_manifest(Path(tmp), model.config.sample_rate,
                                                   model.config.sample_size / model.config.sample_rate + 1, 8)
        dataset = manifest_dataset(model, cfg, manifest)
        timer = StepTimer()
        trainer = build_trainer(cfg.run, Path(tmp) / "run", [timer])
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        trainer.fit(DiffusionTrainingModule(model, cfg), datamodule=ManifestDataModule(dataset, cfg.run))
    timed = timer.times[args.warmup:]
    samples = cfg.run.batch_size * cfg.run.accumulate_grad_batches * trainer.world_size
    seconds = sum(timed) / max(1, len(timed))
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({torch.get_num_threads()} threads)"
    peak = (torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available()
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    print(f"device:            {device}, precision {trainer.precision}, strategy {cfg.run.strategy}")
    print(f"model:             {args.init or args.model_config or 'tiny-dit'} ({model.config.model.diffusion.type}), "
          f"window {model.config.sample_size} samples at {model.config.sample_rate} Hz")
    print(f"batch:             {cfg.run.batch_size} x accumulate {cfg.run.accumulate_grad_batches} x {trainer.world_size} ranks")
    print(f"step time:         {seconds * 1000:.1f} ms (mean of {len(timed)} steps after {args.warmup} warm-up)")
    print(f"samples / second:  {samples / seconds:.2f}")
    print(f"peak memory:       {peak:.0f} MiB ({'CUDA allocated' if torch.cuda.is_available() else 'process RSS'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
