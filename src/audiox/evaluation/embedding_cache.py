"""Embeddings cached per file and embedder: `<cache>/<embedder cache key>/<sha256 of the file>.npz`.

Keyed by the file's content (not its name or time), so renamed or copied files hit the cache and an
edited file misses it; keyed by the embedder's name, version and weight hash, so new weights or a new
preprocessing never reuse old rows. Writes are atomic (tmp + os.replace); an unreadable entry is recomputed.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from audiox.evaluation.embedders.base import EmbedderInfo, file_sha256


class EmbeddingCache:
    """`folder=None` disables caching (every lookup misses, nothing is written)."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.hits = 0
        self.misses = 0

    def _path(self, info: EmbedderInfo, audio_sha256: str) -> Path:
        return self.folder / info.cache_key / f"{audio_sha256}.npz"

    def load(self, info: EmbedderInfo, audio_sha256: str) -> dict[str, np.ndarray] | None:
        if self.folder is None:
            self.misses += 1
            return None
        path = self._path(info, audio_sha256)
        try:
            with np.load(path) as data:
                found = {k: data[k] for k in data.files}
        except (OSError, ValueError):  # missing, truncated or not an npz: recompute
            self.misses += 1
            return None
        self.hits += 1
        return found

    def store(self, info: EmbedderInfo, audio_sha256: str, outputs: dict[str, np.ndarray]) -> None:
        if self.folder is None:
            return
        path = self._path(info, audio_sha256)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **outputs)
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)


def audio_sha256(path: Path) -> str:
    return file_sha256(path)
