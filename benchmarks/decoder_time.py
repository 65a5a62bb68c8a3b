"""CPU time of two model folders' VAE decoders on the same 10 s latents, and of one whole 10 s generation
with each, measured alternately in one run (so a busy machine slows both alike). Figures only.

    python benchmarks/decoder_time.py --new runs/dec64/model                  # old: the shipped model
    python benchmarks/decoder_time.py --old A/model --new B/model --threads 2 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from audiox.pipeline import AudioX


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


@torch.no_grad()
def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--old", default=None, help="model folder (default: the shipped model)")
    p.add_argument("--new", required=True, help="model folder with the other decoder")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2: the budget's 2 cores)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per folder (after one warm-up)")
    p.add_argument("--no-generate", action="store_true", help="time the decoders only")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    pipes = {"old": AudioX.from_pretrained(args.old), "new": AudioX.from_pretrained(args.new)}
    frames = pipes["old"].model.pretransform.latent_length(10 * pipes["old"].sample_rate)
    dim = pipes["old"].model.pretransform.latent_dim
    latents = torch.randn(1, dim, frames, generator=torch.Generator().manual_seed(0))  # (1, D, L)
    jobs = {f"decode {k}": (lambda pipe=pipe: pipe.model.pretransform.decode(latents))
            for k, pipe in pipes.items()}
    if not args.no_generate:
        jobs |= {f"generate {k}": (lambda pipe=pipe: pipe.generate("two knocks then a bell", seed=0))
                 for k, pipe in pipes.items()}
    times: dict[str, list[float]] = {name: [] for name in jobs}
    for name, job in jobs.items():
        job()  # warm-up
    for _ in range(args.repeats):
        for name, job in jobs.items():
            times[name].append(_timed(job))
    print(f"old {args.old or '(shipped)'}, new {args.new}; {args.threads} threads, 10 s of audio, "
          f"median of {args.repeats}")
    for name, values in times.items():
        runs = ", ".join(f"{v:.2f}" for v in values)
        print(f"  {name:<14} {statistics.median(values):6.2f} s  (runs: {runs})")
    ratio = statistics.median(times["decode new"]) / statistics.median(times["decode old"])
    print(f"  decode new / old: {ratio:.2f}x")
    if not args.no_generate:
        ratio = statistics.median(times["generate new"]) / statistics.median(times["generate old"])
        print(f"  generate new / old: {ratio:.2f}x")


if __name__ == "__main__":
    main()
