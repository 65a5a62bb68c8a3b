"""Noise sources for the stochastic samplers: `noise(sigma, sigma_next) -> (B, C, L)` per step.

* `GaussianNoise`: fresh standard-normal draws from an explicit `torch.Generator` (ancestral / DMD).
* `RecordedNoise`: replays given per-step tensors in call order (golden cases record every draw).
* `BrownianTreeNoise`: k-diffusion's `BrownianTreeNoiseSampler` semantics for the SDE solvers — the
  increment W(sigma_next) - W(sigma) of a Brownian motion over [sigma_min, sigma_max], divided by
  sqrt(|sigma_next - sigma|). With `torchsde` importable (extra `audiox[exact]`) it is backed by
  `torchsde.BrownianTree(entropy=seed)` so official seeds reproduce; otherwise by our own seeded
  Brownian-bridge tree (same law, different stream). The official seed is one
  `randint(0, 2**63 - 1)` draw (`draw_tree_seed`).
"""

from __future__ import annotations

import importlib.util
import warnings
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from audiox.errors import InputError

NoiseSource = Callable[[Tensor, Tensor], Tensor]


class GaussianNoise:
    """Standard normal draws shaped like `like` (B, C, L) from `generator` (a `torch.randn_like`)."""

    def __init__(self, like: Tensor, generator: torch.Generator | None) -> None:
        if generator is None:
            raise InputError(
                "a stochastic sampler needs noise: pass noise=... or generator=torch.Generator()"
            )
        self.shape, self.dtype, self.device, self.generator = like.shape, like.dtype, like.device, generator

    def __call__(self, sigma: Tensor, sigma_next: Tensor) -> Tensor:
        # drawn on the generator's device, then moved (a CPU generator also serves accelerator latents)
        draw = torch.randn(self.shape, generator=self.generator, dtype=self.dtype, device=self.generator.device)
        return draw.to(self.device)


class RecordedNoise:
    """Replays recorded noise: the k-th call returns `tensors[k]` (each (B, C, L)); a stacked
    (N, B, C, L) tensor or a list both work. Raises `InputError` when more steps ask than were recorded."""

    def __init__(self, tensors: Sequence[Tensor] | Tensor) -> None:
        self.tensors = list(tensors)
        self.calls = 0

    def __call__(self, sigma: Tensor | None = None, sigma_next: Tensor | None = None) -> Tensor:
        if self.calls >= len(self.tensors):
            raise InputError(f"recorded noise exhausted after {len(self.tensors)} draws; record one per step")
        self.calls += 1
        return self.tensors[self.calls - 1]


def draw_tree_seed(generator: torch.Generator | None) -> int:
    """The Brownian-tree seed as k-diffusion draws it: `randint(0, 2**63 - 1, [])` (from `generator`)."""
    if generator is None:
        raise InputError(
            "an SDE sampler needs noise: pass noise=..., or generator=torch.Generator() for a seed"
        )
    return int(torch.randint(0, 2**63 - 1, [], generator=generator).item())


def as_noise_source(
    noise: NoiseSource | Sequence[Tensor] | Tensor | None, like: Tensor, generator: torch.Generator | None
) -> NoiseSource:
    """A callable noise source: `noise` if callable, recorded tensors replayed, else Gaussian draws."""
    if noise is None:
        return GaussianNoise(like, generator)
    if callable(noise):
        return noise
    return RecordedNoise(noise)


