"""How much a model folder uses its conditions (`audiox.evaluation.conditioning_gap`): per task, the
denoising loss of bench cases with their own context, a swapped one and the empty one. Figures only.

    python benchmarks/conditioning_gap.py                      # the shipped model, t2a,v2a, 16 cases each
    python benchmarks/conditioning_gap.py --model runs/own/model --tasks t2a,tv2a,v2a --num 32
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from audiox.evaluation.bench_sets import BenchSpec, build_bench_set
from audiox.evaluation.conditioning_gap import conditioning_gap
from audiox.pipeline import AudioX


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--tasks", default="t2a,v2a", help="comma-separated bench tasks")
    p.add_argument("--num", type=int, default=16, help="cases per task (>= 2)")
    p.add_argument("--seed", type=int, default=0, help="bench set seed")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = AudioX.from_pretrained(args.model)
    spec = BenchSpec(tasks=tuple(args.tasks.split(",")), num_per_task=args.num, seed=args.seed)
    print(f"model {args.model or '(shipped)'}  objective {pipe.model.objective}  window {pipe.window_s:.2f} s")
    with tempfile.TemporaryDirectory(prefix="audiox_gap_") as work:
        cases = build_bench_set(spec, sample_rate=pipe.sample_rate, duration_s=pipe.window_s, workdir=work)
        for task_cases in cases.values():
            start = time.perf_counter()
            gap = conditioning_gap(pipe, task_cases)
            print(f"{gap.line()}  ({time.perf_counter() - start:.1f} s)", flush=True)


if __name__ == "__main__":
    main()
