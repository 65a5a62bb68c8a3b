"""Embedders for `audiox eval`: one name -> loader table, and which embedders serve each metric.

Built in (no download): `events`, the project's event analyser (synthetic world only). Standard ones,
loaded strictly from local files the user downloaded (see docs/eval.md): `panns` (CNN14, FD/KL/IS as in
the AudioLDM evaluation), `vggish` (FAD as in the FAD paper / fadtk), `clap` (LAION-CLAP, CLAP score),
`synchformer` (DeSync against the clips' videos, as MMAudio's av-benchmark).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from audiox.errors import InputError
from audiox.evaluation.embedders.base import Embedder, EmbedderInfo

# name -> (module under audiox.evaluation.embedders, loader function taking (path | None, device))
EMBEDDERS = {
    "events": ("events", "load_events"),
    "panns": ("panns", "load_panns"),
    "vggish": ("vggish", "load_vggish"),
    "clap": ("clap", "load_clap"),
    "synchformer": ("synchformer", "load_synchformer"),
}

# metric -> embedders that serve it, the paper's convention first; `events` is the fallback when the
# user names none of the others
METRIC_EMBEDDERS = {
    "fad": ("vggish", "events"),
    "fd": ("panns", "events"),
    "kl": ("panns", "events"),
    "is": ("panns", "events"),
    "clap": ("clap",),
    "desync": ("synchformer",),
}
METRICS = tuple(METRIC_EMBEDDERS)


def load_embedder(name: str, path: Path | None, *, device: str = "cpu", **options: object) -> Embedder:
    """The embedder `name` with weights from `path`; `options` go to its loader (e.g. `clip_seconds`)."""
    if name not in EMBEDDERS:
        raise InputError(f"--embedder {name}: unknown; choose from {', '.join(EMBEDDERS)}")
    module, loader = EMBEDDERS[name]
    return getattr(importlib.import_module(f"audiox.evaluation.embedders.{module}"), loader)(
        path, device=device, **options
    )


def choose_embedders(metrics: tuple[str, ...], given: tuple[str, ...]) -> dict[str, str]:
    """metric -> the embedder that computes it: the first of METRIC_EMBEDDERS[metric] the user gave,
    else the built-in `events` where it serves the metric, else an InputError saying what to pass."""
    unknown = [name for name in given if name not in EMBEDDERS]
    if unknown:
        raise InputError(f"--embedder {unknown[0]}: unknown; choose from {', '.join(EMBEDDERS)}")
    chosen = {}
    for metric in metrics:
        candidates = METRIC_EMBEDDERS[metric]
        named = [c for c in candidates if c in given]
        if named:
            chosen[metric] = named[0]
        elif "events" in candidates:
            chosen[metric] = "events"
        else:
            raise InputError(
                f"--metrics {metric} needs --embedder {candidates[0]}=PATH (see docs/eval.md "
                "for the file to download)"
            )
    return chosen


__all__ = [
    "EMBEDDERS",
    "METRICS",
    "METRIC_EMBEDDERS",
    "Embedder",
    "EmbedderInfo",
    "choose_embedders",
    "load_embedder",
]
