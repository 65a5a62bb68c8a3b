"""`audiox eval` as a library call: folders of audio in, FAD / FD / KL / IS / CLAP score / DeSync out.

    report = run_eval(EvalRequest(generated=Path("gen"), reference=Path("ref")))
    print(report.table())

Each file is read at most once, made mono the embedder's way (`info.mono`), resampled to its rate,
embedded, and the outputs cached per file content and embedder (`embedding_cache.py`). Metrics: `metrics/`;
DeSync (against each clip's video): `desync_eval.py`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from audiox.errors import InputError
from audiox.evaluation.desync_eval import desync_rows, find_videos
from audiox.evaluation.embedders import METRICS, Embedder, choose_embedders, load_embedder
from audiox.evaluation.embedders.synchformer import SynchformerEmbedder
from audiox.evaluation.embedding_cache import EmbeddingCache, audio_sha256
from audiox.evaluation.eval_files import find_audio, match_names, read_channels, to_mono
from audiox.evaluation.eval_report import EvalReport, MetricResult
from audiox.evaluation.metrics import clap_score, frechet_distance, inception_score, paired_kl
from audiox.media.resample import resample

REFERENCE_METRICS = frozenset({"fad", "fd", "kl"})
Outputs = dict[str, dict[str, np.ndarray]]  # file name -> output name -> array


@dataclass(frozen=True, kw_only=True, slots=True)
class EvalRequest:
    generated: Path
    reference: Path | None = None
    metrics: tuple[str, ...] = ("fad", "fd", "kl", "is")
    embedders: dict[str, Path | None] = field(default_factory=dict)  # name -> weight file (None: built in)
    captions: Path | None = None  # JSON {name: caption} or lines "name<TAB>caption" (CLAP score)
    cache_dir: Path | None = None  # None: no cache
    allow_unmatched: bool = False
    allow_silent: bool = False
    is_splits: int = 10
    device: str = "cpu"
    video: Path | None = None  # DeSync: folder of videos by name (None: the .mp4 next to each clip in --gen)
    desync_seconds: float = 8.0  # DeSync looks at the first this many seconds (the av-benchmark's default)


def _check(request: EvalRequest) -> None:
    unknown = [m for m in request.metrics if m not in METRICS]
    if unknown or not request.metrics:
        raise InputError(f"--metrics: unknown {unknown}; choose from {','.join(METRICS)}")
    needs_ref = sorted(set(request.metrics) & REFERENCE_METRICS)
    if needs_ref and request.reference is None:
        raise InputError(f"--metrics {','.join(needs_ref)} compare with reference audio; pass --ref DIR")
    if "clap" in request.metrics and request.captions is None:
        raise InputError("--metrics clap scores each clip against its caption; pass --captions FILE")


def load_captions(path: Path) -> dict[str, str]:
    """JSON object {name: caption}, or text lines `name<TAB>caption`."""
    if not path.is_file():
        raise InputError(f"--captions {path}: file not found")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"--captions {path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise InputError(f"--captions {path}: expected a JSON object {{name: caption}}")
        return data
    captions = {}
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            if "\t" not in line:
                raise InputError(f"--captions {path}:{number}: expected 'name<TAB>caption'")
            name, caption = line.split("\t", 1)
            captions[name.strip()] = caption.strip()
    return captions


def embed_files(
    files: dict[str, Path],
    embedders: list[Embedder],
    cache: EmbeddingCache,
    *,
    allow_silent: bool,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Outputs]:
    """embedder name -> file name -> outputs; each file read at most once, only on a cache miss."""
    found: dict[str, Outputs] = {e.info.name: {} for e in embedders}
    for i, (name, path) in enumerate(files.items()):
        digest, audio = audio_sha256(path), None
        for embedder in embedders:
            outputs = cache.load(embedder.info, digest)
            if outputs is None:
                if audio is None:
                    audio, rate = read_channels(path, allow_silent=allow_silent)
                mono = to_mono(audio, embedder.info.mono)
                outputs = embedder.embed(resample(mono, rate, embedder.info.sample_rate))
                cache.store(embedder.info, digest, outputs)
            found[embedder.info.name][name] = outputs
        if progress is not None and (i + 1) % 10 == 0:
            progress(f"embedded {i + 1}/{len(files)} files")
    return found


def _stack(outputs: Outputs, names: list[str], key: str) -> np.ndarray:
    return np.stack([outputs[n][key] for n in names])  # (N, ...)


def _frames(outputs: Outputs, names: list[str]) -> np.ndarray:
    return np.concatenate([outputs[n]["frames"] for n in names])  # (sum of F, D)


@dataclass(frozen=True, slots=True)
class _Sides:
    gen: dict[str, Outputs]
    ref: dict[str, Outputs]
    gen_names: list[str]
    ref_names: list[str]
    paired: list[str]
    gen_files: dict[str, Path]
    cache: EmbeddingCache
    progress: Callable[[str], None] | None = None


def _metric_rows(metric: str, embedder: Embedder, sides: _Sides, request: EvalRequest) -> list[MetricResult]:
    name = embedder.info.name
    gen, ref = sides.gen[name], sides.ref.get(name, {})
    n_gen, n_ref, n_pair = len(sides.gen_names), len(sides.ref_names), len(sides.paired)
    if metric == "fad":
        g, r = _frames(gen, sides.gen_names), _frames(ref, sides.ref_names)
        over = f"{len(g)} / {len(r)} frames of {n_gen} / {n_ref} clips"
        return [MetricResult(metric="fad", value=frechet_distance(g, r), embedder=name, count=over)]
    if metric == "fd":
        value = frechet_distance(_stack(gen, sides.gen_names, "clip"), _stack(ref, sides.ref_names, "clip"))
        return [MetricResult(metric="fd", value=value, embedder=name, count=f"{n_gen} / {n_ref} clips")]
    if metric == "kl":
        kl = paired_kl(_stack(gen, sides.paired, "logits"), _stack(ref, sides.paired, "logits"))
        over = f"{n_pair} pairs"
        return [
            MetricResult(metric="kl_softmax", value=kl.softmax, embedder=name, count=over),
            MetricResult(metric="kl_sigmoid", value=kl.sigmoid, embedder=name, count=over),
        ]
    if metric == "is":
        score = inception_score(_stack(gen, sides.gen_names, "logits"), splits=request.is_splits)
        return [
            MetricResult(
                metric="is",
                value=score.mean,
                embedder=name,
                count=f"{n_gen} clips, {score.splits} splits",
                details={"std": score.std},
            )
        ]
    if metric == "desync":
        videos = find_videos(sides.gen_names, video_dir=request.video, gen_dir=request.generated)
        sync: SynchformerEmbedder = embedder  # type: ignore[assignment]  # METRIC_EMBEDDERS["desync"]
        return desync_rows(sync, gen, sides.gen_files, videos, sides.cache, sides.progress)
    captions = load_captions(request.captions)
    missing = [n for n in sides.gen_names if n not in captions]
    if missing:
        raise InputError(
            f"--captions {request.captions}: no caption for {len(missing)} file(s): " + ", ".join(missing[:8])
        )
    text = embedder.embed_text([captions[n] for n in sides.gen_names])  # type: ignore[attr-defined]
    score = clap_score(text, _stack(gen, sides.gen_names, "audio"))
    return [MetricResult(metric="clap", value=score.mean, embedder=name, count=f"{n_gen} clips")]


def _paired_names(gen_files: dict[str, Path], ref_files: dict[str, Path], request: EvalRequest) -> list[str]:
    if not ref_files:
        return []
    if not request.allow_unmatched:
        return match_names(gen_files, ref_files)
    paired = sorted(set(gen_files) & set(ref_files))
    if not paired and "kl" in request.metrics:
        raise InputError("--metrics kl pairs files by name, and no name is in both folders")
    return paired


def _loader_options(name: str, request: EvalRequest) -> dict[str, object]:
    return {"clip_seconds": request.desync_seconds} if name == "synchformer" else {}


def run_eval(request: EvalRequest, *, progress: Callable[[str], None] | None = None) -> EvalReport:
    """Embed the files (cached), then compute each requested metric with its embedder."""
    _check(request)
    chosen = choose_embedders(request.metrics, tuple(request.embedders))
    gen_files = find_audio(request.generated, role="gen", video_audio="desync" in request.metrics)
    ref_files = find_audio(request.reference, role="ref") if request.reference is not None else {}
    paired = _paired_names(gen_files, ref_files, request)
    names = sorted(set(chosen.values()))
    embedders = {
        n: load_embedder(n, request.embedders.get(n), device=request.device, **_loader_options(n, request))
        for n in names
    }
    ref_users = [embedders[n] for n in sorted({chosen[m] for m in request.metrics if m in REFERENCE_METRICS})]
    cache, silent = EmbeddingCache(request.cache_dir), request.allow_silent
    sides = _Sides(
        gen=embed_files(gen_files, list(embedders.values()), cache, allow_silent=silent, progress=progress),
        ref=embed_files(ref_files, ref_users, cache, allow_silent=silent, progress=progress),
        gen_names=sorted(gen_files), ref_names=sorted(ref_files), paired=paired,
        gen_files=gen_files, cache=cache, progress=progress,
    )
    rows = [row for m in request.metrics for row in _metric_rows(m, embedders[chosen[m]], sides, request)]
    counts = {"generated": len(gen_files), "reference": len(ref_files), "paired": len(paired),
              "cache_hits": cache.hits, "cache_misses": cache.misses}
    settings = {"generated": str(request.generated), "reference": str(request.reference),
                "metrics": list(request.metrics), "is_splits": request.is_splits}
    if "desync" in request.metrics:
        settings |= {"video": str(request.video) if request.video else None,
                     "desync_seconds": request.desync_seconds}
    return EvalReport(results=tuple(rows), embedders=tuple(e.info for e in embedders.values()), counts=counts,
                      settings=settings)


def eval_embedding_files(generated: Path, reference: Path, metrics: tuple[str, ...]) -> EvalReport:
    """FD of two saved (N, D) arrays (`.npy`), as `audiox eval --gen-embeddings --ref-embeddings`."""
    wrong = [m for m in metrics if m not in ("fd", "fad")]
    if wrong:
        raise InputError(
            f"--gen-embeddings gives embeddings, not class logits or audio: only --metrics fd "
            f"(or fad) applies, not {','.join(wrong)}"
        )
    arrays = [_load_npy(p, flag) for p, flag in ((generated, "gen"), (reference, "ref"))]
    value = frechet_distance(*arrays)
    rows = tuple(
        MetricResult(
            metric=m,
            value=value,
            embedder="given",
            count=f"{len(arrays[0])} / {len(arrays[1])} rows of width {arrays[0].shape[1]}",
        )
        for m in metrics
    )
    return EvalReport(
        results=rows,
        embedders=(),
        counts={"generated": len(arrays[0]), "reference": len(arrays[1])},
        settings={"generated": str(generated), "reference": str(reference), "metrics": list(metrics)},
    )


def _load_npy(path: Path, flag: str) -> np.ndarray:
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"--{flag}-embeddings {path}: cannot read a .npy array ({exc})") from exc
    if array.ndim != 2:
        raise InputError(f"--{flag}-embeddings {path}: shape {array.shape}, expected (N, D)")
    return array
