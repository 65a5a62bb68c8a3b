"""Building blocks shared by the two backbones: attention kernel, norms, feed-forwards, channel-last convs.

Attributes that hold weights carry the official state-dict names (`gamma`, `beta`, `proj`, `ff`, `w1`...).
Shape letters: B batch, T tokens, D width, H heads, E head dim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Unmasked softmax attention through `scaled_dot_product_attention`, scale 1/sqrt(E).

    q: (B, H, Tq, E), k/v: (B, H, Tk, E) -> (B, Tq, H*E) with heads merged as (h e).
    """
    out = F.scaled_dot_product_attention(q.contiguous(), k.contiguous(), v.contiguous())
    return rearrange(out, "b h t e -> b t (h e)")


def rms_norm(x: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Weightless RMS norm over the last axis: x * rsqrt(mean(x^2) + eps)."""
    return x * torch.rsqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps)


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """adaLN modulation x * (1 + scale) + shift (all broadcastable to x: (B, T, D))."""
    return x * (1 + scale) + shift


class LayerNorm(nn.Module):
    """Bias-free LayerNorm of the DiT: learnable `gamma`, `beta` a zero buffer.

    # official quirk: `beta` is a persistent buffer of zeros, so it is saved in (and loaded from) the
    # state dict although it never trains.
    """

    def __init__(self, dim: int, *, eps: float = 1e-5) -> None:
        super().__init__()
        self.eps = eps
        self.gamma = nn.Parameter(torch.ones(dim))
        self.register_buffer("beta", torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., D) -> (..., D)."""
        return F.layer_norm(x, x.shape[-1:], weight=self.gamma, bias=self.beta, eps=self.eps)


class GLU(nn.Module):
    """SwiGLU input half: `proj` Linear(dim_in -> 2*dim_out, bias), value * SiLU(gate)."""

    def __init__(self, *, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.proj = nn.Linear(dim_in, dim_out * 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, dim_in) -> (B, T, dim_out)."""
        value, gate = self.proj(x).chunk(2, dim=-1)
        return value * F.silu(gate)


class FeedForward(nn.Module):
    """DiT SwiGLU feed-forward; keys `ff.0.proj` and `ff.2` (index 1 is an empty slot in the official
    Sequential), hidden width int(dim * mult)."""

    def __init__(self, *, dim: int, mult: float = 4.0) -> None:
        super().__init__()
        inner = int(dim * mult)
        self.ff = nn.Sequential(GLU(dim_in=dim, dim_out=inner), nn.Identity(), nn.Linear(inner, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) -> (B, T, D)."""
        return self.ff(x)


class ChannelLastConv1d(nn.Conv1d):
    """Conv1d applied to a channel-last sequence: (B, T, C_in) -> (B, T, C_out)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


def conv_mlp_hidden(dim: int, mlp_ratio: float, multiple_of: int = 256) -> int:
    """Hidden width of the MMDiT ConvMLP: int(2/3 * int(dim * mlp_ratio)) rounded up to `multiple_of`."""
    hidden = int(2 * int(dim * mlp_ratio) / 3)
    return multiple_of * ((hidden + multiple_of - 1) // multiple_of)


class ConvMLP(nn.Module):
    """MMDiT gated conv feed-forward w2(SiLU(w1(x)) * w3(x)); bias-free channel-last convs."""

    def __init__(self, *, dim: int, hidden: int, kernel_size: int) -> None:
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.w1 = ChannelLastConv1d(dim, hidden, kernel_size, padding=pad, bias=False)
        self.w2 = ChannelLastConv1d(hidden, dim, kernel_size, padding=pad, bias=False)
        self.w3 = ChannelLastConv1d(dim, hidden, kernel_size, padding=pad, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) -> (B, T, D)."""
        return self.w2(F.silu(self.w1(x)) * self.w3(x))
