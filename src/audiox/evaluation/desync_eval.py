"""The DeSync row of `audiox eval`: each generated clip against its video, by name.

The video of a generated clip `<name>` is `<--video DIR>/<name>.<mp4|mkv|mov|webm|avi>` when --video is
given, else the `<name>.mp4` next to the audio in --gen (the muxed video `audiox generate` writes for a
video prompt). Video segment features are cached per video file like the audio embeddings. The reduction
(first and last 4.8 s window of each clip, mean |offset| in seconds) is `avsync/desync.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from audiox.errors import InputError, MediaError
from audiox.evaluation.avsync.desync import VIDEO_FPS, desync_from_logits, window_seconds
from audiox.evaluation.embedders.synchformer import SynchformerEmbedder
from audiox.evaluation.embedding_cache import EmbeddingCache, audio_sha256
from audiox.evaluation.eval_files import some_names
from audiox.evaluation.eval_report import MetricResult

VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".webm", ".avi")


def find_videos(names: list[str], *, video_dir: Path | None, gen_dir: Path) -> dict[str, Path]:
    """name -> the video of that generated clip; an InputError listing the names that have none."""
    if video_dir is not None and not video_dir.is_dir():
        raise InputError(f"--video {video_dir}: not a folder; pass the folder that holds the videos")
    found, missing = {}, []
    for name in names:
        if video_dir is not None:
            candidates = [video_dir / f"{name}{suffix}" for suffix in VIDEO_SUFFIXES]
        else:
            candidates = [gen_dir / f"{name}.mp4"]
        match = next((path for path in candidates if path.is_file()), None)
        if match is None:
            missing.append(name)
        else:
            found[name] = match
    if missing:
        where = f"in --video {video_dir} ({'/'.join(VIDEO_SUFFIXES)})" if video_dir is not None else (
            f"as <name>.mp4 in --gen {gen_dir}; pass --video DIR with the source videos"
        )
        raise InputError(
            f"--metrics desync scores each clip against its video: no video for {len(missing)} "
            f"clip(s) {where}: {some_names(missing)}"
        )
    return found


def _video_features(
    embedder: SynchformerEmbedder, path: Path, cache: EmbeddingCache
) -> np.ndarray:
    digest = audio_sha256(path)
    outputs = cache.load(embedder.video_info, digest)
    if outputs is None:
        outputs = embedder.embed_video(path)
        cache.store(embedder.video_info, digest, outputs)
    return outputs["sync_video"]


def _check_length(features: np.ndarray, path: Path, kind: str, embedder: SynchformerEmbedder) -> None:
    need = embedder.num_segments
    if len(features) < need:
        have = window_seconds(len(features)) if len(features) else 0.0
        raise MediaError(
            f"{path}: {kind} gives {len(features)} sync segment(s) (about {have:.2f} s), DeSync needs "
            f"{need} ({window_seconds(need):.2f} s); pass longer clips or drop this one"
        )


def desync_rows(
    embedder: SynchformerEmbedder,
    audio_features: dict[str, dict[str, np.ndarray]],
    audio_files: dict[str, Path],
    video_files: dict[str, Path],
    cache: EmbeddingCache,
    progress: Callable[[str], None] | None = None,
) -> list[MetricResult]:
    """DeSync over every clip in `audio_files` (features already embedded), against `video_files`."""
    logits = []
    for i, (name, path) in enumerate(sorted(audio_files.items())):
        audio = audio_features[name]["sync_audio"]
        _check_length(audio, path, f"audio (first {embedder.clip_frames / VIDEO_FPS:g} s)", embedder)
        video = _video_features(embedder, video_files[name], cache)
        first = f"first {embedder.clip_frames / VIDEO_FPS:g} s"
        _check_length(video, video_files[name], f"video ({first})", embedder)
        logits.append(embedder.window_logits(video, audio))
        if progress is not None and (i + 1) % 10 == 0:
            progress(f"DeSync: {i + 1}/{len(audio_files)} clips")
    value, offsets = desync_from_logits(np.concatenate(logits))
    span = window_seconds(embedder.num_segments)
    over = f"{len(audio_files)} clips x 2 windows of {span:.1f} s"
    details = {"in_sync_fraction": float((offsets == 0).mean())}
    name = embedder.info.name
    return [MetricResult(metric="desync", value=value, embedder=name, count=over, details=details)]

