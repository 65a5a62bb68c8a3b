"""Frechet distance against independent computations: closed form for diagonal covariances, the
eigenvalues of the (non-symmetric) product S_g S_r, and scipy's sqrtm (the pytorch-fid formula)."""

import numpy as np
import pytest

from audiox.errors import InputError
from audiox.evaluation.metrics.frechet import GaussianStats, frechet_distance, frechet_from_stats


def _reference_by_product_eigenvalues(x: np.ndarray, y: np.ndarray) -> float:
    mu_x, mu_y = x.mean(axis=0), y.mean(axis=0)
    s_x, s_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    eig = np.linalg.eigvals(s_x @ s_y)  # real and >= 0 up to rounding
    trace_sqrt = np.sqrt(np.clip(eig.real, 0.0, None)).sum()
    return float(((mu_x - mu_y) ** 2).sum() + np.trace(s_x) + np.trace(s_y) - 2 * trace_sqrt)


def _correlated(rng, n, d, scale=1.0, shift=0.0):
    mixing = rng.standard_normal((d, d)) * scale
    return rng.standard_normal((n, d)) @ mixing + shift


def test_closed_form_for_diagonal_covariances():
    rng = np.random.default_rng(0)
    d = 7
    m1, m2 = rng.standard_normal(d), rng.standard_normal(d)
    v1, v2 = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    a = GaussianStats(mean=m1, cov=np.diag(v1), count=10)
    b = GaussianStats(mean=m2, cov=np.diag(v2), count=10)
    expected = ((m1 - m2) ** 2).sum() + ((np.sqrt(v1) - np.sqrt(v2)) ** 2).sum()
    assert frechet_from_stats(a, b) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("n, m, d", [(200, 150, 8), (300, 300, 32), (6, 9, 20)])  # last: both singular
def test_matches_product_eigenvalue_reference(n, m, d):
    rng = np.random.default_rng(d)
    x = _correlated(rng, n, d)
    y = _correlated(rng, m, d, scale=0.7, shift=0.5)
    assert frechet_distance(x, y) == pytest.approx(_reference_by_product_eigenvalues(x, y), rel=1e-6)


def test_matches_scipy_sqrtm_formula():
    linalg = pytest.importorskip("scipy.linalg")  # scipy comes with the `eval` extra
    rng = np.random.default_rng(3)
    x, y = _correlated(rng, 400, 16), _correlated(rng, 300, 16, scale=1.3, shift=-0.2)
    s_x, s_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = linalg.sqrtm(s_x @ s_y).real
    diff = x.mean(axis=0) - y.mean(axis=0)
    expected = diff @ diff + np.trace(s_x) + np.trace(s_y) - 2 * np.trace(covmean)
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-6)


def test_near_singular_covariance_is_finite_and_matches():
    rng = np.random.default_rng(5)
    base = rng.standard_normal((50, 3))
    x = base @ rng.standard_normal((3, 12)) + 1e-9 * rng.standard_normal((50, 12))  # rank ~3 in 12-D
    y = _correlated(rng, 60, 12, scale=0.5)
    value = frechet_distance(x, y)
    assert np.isfinite(value) and value > 0
    assert value == pytest.approx(_reference_by_product_eigenvalues(x, y), rel=1e-6)


def test_identical_sets_give_zero_and_distance_is_symmetric():
    rng = np.random.default_rng(1)
    x, y = _correlated(rng, 40, 10), _correlated(rng, 40, 10, shift=1.0)
    assert frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(x, y) == pytest.approx(frechet_distance(y, x), rel=1e-9)
    assert frechet_distance(x + 3.0, y + 3.0) == pytest.approx(frechet_distance(x, y), rel=1e-9)


def test_float32_input_is_computed_in_float64():
    rng = np.random.default_rng(2)
    x, y = _correlated(rng, 100, 6), _correlated(rng, 100, 6, shift=0.1)
    x32, y32 = x.astype(np.float32), y.astype(np.float32)
    ref = _reference_by_product_eigenvalues(x32.astype(np.float64), y32.astype(np.float64))
    assert frechet_distance(x32, y32) == pytest.approx(ref, rel=1e-9)


@pytest.mark.parametrize(
    "x, y, text",
    [
        (np.zeros((1, 4)), np.zeros((5, 4)), "N >= 2"),
        (np.zeros((5,)), np.zeros((5, 4)), "expected (N, D)"),
        (np.ones((5, 4)), np.ones((5, 3)), "widths differ"),
        (np.full((5, 4), np.nan), np.ones((5, 4)), "NaN"),
    ],
)
def test_bad_input(x, y, text):
    with pytest.raises(InputError, match=text.replace("(", r"\(").replace(")", r"\)")):
        frechet_distance(x, y)
