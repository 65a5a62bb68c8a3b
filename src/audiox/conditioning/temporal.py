"""Temporal transformer of the CLIP video conditioners (official `SA_Transformer`).

Pre-norm self-attention blocks with a final LayerNorm, run across the frames of each CLIP token position.
Attribute names are the official state-dict keys after `Temp_transformer.` (`layers.i.0.norm`,
`layers.i.0.fn.to_qkv`, `layers.i.0.fn.to_out.0`, `layers.i.1.fn.net.0/3`, `norm`).
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn


class PreNorm(nn.Module):
    """LayerNorm then `fn` (the residual add is done by the caller)."""

    def __init__(self, *, dim: int, fn: nn.Module) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(self.norm(x))


class TemporalAttention(nn.Module):
    """Multi-head self-attention, bias-free fused qkv with (h d) layout, biased output projection."""

    def __init__(self, *, dim: int, heads: int, dim_head: int, dropout: float = 0.0) -> None:
        super().__init__()
        inner = heads * dim_head
        self.heads = heads
        self.scale = dim_head**-0.5
        self.to_qkv = nn.Linear(dim, inner * 3, bias=False)
        # official: the output projection is dropped only when it would be the identity map
        project_out = not (heads == 1 and dim_head == dim)
        self.to_out = (
            nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout)) if project_out else nn.Identity()
        )

    def forward(self, x: Tensor) -> Tensor:
        """x: (B, T, D) -> (B, T, D)."""
        q, k, v = (
            rearrange(t, "b n (h e) -> b h n e", h=self.heads) for t in self.to_qkv(x).chunk(3, dim=-1)
        )
        weights = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * self.scale, dim=-1)  # (B, H, T, T)
        out = rearrange(torch.matmul(weights, v), "b h n e -> b n (h e)")  # (B, T, H*E)
        return self.to_out(out)


class TemporalFeedForward(nn.Module):
    """Linear -> exact GELU -> Linear (dropouts at indices 2 and 4 keep the official key indices)."""

    def __init__(self, *, dim: int, hidden_dim: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(dim, hidden_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(hidden_dim, dim),
            nn.Dropout(dropout),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class TemporalTransformer(nn.Module):
    """Official `SA_Transformer(dim, depth, heads, dim_head, mlp_dim)`; defaults are the official sizes."""

    def __init__(
        self,
        *,
        dim: int = 768,
        depth: int = 4,
        heads: int = 16,
        dim_head: int = 64,
        mlp_dim: int = 3072,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            nn.ModuleList(
                [
                    PreNorm(
                        dim=dim,
                        fn=TemporalAttention(dim=dim, heads=heads, dim_head=dim_head, dropout=dropout),
                    ),
                    PreNorm(dim=dim, fn=TemporalFeedForward(dim=dim, hidden_dim=mlp_dim, dropout=dropout)),
                ]
            )
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        """x: (N, T, D) sequences over time -> (N, T, D)."""
        for attn, ff in self.layers:
            x = attn(x) + x
            x = ff(x) + x
        return self.norm(x)
