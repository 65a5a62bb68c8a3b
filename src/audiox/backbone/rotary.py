"""Rotary position embeddings of the two backbones (they pair dimensions differently).

DiT: partial rotary over the first `rot_dim` head dims, "rotate-half" pairing (dim j with j + rot_dim/2),
`inv_freq` a saved buffer. MMDiT: all head dims, adjacent pairs (2i, 2i+1), table computed, never saved.
Both run in float32 and give position 0 to the prepended time token.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn


class RotaryEmbedding(nn.Module):
    """DiT rotary table; `inv_freq[i] = base^(-2i/dim)` is a persistent buffer (in the checkpoint).

    # official quirk: `inv_freq` is saved in the state dict (`transformer.rotary_pos_emb.inv_freq`).
    """

    def __init__(self, dim: int, *, base: float = 10000.0) -> None:
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2).float() / dim))
        self.register_buffer("inv_freq", inv_freq)

    def forward(self, seq_len: int) -> torch.Tensor:
        """Angles for positions 0..seq_len-1, duplicated halves: (T, dim) = [theta, theta]."""
        pos = torch.arange(seq_len, device=self.inv_freq.device, dtype=torch.float32)
        freqs = torch.einsum("t,f->tf", pos, self.inv_freq.float())
        return torch.cat((freqs, freqs), dim=-1)


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    """[a, b] -> [-b, a] over the last axis split in two halves."""
    a, b = rearrange(x, "... (j d) -> ... j d", j=2).unbind(dim=-2)
    return torch.cat((-b, a), dim=-1)


def apply_rotate_half(x: torch.Tensor, freqs: torch.Tensor) -> torch.Tensor:
    """Rotate the first freqs.shape[-1] dims of x (rotate-half pairing), pass the rest through.

    x: (B, H, T, E), freqs: (T, R) with R <= E -> (B, H, T, E), computed in float32.
    """
    dtype = x.dtype
    rot_dim = freqs.shape[-1]
    x = x.float()
    x_rot, x_pass = x[..., :rot_dim], x[..., rot_dim:]
    x_rot = x_rot * freqs.cos() + rotate_half(x_rot) * freqs.sin()
    return torch.cat((x_rot, x_pass), dim=-1).to(dtype)


def adjacent_rope_table(
    length: int, dim: int, *, theta: float = 10000.0, device: torch.device | str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """MMDiT table: angle[p, i] = p * theta^(-2i/dim); returns (cos, sin), each (T, dim/2), float32."""
    pos = torch.arange(length, dtype=torch.float32, device=device)
    freqs = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.float32, device=device) / dim))
    angles = torch.einsum("t,f->tf", pos, freqs)
    return angles.cos(), angles.sin()


def apply_adjacent_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate adjacent pairs (x[2i], x[2i+1]) by the table angles (GPT-J style), in float32.

    x: (B, H, T, E), cos/sin: (T, E/2) -> (B, H, T, E).
    """
    dtype = x.dtype
    pairs = rearrange(x.float(), "... (f two) -> ... f two", two=2)
    x0, x1 = pairs[..., 0], pairs[..., 1]
    out = torch.stack((cos * x0 - sin * x1, sin * x0 + cos * x1), dim=-1)
    return rearrange(out, "... f two -> ... (f two)").to(dtype)
