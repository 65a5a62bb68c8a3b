"""KL, IS and CLAP score against direct torch computations of the published formulas."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from audiox.errors import InputError
from audiox.evaluation.metrics.clap_score import clap_score
from audiox.evaluation.metrics.inception import inception_score
from audiox.evaluation.metrics.kl import paired_kl


def _torch_kl(gen: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """audioldm_eval's formula: kl_div(log(q + 1e-6), p, sum) / N for softmax and sigmoid."""
    g, r = torch.from_numpy(gen), torch.from_numpy(ref)
    soft = F.kl_div((g.softmax(dim=1) + 1e-6).log(), r.softmax(dim=1), reduction="sum") / len(g)
    sig = F.kl_div((g.sigmoid() + 1e-6).log(), r.sigmoid(), reduction="sum") / len(g)
    return float(soft), float(sig)


def test_kl_matches_torch_kl_div():
    rng = np.random.default_rng(0)
    gen, ref = 3 * rng.standard_normal((12, 30)), 3 * rng.standard_normal((12, 30))
    scores = paired_kl(gen, ref)
    soft, sig = _torch_kl(gen, ref)
    assert scores.softmax == pytest.approx(soft, rel=1e-9)
    assert scores.sigmoid == pytest.approx(sig, rel=1e-9)
    assert scores.count == 12


def test_kl_of_identical_predictions_is_only_the_eps_term():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal((5, 8))
    assert abs(paired_kl(logits, logits).softmax) < 1e-4
    assert paired_kl(logits, logits[::-1]).softmax > 0.01  # pairing matters


def test_kl_handles_extreme_logits():
    gen = np.array([[1000.0, -1000.0, 0.0]])
    ref = np.array([[-1000.0, 1000.0, 0.0]])
    scores = paired_kl(gen, ref)
    assert np.isfinite(scores.softmax) and scores.softmax == pytest.approx(-np.log(1e-6), rel=1e-6)


def _torch_is(logits: np.ndarray, splits: int, seed: int) -> tuple[float, float]:
    x = torch.from_numpy(logits)[np.random.RandomState(seed).permutation(len(logits))]
    p, log_p, n, scores = x.softmax(dim=1), x.log_softmax(dim=1), len(x), []
    for i in range(splits):
        pc, lc = p[i * n // splits : (i + 1) * n // splits], log_p[i * n // splits : (i + 1) * n // splits]
        scores.append(float((pc * (lc - pc.mean(dim=0, keepdim=True).log())).sum(dim=1).mean().exp()))
    return float(np.mean(scores)), float(np.std(scores))


@pytest.mark.parametrize("n, splits", [(53, 10), (20, 1), (7, 3)])
def test_is_matches_torch_reference(n, splits):
    logits = 4 * np.random.default_rng(n).standard_normal((n, 11))
    score = inception_score(logits, splits=splits, seed=2020)
    mean, std = _torch_is(logits, splits, 2020)
    assert score.mean == pytest.approx(mean, rel=1e-9) and score.std == pytest.approx(
        std, rel=1e-9, abs=1e-12
    )


def test_is_bounds():
    k = 6
    confident = np.tile(50.0 * np.eye(k), (3, 1))  # every class equally often, with certainty
    assert inception_score(confident, splits=1).mean == pytest.approx(k, rel=1e-6)
    same = np.tile(np.arange(k, dtype=float), (12, 1))  # every clip predicted alike
    assert inception_score(same, splits=2).mean == pytest.approx(1.0, abs=1e-12)


def test_is_needs_enough_clips():
    with pytest.raises(InputError, match="at least 10 clips"):
        inception_score(np.zeros((4, 5)))


def test_clap_score_is_mean_paired_cosine():
    rng = np.random.default_rng(2)
    t, a = rng.standard_normal((9, 16)), rng.standard_normal((9, 16))
    expected = F.cosine_similarity(torch.from_numpy(t), torch.from_numpy(a), dim=1).mean()
    score = clap_score(t, a)
    assert score.mean == pytest.approx(float(expected), rel=1e-9)
    assert clap_score(t, 2.5 * t).mean == pytest.approx(1.0)
    with pytest.raises(InputError, match="paired"):
        clap_score(t, a[:3])
