"""Noise sources: recorded replay, Gaussian draws, and the seeded Brownian tree (bridge backend)."""

from __future__ import annotations

import pytest
import torch

from audiox.errors import InputError
from audiox.sampling.noise import (
    BrownianBridgeTree,
    BrownianTreeNoise,
    GaussianNoise,
    RecordedNoise,
    draw_tree_seed,
)

S = torch.tensor(1.0)


def test_recorded_noise_replays_in_order_then_refuses() -> None:
    a, b = torch.ones(2, 3), torch.zeros(2, 3)
    source = RecordedNoise(torch.stack([a, b]))
    assert torch.equal(source(S, S), a) and torch.equal(source(S, S), b)
    with pytest.raises(InputError, match="exhausted after 2"):
        source(S, S)


def test_gaussian_noise_needs_a_generator_and_is_reproducible() -> None:
    like = torch.zeros(2, 3, 4)
    with pytest.raises(InputError, match="generator"):
        GaussianNoise(like, None)
    a = GaussianNoise(like, torch.Generator().manual_seed(1))(S, S)
    assert torch.equal(a, GaussianNoise(like, torch.Generator().manual_seed(1))(S, S))
    assert a.shape == like.shape


def test_tree_seed_is_one_int64_draw() -> None:
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    assert draw_tree_seed(g1) == int(torch.randint(0, 2**63 - 1, [], generator=g2))
    with pytest.raises(InputError, match="generator"):
        draw_tree_seed(None)


def test_bridge_tree_is_query_order_independent_and_additive() -> None:
    w0 = torch.zeros(3, 4)
    t0, t1 = torch.tensor(0.3), torch.tensor(500.0)
    a, b = BrownianBridgeTree(t0, t1, 11, w0), BrownianBridgeTree(t0, t1, 11, w0)
    p, q, r = torch.tensor(2.0), torch.tensor(7.5), torch.tensor(40.0)
    first = a(p, q)
    b(q, r)  # another query first must not change the path
    assert torch.equal(b(p, q), first)
    assert torch.allclose(a(p, q) + a(q, r), a(p, r), atol=1e-5)
    assert not torch.equal(BrownianBridgeTree(t0, t1, 12, w0)(p, q), first)


def test_bridge_tree_increments_have_brownian_variance() -> None:
    """Normalised increments over disjoint intervals are ~ N(0, 1) and uncorrelated."""
    x = torch.zeros(4096)
    noise = BrownianTreeNoise(x, 0.3, 500.0, seed=5, backend="bridge")
    sigmas = torch.tensor([500.0, 120.0, 9.0, 0.31])
    draws = torch.stack([noise(sigmas[i], sigmas[i + 1]) for i in range(3)])
    assert draws.mean().abs() < 0.05 and (draws.std(dim=1) - 1).abs().max() < 0.05
    assert (draws[0] * draws[1]).mean().abs() < 0.06


def test_brownian_tree_noise_batched_seeds_and_errors() -> None:
    x = torch.zeros(2, 3, 4)
    batched = BrownianTreeNoise(x, 0.3, 50.0, seed=[1, 2], backend="bridge")
    single = BrownianTreeNoise(x[:1], 0.3, 50.0, seed=[1], backend="bridge")
    assert torch.equal(
        batched(torch.tensor(50.0), torch.tensor(3.0))[:1], single(torch.tensor(50.0), torch.tensor(3.0))
    )
    with pytest.raises(InputError, match="one per item"):
        BrownianTreeNoise(x, 0.3, 50.0, seed=[1], backend="bridge")
    with pytest.raises(InputError, match="backend"):
        BrownianTreeNoise(x, 0.3, 50.0, seed=1, backend="nope")
    with pytest.raises(InputError, match="sigma_min < sigma_max"):
        BrownianTreeNoise(x, 5.0, 1.0, seed=1)