class BrownianTreeNoise:
    """Normalised Brownian increments over [sigma_min, sigma_max] for `x` (B, C, L).

    `seed`: one int (one tree for the whole batch, the official case) or a list of B ints (one tree per
    item). `backend`: "auto" (torchsde if importable, else "bridge"), "torchsde" or "bridge".
    """

    def __init__(
        self,
        x: Tensor,
        sigma_min: Tensor | float,
        sigma_max: Tensor | float,
        *,
        seed: int | Sequence[int],
        backend: str = "auto",
    ) -> None:
        t0, t1 = torch.as_tensor(sigma_min), torch.as_tensor(sigma_max)
        if not t0 < t1:
            raise InputError(f"Brownian tree needs sigma_min < sigma_max, got {float(t0)}, {float(t1)}")
        self.batched = not isinstance(seed, int)
        seeds = list(seed) if self.batched else [seed]
        if self.batched and len(seeds) != x.shape[0]:
            raise InputError(f"{len(seeds)} Brownian seeds for a batch of {x.shape[0]}: pass one per item")
        like = x[0] if self.batched else x  # one tree per item covers one item's shape
        if backend == "auto":
            backend = "torchsde" if importlib.util.find_spec("torchsde") is not None else "bridge"
        make = {"torchsde": _torchsde_tree, "bridge": BrownianBridgeTree}.get(backend)
        if make is None:
            raise InputError(f"unknown Brownian tree backend {backend!r}: use 'auto', 'torchsde' or 'bridge'")
        self.trees = [make(t0, t1, s, torch.zeros_like(like)) for s in seeds]

    def __call__(self, sigma: Tensor, sigma_next: Tensor) -> Tensor:
        a, b = torch.as_tensor(sigma), torch.as_tensor(sigma_next)
        lo, hi, sign = (a, b, 1) if a < b else (b, a, -1)
        w = torch.stack([tree(lo, hi) for tree in self.trees]) * sign
        w = w if self.batched else w[0]
        return w / (b - a).abs().sqrt()


def _torchsde_tree(t0: Tensor, t1: Tensor, seed: int, w0: Tensor) -> Callable[[Tensor, Tensor], Tensor]:
    import torchsde

    tree = torchsde.BrownianTree(t0, w0, t1, entropy=seed)

    def increment(lo: Tensor, hi: Tensor) -> Tensor:
        with warnings.catch_warnings():  # torchsde warns when a query sits one float ulp outside [t0, t1]
            warnings.filterwarnings("ignore", message="Should have t")
            return tree(lo, hi)

    return increment


class BrownianBridgeTree:
    """Our own seeded Brownian motion W on [t0, t1] (W(t0) = 0), shaped like `w0`.

    W(t1) ~ sqrt(t1 - t0) N(0, 1); every dyadic midpoint is a Brownian-bridge draw from a generator seeded
    by (seed, depth, index), so W(t) does not depend on the order of queries. A query descends until the
    interval is narrower than `tol` and interpolates linearly there. `self(lo, hi) = W(hi) - W(lo)`.
    """

    def __init__(self, t0: Tensor, t1: Tensor, seed: int, w0: Tensor, tol: float = 1e-6) -> None:
        self.t0, self.t1, self.seed, self.tol = float(t0), float(t1), seed, tol
        self.shape, self.dtype, self.device = w0.shape, w0.dtype, w0.device

    def _normal(self, depth: int, index: int) -> Tensor:
        g = torch.Generator(device="cpu").manual_seed(_mix64(self.seed, depth, index))
        return torch.randn(self.shape, generator=g, dtype=torch.float64)

    def value(self, t: float) -> Tensor:
        """W(t) for t in [t0, t1] (clamped), float64 of the tree's shape."""
        t = min(max(t, self.t0), self.t1)
        lo, hi = self.t0, self.t1
        w_lo, w_hi = torch.zeros(self.shape, dtype=torch.float64), (hi - lo) ** 0.5 * self._normal(0, 0)
        depth, index = 0, 0
        while hi - lo > self.tol and depth < 62:
            mid = 0.5 * (lo + hi)
            w_mid = 0.5 * (w_lo + w_hi) + (0.25 * (hi - lo)) ** 0.5 * self._normal(depth + 1, index)
            depth, index = depth + 1, 2 * index
            if t < mid:
                hi, w_hi = mid, w_mid
            else:
                lo, w_lo, index = mid, w_mid, index + 1
        frac = (t - lo) / (hi - lo) if hi > lo else 0.0
        return w_lo + frac * (w_hi - w_lo)

    def __call__(self, lo: Tensor, hi: Tensor) -> Tensor:
        w = self.value(float(hi)) - self.value(float(lo))
        return w.to(dtype=self.dtype, device=self.device)


def _mix64(seed: int, depth: int, index: int) -> int:
    """A 64-bit hash (splitmix64 finaliser) of (seed, depth, index) for per-node generator seeds."""
    z = (seed * 0x9E3779B97F4A7C15 + depth * 0xBF58476D1CE4E5B9 + index * 0x94D049BB133111EB) & (2**64 - 1)
    for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
        z = ((z ^ (z >> shift)) * mult) & (2**64 - 1)
    return (z ^ (z >> 31)) & (2**63 - 1)
