"""One MMDiT block (`MMDitSingleBlock`) and its two attentions, as in AudioX-Turbo.

Attribute names are the official state-dict names (`attn.qkv`, `cross_attn.to_q`, `cross_attn.to_kv`,
`linear1`, `ffn.w1..w3`, `adaLN_modulation.1`). Shape letters: B batch, S sequence (time token + latent
frames), D width, H heads, E head dim.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from audiox.backbone.layers import ChannelLastConv1d, ConvMLP, attend, conv_mlp_hidden, modulate, rms_norm
from audiox.backbone.rotary import apply_adjacent_rope


class SelfAttention(nn.Module):
    """Biased `qkv` with interleaved (h e j) channel layout, weightless RMS q/k norm, adjacent-pair RoPE.

    # official quirk: the qkv output channels are ordered (head, head_dim, j) with j = q, k, v fastest,
    # not [q | k | v] blocks.
    """

    def __init__(self, *, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.qkv = nn.Linear(dim, dim * 3)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        """x: (B, S, D), cos/sin: (S, E/2) -> (B, S, D) (no output projection)."""
        qkv = rearrange(self.qkv(x), "b s (h e j) -> j b h s e", h=self.num_heads, j=3)
        q, k, v = rms_norm(qkv[0]), rms_norm(qkv[1]), qkv[2]
        q, k = apply_adjacent_rope(q, cos, sin), apply_adjacent_rope(k, cos, sin)
        return attend(q, k, v)


class CrossAttention(nn.Module):
    """Attention from the sequence to the time-token context, with key and value swapped.

    # official quirk: `to_kv` is interleaved (h e j), j = 0 "k" (RMS-normed), j = 1 "v"; the official code
    # unpacks them as (q, v, k), so the keys are the raw j=1 part and the values the normed j=0 part. With
    # a single context token the output is that normed part broadcast to every position (`to_q` is dead);
    # there is no output projection.
    """

    def __init__(self, *, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.to_q = nn.Linear(dim, dim, bias=False)
        self.to_kv = nn.Linear(dim, dim * 2, bias=False)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        """x: (B, S, D), context: (B, M, D) -> (B, S, D)."""
        q = rms_norm(rearrange(self.to_q(x), "b s (h e) -> b h s e", h=self.num_heads))
        normed_k, raw_v = self._keys_values(context)
        return attend(q, raw_v, normed_k)  # swapped: keys = raw "v", values = normed "k"

    def single_key(self, context: torch.Tensor) -> torch.Tensor:
        """The output for a single context token without the dead query: context (B, 1, D) -> (B, 1, D),
        which broadcasts over S like `forward`'s (B, S, D). Exact: the softmax over one key is 1.0, so
        every position gets 1.0 * value, that value itself."""
        normed_k, _ = self._keys_values(context)  # (B, H, 1, E)
        return rearrange(normed_k, "b h m e -> b m (h e)")

    def _keys_values(self, context: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """context (B, M, D) -> (normed "k", raw "v"), each (B, H, M, E)."""
        kv = rearrange(self.to_kv(context), "b m (h e j) -> j b h m e", h=self.num_heads, j=2)
        return rms_norm(kv[0]), kv[1]


class MMDitSingleBlock(nn.Module):
    """adaLN block driven per position by the resampled context tokens.

    # official quirk: the six modulation tensors are per position (B, S, D), not per item.
    """

    def __init__(self, *, dim: int, num_heads: int, mlp_ratio: float, kernel_size: int) -> None:
        super().__init__()
        pad = (kernel_size - 1) // 2
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.attn = SelfAttention(dim=dim, num_heads=num_heads)
        self.cross_attn = CrossAttention(dim=dim, num_heads=num_heads)
        # official quirk: `linear1` is a kernel-3 conv along the sequence (mixes the time token in).
        self.linear1 = ChannelLastConv1d(dim, dim, kernel_size, padding=pad)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False)
        self.ffn = ConvMLP(dim=dim, hidden=conv_mlp_hidden(dim, mlp_ratio), kernel_size=kernel_size)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(dim, 6 * dim))

    def modulation(self, cond: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """cond: (B, S, D) -> the six adaLN tensors (shift1, scale1, gate1, shift2, scale2, gate2), each
        (B, S, D). They depend on the conditions only, not on x or t (see `StepInvariantCache`)."""
        return tuple(self.adaLN_modulation(cond).chunk(6, dim=-1))

    def forward(
        self,
        x: torch.Tensor,
        cond: torch.Tensor | None,
        cos: torch.Tensor,
        sin: torch.Tensor,
        context: torch.Tensor,
        *,
        modulation: tuple[torch.Tensor, ...] | None = None,
    ) -> torch.Tensor:
        """x: (B, S, D), cond: (B, S, D) per-position conditioning, cos/sin: (S, E/2), context: (B, 1, D)
        time token -> (B, S, D). With `modulation` (`self.modulation(cond)` computed earlier) cond is not
        read and the single-key cross-attention skips its dead query projection (both exact)."""
        cached = modulation is not None
        shift1, scale1, gate1, shift2, scale2, gate2 = modulation if cached else self.modulation(cond)
        attn_out = self.attn(modulate(self.norm1(x), shift1, scale1), cos, sin)
        x = x + self.linear1(attn_out) * gate1
        if cached and context.shape[1] == 1:
            x = x + self.cross_attn.single_key(context)  # (B, 1, D) broadcast over S
        else:
            x = x + self.cross_attn(x, context)
        return x + self.ffn(modulate(self.norm2(x), shift2, scale2)) * gate2
