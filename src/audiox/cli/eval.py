"""Score generated audio with the paper's metrics: FAD, FD, KL, IS (and the CLAP score, DeSync).

Files in --gen and --ref are matched by name (path under the folder, without the suffix). Each metric
uses one embedder: the paper's (panns for FD/KL/IS, vggish for FAD, clap for the CLAP score, synchformer
for DeSync) when you pass its weights with --embedder NAME=PATH, else the built-in `events` analyser,
which needs no download but knows only the synthetic world's sounds. Embeddings are cached per file
content and embedder, so a re-run after adding files only embeds the new ones. See docs/eval.md.

Examples:
  audiox eval --gen out/ --ref truth/                                 (built-in embedder: FAD, FD, KL, IS)
  audiox eval --gen out/ --ref truth/ --embedder panns=Cnn14_16k_mAP=0.438.pth \\
      --embedder vggish=vggish-10086976.pth --json eval.json
  audiox eval --gen out/ --metrics clap --embedder clap=clap-htsat-unfused/ --captions captions.json
  audiox eval --gen out/ --metrics desync --embedder synchformer=synchformer_state_dict.pth --video videos/
  audiox eval --gen-embeddings a.npy --ref-embeddings b.npy --metrics fd
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from audiox.errors import InputError


def _default_cache() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "audiox" / "eval-embeddings"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--gen", type=Path, help="folder of generated audio files")
    p.add_argument("--ref", type=Path, help="folder of reference audio files (same names)")
    p.add_argument(
        "--metrics",
        default=None,
        help="comma-separated: fad,fd,kl,is,clap,desync (default: fad,fd,kl,is; with --gen-embeddings: fd)",
    )
    p.add_argument(
        "--embedder",
        action="append",
        default=[],
        metavar="NAME=PATH",
        help="an embedder and its weights: panns=FILE.pth, vggish=FILE.pth, clap=FOLDER, "
        "synchformer=synchformer_state_dict.pth, or events (built in); repeat for several",
    )
    p.add_argument(
        "--captions", type=Path, help="JSON {name: caption} or 'name<TAB>caption' lines (CLAP score)"
    )
    p.add_argument(
        "--video",
        type=Path,
        help="DeSync: folder of the videos, matched by name (default: the <name>.mp4 files in --gen)",
    )
    p.add_argument(
        "--desync-seconds",
        type=float,
        default=8.0,
        help="DeSync scores the first this many seconds of each clip (first and last 4.8 s window)",
    )
    p.add_argument("--json", type=Path, help="also write the report as JSON")
    p.add_argument(
        "--cache-dir", type=Path, default=None, help=f"embedding cache (default: {_default_cache()})"
    )
    p.add_argument("--no-cache", action="store_true", help="embed every file again and store nothing")
    p.add_argument(
        "--allow-unmatched",
        action="store_true",
        help="do not require the same names in --gen and --ref (KL uses the names in both)",
    )
    p.add_argument(
        "--allow-silent", action="store_true", help="score digitally silent files instead of refusing"
    )
    p.add_argument("--is-splits", type=int, default=10, help="Inception Score splits (needs that many clips)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, ... (for the network embedders)")
    p.add_argument("--gen-embeddings", type=Path, help="(N, D) .npy array instead of --gen")
    p.add_argument("--ref-embeddings", type=Path, help="(M, D) .npy array instead of --ref")


def parse_embedders(items: list[str]) -> dict[str, Path | None]:
    """['panns=a.pth', 'events'] -> {'panns': Path('a.pth'), 'events': None}; splits at the first '='."""
    found: dict[str, Path | None] = {}
    for item in items:
        name, _, path = item.partition("=")
        name = name.strip()
        if not name or name in found:
            raise InputError(f"--embedder {item!r}: expected NAME=PATH, each name once")
        found[name] = Path(path) if path else None
    return found


def _metrics(text: str | None, default: str) -> tuple[str, ...]:
    return tuple(m.strip().lower() for m in (text or default).split(",") if m.strip())


def run(args: argparse.Namespace) -> int:
    from audiox.evaluation.evaluate import EvalRequest, eval_embedding_files, run_eval

    if args.gen_embeddings is not None or args.ref_embeddings is not None:
        if args.gen_embeddings is None or args.ref_embeddings is None or args.gen or args.ref:
            raise InputError("pass both --gen-embeddings and --ref-embeddings, and no --gen / --ref")
        report = eval_embedding_files(args.gen_embeddings, args.ref_embeddings, _metrics(args.metrics, "fd"))
    else:
        if args.gen is None:
            raise InputError("pass --gen DIR (and --ref DIR), or --gen-embeddings / --ref-embeddings")
        request = EvalRequest(
            generated=args.gen,
            reference=args.ref,
            metrics=_metrics(args.metrics, "fad,fd,kl,is"),
            embedders=parse_embedders(args.embedder),
            captions=args.captions,
            cache_dir=None if args.no_cache else (args.cache_dir or _default_cache()),
            allow_unmatched=args.allow_unmatched,
            allow_silent=args.allow_silent,
            is_splits=args.is_splits,
            device=args.device,
            video=args.video,
            desync_seconds=args.desync_seconds,
        )
        quiet = getattr(args, "quiet", False)
        report = run_eval(
            request,
            progress=None if quiet else (lambda text: print(f"eval: {text}", file=sys.stderr, flush=True)),
        )
    print(report.table())
    if args.json is not None:
        _write_json(args.json, report.to_dict())
    return 0


def _write_json(path: Path, data: dict) -> None:
    """Atomic write (tmp + replace)."""
    from audiox.media.audio import atomic_output

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2))
