"""The measured curve of an own-model run: each saved diffusion checkpoint exported as a model folder
(`synth.own_training.export_checkpoint`, EMA backbone) and scored by `audiox bench` and the conditioning gap.
Figures only; run it beside (or after) `audiox train-own`.

    python benchmarks/own_curve.py --run runs/A --steps 800,1200,2000 --tasks t2a --num 20
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", type=Path, required=True, help="train-own run folder (with model/ and dit/checkpoints/)")
    p.add_argument("--steps", required=True, help="comma-separated checkpoint steps, e.g. 400,800,1200")
    p.add_argument("--tasks", default="t2a", help="bench tasks")
    p.add_argument("--num", type=int, default=20, help="bench cases per task")
    p.add_argument("--seed", type=int, default=0, help="bench set seed")
    p.add_argument("--gap", action="store_true", help="also print the conditioning gap (t2a,v2a,tv2a, 16 cases)")
    args = p.parse_args(argv)
    from audiox.synth.own_training import export_checkpoint

    for step in (int(s) for s in args.steps.split(",")):
        checkpoint = args.run / "dit" / "checkpoints" / f"step_{step:07d}.ckpt"
        if not checkpoint.is_file():
            print(f"step {step}: {checkpoint} not found, skipped", flush=True)
            continue
        folder = args.run / "curve" / f"step_{step}"
        export_checkpoint(args.run / "model", checkpoint, folder)
        print(f"== step {step} ({folder})", flush=True)
        bench = [sys.executable, "-m", "audiox.cli.main", "--quiet", "bench", "--model", str(folder),
                 "--tasks", args.tasks, "--num", str(args.num), "--seed", str(args.seed)]
        subprocess.run(bench, check=True)
        if args.gap:
            gap = [sys.executable, str(Path(__file__).with_name("conditioning_gap.py")), "--model", str(folder),
                   "--tasks", "t2a,v2a,tv2a", "--num", "16"]
            subprocess.run(gap, check=True)


if __name__ == "__main__":
    main()
