"""KL divergence between the class predictions of paired clips, as in the AudioLDM evaluation
(audioldm_eval `calculate_kl`, which AudioX's Table 1 follows; AudioGen introduced the softmax form).

Input: class logits, one row per clip, row i of `generated` paired with row i of `reference` (the caller
pairs them by file name). With p = the reference's probabilities and q = the generated clip's:

    softmax form:  KL_i = sum_c p_c (log p_c - log(q_c + eps)),  p = softmax(ref), q = softmax(gen)
    sigmoid form:  the same sum with p = sigmoid(ref), q = sigmoid(gen) per class

and the score is the mean over pairs (`kl_div(..., reduction="sum") / N`). eps = 1e-6 is added to q only.
official quirk: the sigmoid form is not the KL of the per-class Bernoulli distributions (the (1 - p)
terms are left out) and its per-class terms can be negative; it is kept because papers report it.
Terms with p_c = 0 count 0 (torch's `kl_div` convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audiox.errors import InputError

KL_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class KLScores:
    softmax: float
    sigmoid: float
    count: int


def softmax(logits: np.ndarray) -> np.ndarray:
    """(N, K) -> (N, K) rows summing to 1, in float64."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Elementwise logistic in float64, without overflow for large |logit|."""
    z = np.asarray(logits, dtype=np.float64)
    return np.exp(-np.logaddexp(0.0, -z))


def _kl_rows(p: np.ndarray, q: np.ndarray, eps: float) -> np.ndarray:
    """sum_c p (log p - log(q + eps)) per row, 0 where p == 0: (N,)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(q + eps)), 0.0)
    return terms.sum(axis=1)


def paired_kl(generated_logits: np.ndarray, reference_logits: np.ndarray, *, eps: float = KL_EPS) -> KLScores:
    """generated_logits, reference_logits: (N, K), row i of each from the same-named clip -> KLScores."""
    gen = np.asarray(generated_logits, dtype=np.float64)
    ref = np.asarray(reference_logits, dtype=np.float64)
    if gen.ndim != 2 or gen.shape != ref.shape or gen.shape[0] == 0:
        raise InputError(f"KL needs paired (N, K) logits, got {gen.shape} and {ref.shape}")
    return KLScores(
        softmax=float(_kl_rows(softmax(ref), softmax(gen), eps).mean()),
        sigmoid=float(_kl_rows(sigmoid(ref), sigmoid(gen), eps).mean()),
        count=gen.shape[0],
    )
