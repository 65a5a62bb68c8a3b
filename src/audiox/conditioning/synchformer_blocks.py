"""Building blocks of the Synchformer visual branch (a divided space-time ViT, "MotionFormer").

Attributes that hold weights carry exactly the official state-dict names (`qkv`, `proj`, `timeattn`,
`norm3`, `self_attn.in_proj_weight`, `linear1`, ...), so the official checkpoint loads without renaming.
Dropout and drop-path are 0 at inference in the official model and are left out here.

Shape letters: N segments (batch of 16-frame clips), H heads, E head dim, D width, F temporal tokens
(after the 2-frame tubelets), P spatial patches per temporal token, T tokens = 1 + F * P (CLS first).
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from einops import rearrange, repeat
from torch import nn

LAYER_NORM_EPS = 1e-6


def divided_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    *,
    axis: Literal["time", "space"],
    num_frames: int,
) -> torch.Tensor:
    """Attention restricted to one axis of the (frame, patch) grid, with a global CLS token.

    q, k, v: (N, H, T, E), token 0 is CLS, tokens 1.. are frame-major (index = f * P + p).
    The CLS query attends to every token. A patch query attends to the CLS key plus the patches that
    share its spatial position (axis="time") or its frame (axis="space").
    Returns (N, H, T, E).
    """
    cls_out = F.scaled_dot_product_attention(q[:, :, :1], k, v)  # (N, H, 1, E)
    # groups: one per spatial position (time axis) or one per frame (space axis)
    grid = {"f": num_frames, "p": (q.shape[2] - 1) // num_frames}
    grouped = "(n p) h f e" if axis == "time" else "(n f) h p e"
    q_grid, k_grid, v_grid = (rearrange(t[:, :, 1:], f"n h (f p) e -> {grouped}", **grid) for t in (q, k, v))
    num_groups = grid["p"] if axis == "time" else grid["f"]
    k_cls, v_cls = (repeat(t[:, :, :1], "n h 1 e -> (n g) h 1 e", g=num_groups) for t in (k, v))
    out = F.scaled_dot_product_attention(
        q_grid, torch.cat([k_cls, k_grid], dim=2), torch.cat([v_cls, v_grid], dim=2)
    )  # (N * groups, H, group_len, E)
    out = rearrange(out, f"{grouped} -> n h (f p) e", **grid)  # (N, H, F * P, E)
    return torch.cat([cls_out, out], dim=2)  # (N, H, T, E)


class DividedAttention(nn.Module):
    """Multi-head self-attention along time or space (weights: `qkv`, `proj`)."""

    def __init__(self, *, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, *, axis: Literal["time", "space"], num_frames: int) -> torch.Tensor:
        """x: (N, T, D) -> (N, T, D); see `divided_attention` for the token layout."""
        q, k, v = rearrange(self.qkv(x), "n t (three h e) -> three n h t e", three=3, h=self.num_heads)
        out = divided_attention(q, k, v, axis=axis, num_frames=num_frames)  # (N, H, T, E)
        return self.proj(rearrange(out, "n h t e -> n t (h e)"))  # (N, T, D)


class Mlp(nn.Module):
    """Two-layer GELU MLP (weights: `fc1`, `fc2`)."""

    def __init__(self, *, dim: int, hidden_dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden_dim)
        self.fc2 = nn.Linear(hidden_dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., D) -> (..., D)."""
        return self.fc2(F.gelu(self.fc1(x)))


class DividedSpaceTimeBlock(nn.Module):
    """Pre-norm block: time attention, then space attention, then MLP, each residual.

    Attribute order and names follow the official module, so the state-dict order matches too.
    """

    def __init__(self, *, dim: int, num_heads: int, mlp_ratio: float = 4.0, qkv_bias: bool = True) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.attn = DividedAttention(dim=dim, num_heads=num_heads, qkv_bias=qkv_bias)
        self.timeattn = DividedAttention(dim=dim, num_heads=num_heads, qkv_bias=qkv_bias)
        self.norm2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.mlp = Mlp(dim=dim, hidden_dim=int(dim * mlp_ratio))
        self.norm3 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)

    def forward(self, x: torch.Tensor, *, num_frames: int) -> torch.Tensor:
        """x: (N, T, D) -> (N, T, D)."""
        # official quirk: the time attention runs first and uses `norm3`; `attn`/`norm1` is the SPACE
        # attention (naming inherited from TimeSformer), `norm2` feeds the MLP.
        x = x + self.timeattn(self.norm3(x), axis="time", num_frames=num_frames)
        x = x + self.attn(self.norm1(x), axis="space", num_frames=num_frames)
        return x + self.mlp(self.norm2(x))


class SpatialAttentionPooling(nn.Module):
    """One pre-norm transformer-encoder layer over a frame's patches plus a learned CLS; returns the CLS.

    Mirrors `torch.nn.TransformerEncoderLayer(norm_first=True, activation=GELU, eps=1e-6)` with an extra
    `cls_token`, which is what the official `spatial_attn_agg` is; attribute names are its state-dict names.
    """

    def __init__(self, *, dim: int, num_heads: int, hidden_dim: int) -> None:
        super().__init__()
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.self_attn = nn.MultiheadAttention(dim, num_heads, batch_first=True)
        self.linear1 = nn.Linear(dim, hidden_dim)
        self.linear2 = nn.Linear(hidden_dim, dim)
        self.norm1 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.norm2 = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (M, P, D) patches of M frames -> (M, D) pooled CLS output."""
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)  # (M, 1 + P, D)
        h = self.norm1(x)
        x = x + self.self_attn(h, h, h, need_weights=False)[0]
        x = x + self.linear2(F.gelu(self.linear1(self.norm2(x))))
        return x[:, 0]  # (M, D)
