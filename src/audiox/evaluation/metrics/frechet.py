"""Frechet distance between two sets of embeddings (FD, FAD): the distance between the Gaussians fitted
to them.

    FD = |mu_g - mu_r|^2 + Tr(S_g + S_r - 2 (S_g S_r)^(1/2))

as in the FID / FAD papers and their reference code (pytorch-fid, google-research/frechet_audio_distance,
audioldm_eval): mean over rows, covariance with N - 1 in the denominator (`np.cov(x, rowvar=False)`),
float64 throughout. Only the trace of the matrix square root is needed; it is computed without a
general (non-symmetric) square root: with A = S_g^(1/2) (symmetric, from `eigh`), S_g S_r is similar to
the symmetric positive semi-definite A S_r A, so Tr (S_g S_r)^(1/2) = sum_i sqrt(lambda_i(A S_r A)).
Tiny negative eigenvalues from rounding are clipped to 0, so near-singular covariances (fewer rows than
dimensions) give a finite, real, non-negative answer with no `eps * I` retry and no imaginary part to drop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audiox.errors import InputError


@dataclass(frozen=True, slots=True)
class GaussianStats:
    """mean: (D,), cov: (D, D), both float64; count: the number of rows they were fitted to."""

    mean: np.ndarray
    cov: np.ndarray
    count: int


def gaussian_stats(embeddings: np.ndarray, *, name: str = "embeddings") -> GaussianStats:
    """embeddings: (N, D), N >= 2 -> mean (D,) and unbiased covariance (D, D) in float64."""
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 1:
        raise InputError(f"{name}: shape {x.shape}, expected (N, D) with N >= 2 rows (one per clip or frame)")
    if not np.all(np.isfinite(x)):
        raise InputError(f"{name}: contains NaN or inf; check the embedder's input")
    cov = np.cov(x, rowvar=False).reshape(x.shape[1], x.shape[1])  # (D, D); D = 1 gives a 0-d array
    return GaussianStats(mean=x.mean(axis=0), cov=cov, count=x.shape[0])


def _psd_sqrt(cov: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric PSD (D, D) matrix (eigenvalues clipped at 0)."""
    values, vectors = np.linalg.eigh((cov + cov.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T


def trace_sqrt_product(cov_a: np.ndarray, cov_b: np.ndarray) -> float:
    """Tr (cov_a cov_b)^(1/2) for symmetric PSD (D, D) matrices, via symmetric A cov_b A, A = cov_a^(1/2)."""
    root_a = _psd_sqrt(cov_a)
    inner = root_a @ cov_b @ root_a
    values = np.linalg.eigvalsh((inner + inner.T) / 2)
    return float(np.sqrt(np.clip(values, 0.0, None)).sum())


def frechet_from_stats(a: GaussianStats, b: GaussianStats) -> float:
    """Frechet distance between two fitted Gaussians (same D)."""
    if a.mean.shape != b.mean.shape:
        raise InputError(f"embedding widths differ: {a.mean.shape[0]} vs {b.mean.shape[0]}; use one embedder")
    diff = a.mean - b.mean
    value = diff @ diff + np.trace(a.cov) + np.trace(b.cov) - 2.0 * trace_sqrt_product(a.cov, b.cov)
    return float(max(value, 0.0))  # rounding can leave -1e-13 for identical sets


def frechet_distance(generated: np.ndarray, reference: np.ndarray) -> float:
    """generated: (N, D), reference: (M, D) embeddings (one row per clip or frame) -> FD, float."""
    return frechet_from_stats(
        gaussian_stats(generated, name="generated embeddings"),
        gaussian_stats(reference, name="reference embeddings"),
    )
