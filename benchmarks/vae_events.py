"""Which event kinds a model's VAE keeps (`audiox.evaluation.event_fidelity`): isolated events through the
VAE, heard by the bench's analyser, per kind, with the dB the VAE adds or loses per band group. Figures only.

    python benchmarks/vae_events.py                              # the shipped model, 10 events per kind
    python benchmarks/vae_events.py --model runs/own/model --per-kind 20
"""

from __future__ import annotations

import argparse
import time

import torch

from audiox.evaluation.analyser import Analyser
from audiox.evaluation.event_fidelity import event_fidelity
from audiox.pipeline import AudioX


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--per-kind", type=int, default=10, help="events per kind")
    p.add_argument("--seed", type=int, default=0, help="seed of the events")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    pipe = AudioX.from_pretrained(args.model)
    start = time.perf_counter()
    results = event_fidelity(pipe.reconstruct, Analyser.trained(), sample_rate=pipe.sample_rate,
                             per_kind=args.per_kind, seed=args.seed)
    print_fidelity(f"model {args.model or '(shipped)'}", results, f" ({time.perf_counter() - start:.1f} s)")


def print_fidelity(what: str, results: list, suffix: str = "") -> None:
    """The per-kind lines of `event_fidelity` results under a header naming `what`, and the total."""
    print(f"{what}: isolated events heard right, clean vs through the VAE")
    for r in results:
        print(r.line())
    right, total = sum(r.recon_right for r in results), sum(r.num for r in results)
    print(f"through the VAE: {right}/{total} heard right{suffix}")


if __name__ == "__main__":
    main()
