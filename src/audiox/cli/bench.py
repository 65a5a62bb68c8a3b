"""Benchmark a model on fixed-seed synthetic test sets, scored by an analyser independent of the generator.

Tasks: t2a, t2m, v2a, v2m, tv2a, i2a (image-to-audio), inpaint, continuation. Reports Cat/Cnt/Ord/TS
accuracy (scene tasks), V2A onset sync error in ms (video tasks), tempo and key accuracy (music tasks) and
the seam of inpainting / continuation (log-spectral distance across the boundary minus the ground truth's,
dB); then, per scene task, the share of requested kinds heard and the unasked kinds heard per case (missing
kinds and added kinds both lower Cat), and each kind (heard/requested cases, + cases where it was heard
unasked). `--truth` scores the ground-truth renders instead of a model: the analyser's ceiling;
`--reconstruct` scores the model's VAE reconstructions of them: the ceiling its VAE sets for the generator;
`--other-truth` answers each case with another case's ground truth: the floor a model that follows
instructions must clear.

Examples:
  audiox bench --num 20 --json bench.json                 (the shipped model; the README's table)
  audiox bench --model AudioX/ --num 8 --steps 100 --json bench.json
  audiox bench --model tiny/ --tasks t2a,v2a,inpaint --num 1 --steps 2         (the reduced CI set)
  audiox bench --truth --sample-rate 16000 --num 8
  audiox bench --other-truth --tasks t2a,v2a --num 40                (a generator that ignores the instruction)
  audiox bench --reconstruct --tasks t2a --num 20                        (the shipped model's VAE ceiling)
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

from audiox.cli.model_arg import MODEL_HELP, add_download_argument
from audiox.errors import InputError


def add_arguments(p: argparse.ArgumentParser) -> None:
    source = p.add_mutually_exclusive_group()
    source.add_argument("--model", help=f"{MODEL_HELP}; default: the shipped model")
    add_download_argument(p)
    source.add_argument("--truth", action="store_true", help="score the ground-truth renders (no model)")
    source.add_argument(
        "--other-truth", action="store_true",
        help="score each case with the ground truth of the next case of its task (no model): what a perfect "
        "generator that ignores the instruction gets",
    )
    p.add_argument("--reconstruct", action="store_true",
                   help="score the model's VAE reconstructions of the ground truth instead of generations")
    p.add_argument(
        "--tasks", default="all", help="comma-separated: t2a,t2m,v2a,v2m,tv2a,i2a,inpaint,continuation"
    )
    p.add_argument("--num", type=int, default=8, help="cases per task")
    p.add_argument("--seed", type=int, default=0, help="seed of the test set (and of each case's generation)")
    p.add_argument("--steps", type=int, default=None, help="sampling steps (default: the model's)")
    p.add_argument(
        "--cfg-scale", type=float, default=None, help="classifier-free guidance (default: the model's)"
    )
    p.add_argument("--negative", default=None, help="negative text prompt of every case (default: none)")
    p.add_argument(
        "--duration", type=float, default=None, help="seconds per case (default: the model's window, <= 10)"
    )
    p.add_argument(
        "--video-size", type=int, default=112, help="height = width of the rendered videos and images"
    )
    p.add_argument("--sample-rate", type=int, default=16000, help="sample rate of a --truth / --other-truth run")
    p.add_argument("--json", type=Path, help="also write the report as JSON")
    p.add_argument(
        "--workdir", type=Path, help="keep the rendered videos / images here (default: a temp folder)"
    )
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, ...")
    p.add_argument("--t5", type=Path, help="local T5 folder (default: <model>/t5-base, then the HF cache)")
    p.add_argument(
        "--synchformer", type=Path, help="synchformer_state_dict.pth (default: in the model folder)"
    )


def parse_tasks(text: str) -> tuple[str, ...]:
    from audiox.evaluation.bench_sets import TASKS

    if text == "all":
        return TASKS
    tasks = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise InputError(f"--tasks {text!r}: unknown task(s) {unknown}; choose from {','.join(TASKS)} or all")
    return tasks


def run(args: argparse.Namespace) -> int:
    from audiox.evaluation.bench import run_bench
    from audiox.evaluation.bench_sets import BenchSpec

    spec = BenchSpec(
        tasks=parse_tasks(args.tasks),
        num_per_task=args.num,
        seed=args.seed,
        steps=args.steps,
        cfg_scale=args.cfg_scale,
        negative_text=args.negative,
        duration_s=args.duration,
        video_size=args.video_size,
    )
    if args.reconstruct and (args.truth or args.other_truth):
        raise InputError("--reconstruct scores a model's VAE; it cannot be combined with --truth / --other-truth")
    pipe = None
    if not (args.truth or args.other_truth):
        from audiox.pipeline import AudioX

        pipe = AudioX.from_pretrained(
            args.model, device=args.device, t5=args.t5, synchformer=args.synchformer, download=args.download
        )
    progress = None if args.quiet else (lambda text: print(f"bench: {text}", file=sys.stderr, flush=True))
    report = run_bench(
        pipe,
        spec,
        sample_rate=args.sample_rate if pipe is None else None,
        workdir=args.workdir,
        progress=progress,
        reconstruct=args.reconstruct,
        other_truth=args.other_truth,
    )
    report = replace(
        report, settings={**report.settings, "model": report.settings["generator"] if pipe is None
                          else str(args.model or "shipped")}
    )
    print(report.table())
    kinds = report.kinds_table()
    if kinds:
        print(kinds)
    if args.json is not None:
        _write_json(args.json, report.to_dict())
    return 0


def _write_json(path: Path, data: dict) -> None:
    """Atomic write (tmp + replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    tmp.replace(path)
