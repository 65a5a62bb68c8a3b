"""Timestep features: random Fourier features of t, then the embedding MLP (both backbones)."""

from __future__ import annotations

import math

import torch
from torch import nn


class FourierFeatures(nn.Module):
    """`weight` (out/2, in) ~ N(0, std^2); f = 2*pi * x @ weight.T; output [cos f, sin f].

    # official quirk: cosine half first, then sine; weight stored as [out/2, in] = [128, 1].
    """

    def __init__(self, in_features: int, out_features: int, *, std: float = 1.0) -> None:
        super().__init__()
        if out_features % 2:
            raise ValueError(f"{out_features=} must be even")
        self.weight = nn.Parameter(torch.randn(out_features // 2, in_features) * std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, in) -> (B, out)."""
        f = 2 * math.pi * x @ self.weight.T
        return torch.cat([f.cos(), f.sin()], dim=-1)


def timestep_embed_mlp(features_dim: int, embed_dim: int) -> nn.Sequential:
    """`to_timestep_embed`: Linear(features -> D, bias) -> SiLU -> Linear(D -> D, bias) (keys 0, 2)."""
    return nn.Sequential(nn.Linear(features_dim, embed_dim), nn.SiLU(), nn.Linear(embed_dim, embed_dim))


def bias_free_mlp(dim_in: int, dim_out: int) -> nn.Sequential:
    """`to_cond_embed` / `to_global_embed`: Linear(in -> out) -> SiLU -> Linear(out -> out), no biases."""
    return nn.Sequential(
        nn.Linear(dim_in, dim_out, bias=False), nn.SiLU(), nn.Linear(dim_out, dim_out, bias=False)
    )
