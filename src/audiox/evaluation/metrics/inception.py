"""Inception Score of generated clips from their class logits, as in the AudioLDM evaluation
(audioldm_eval `calculate_isc`, itself torch-fidelity's ISC):

    p(y|x) = softmax(logits) per clip; rows shuffled by np.random.RandomState(seed).permutation(N);
    split s holds rows [s N // splits, (s + 1) N // splits); in each split
    IS_s = exp(mean_x KL(p(y|x) || p(y))), p(y) = the split's mean of p(y|x);
    reported: mean and population std (np.std) of IS_s over splits.

official quirk: PANNs' 527 AudioSet outputs are multi-label (trained with sigmoids) but IS takes a
softmax over their logits; kept, since that is what published IS figures measure.
IS ranges from 1 (every clip predicted alike, or every prediction uniform) to K (confident and diverse).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audiox.errors import InputError
from audiox.evaluation.metrics.kl import softmax

IS_SPLITS = 10
IS_SEED = 2020


@dataclass(frozen=True, slots=True)
class InceptionScore:
    mean: float
    std: float
    count: int
    splits: int


def inception_score(
    logits: np.ndarray, *, splits: int = IS_SPLITS, seed: int | None = IS_SEED
) -> InceptionScore:
    """logits: (N, K) class logits of generated clips, N >= splits -> IS mean and std over splits.

    seed=None keeps the rows in their given order (no shuffle)."""
    x = np.asarray(logits, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] < 2:
        raise InputError(f"IS needs (N, K) logits with K >= 2 classes, got {x.shape}")
    n = x.shape[0]
    if splits < 1 or n < splits:
        raise InputError(
            f"IS with {splits} splits needs at least {splits} clips, got {n}; pass fewer --is-splits"
        )
    if seed is not None:
        x = x[np.random.RandomState(seed).permutation(n)]
    p = softmax(x)
    log_p = np.log(np.clip(p, 1e-300, None))
    scores = []
    for s in range(splits):
        rows = slice(s * n // splits, (s + 1) * n // splits)
        chunk, log_chunk = p[rows], log_p[rows]
        marginal = chunk.mean(axis=0, keepdims=True)
        kl = (chunk * (log_chunk - np.log(marginal))).sum(axis=1).mean()
        scores.append(np.exp(kl))
    return InceptionScore(mean=float(np.mean(scores)), std=float(np.std(scores)), count=n, splits=splits)
