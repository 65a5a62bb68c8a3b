"""CLAP score: how well generated audio matches its caption, the cosine similarity between the CLAP
text embedding of the caption and the CLAP audio embedding of the clip, averaged over clips.

Embeddings are L2-normalised here (LAION-CLAP's `get_*_embedding` already returns unit vectors, for
which this is a no-op). The score is in [-1, 1]; papers often print it x100. No clipping at 0
(CLIPScore's max(100 cos, 0) is not used by the audio papers' CLAP score).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audiox.errors import InputError


@dataclass(frozen=True, slots=True)
class ClapScore:
    mean: float
    per_clip: tuple[float, ...]


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a, b: (N, D) -> (N,) cosine similarity of row i of a with row i of b (float64)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    if np.any(norms == 0):
        raise InputError("CLAP score: an embedding is all zeros; check the embedder's input")
    return (a * b).sum(axis=1) / norms


def clap_score(text_embeddings: np.ndarray, audio_embeddings: np.ndarray) -> ClapScore:
    """text_embeddings: (N, D) of the captions, audio_embeddings: (N, D) of the clips, row-paired."""
    t, a = np.asarray(text_embeddings), np.asarray(audio_embeddings)
    if t.ndim != 2 or t.shape != a.shape or t.shape[0] == 0:
        raise InputError(f"CLAP score needs paired (N, D) embeddings, got {t.shape} and {a.shape}")
    cos = cosine_rows(t, a)
    return ClapScore(mean=float(cos.mean()), per_clip=tuple(float(c) for c in cos))
