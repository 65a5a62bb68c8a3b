"""Our implementation of Synchformer's offset classifier (`Synchformer.transformer`, a `GlobalTransformer`).

Input: per clip window, S segments of visual tokens (S * 8) and audio tokens (S * 6), already projected by
`vproj` / `aproj`. Each stream gets its own LayerNorm; the sequence [OFF, visual..., MOD, audio...] gets a
learned position table (`pos_emb_cfg.pos_emb`, 1 x (2 + S * 14) x D, so S is fixed by the weights: 14 for the
published model, i.e. 4.8 s); 3 minGPT blocks (pre-norm, separate key/query/value, GELU MLP); a final
LayerNorm; a linear head on the OFF token -> logits over the offset classes (21: -2.0 .. +2.0 s).

State-dict keys are the official ones (`OFF_tok`, `MOD_tok`, `vis_in_lnorm`, `pos_emb_cfg.pos_emb`,
`blocks.N.attn.key`, `blocks.N.mlp.0`, `blocks.N.mlp.2`, `ln_f`, `off_head`), kept even where odd (the
"cfg" in `pos_emb_cfg` is the official name of the positional-encoding module). LayerNorm eps is torch's
default 1e-5 there. Dropout (0.1 in training) is off at inference and left out.
Shape letters: B windows, T tokens, D width, H heads, E head dim.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn


class SelfAttention(nn.Module):
    """minGPT attention without a mask: `key`, `query`, `value`, output `proj`."""

    def __init__(self, *, dim: int, num_heads: int) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.key = nn.Linear(dim, dim)
        self.query = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, D) -> (B, T, D)."""
        q, k, v = (
            rearrange(p(x), "b t (h e) -> b h t e", h=self.num_heads)
            for p in (self.query, self.key, self.value)
        )
        return self.proj(rearrange(F.scaled_dot_product_attention(q, k, v), "b h t e -> b t (h e)"))


class Block(nn.Module):
    """x + attn(ln1(x)), then x + mlp(ln2(x)); `mlp` is Sequential(Linear, GELU, Linear[, Dropout])."""

    def __init__(self, *, dim: int, num_heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.ln2 = nn.LayerNorm(dim)
        self.attn = SelfAttention(dim=dim, num_heads=num_heads)
        # official quirk: index 3 was a Dropout, so the weights sit at `mlp.0` and `mlp.2`
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class PositionTable(nn.Module):
    """A learned table added to the whole sequence (official `RandInitPositionalEncoding`)."""

    def __init__(self, *, length: int, dim: int) -> None:
        super().__init__()
        self.pos_emb = nn.Parameter(torch.zeros(1, length, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pos_emb


class SyncTransformer(nn.Module):
    """Offset classifier over one window of visual and audio tokens.

    num_segments: segments per window (official 14); tokens per segment are 8 visual + 6 audio.
    """

    def __init__(
        self,
        *,
        dim: int = 768,
        depth: int = 3,
        num_heads: int = 8,
        num_segments: int = 14,
        visual_tokens: int = 8,
        audio_tokens: int = 6,
        num_classes: int = 21,
    ) -> None:
        super().__init__()
        self.num_segments = num_segments
        self.vis_in_lnorm = nn.LayerNorm(dim)
        self.aud_in_lnorm = nn.LayerNorm(dim)
        self.OFF_tok = nn.Parameter(torch.zeros(1, 1, dim))
        self.MOD_tok = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_emb_cfg = PositionTable(length=2 + num_segments * (visual_tokens + audio_tokens), dim=dim)
        self.blocks = nn.Sequential(*(Block(dim=dim, num_heads=num_heads) for _ in range(depth)))
        self.ln_f = nn.LayerNorm(dim)
        self.off_head = nn.Linear(dim, num_classes)

    def forward(self, visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """visual: (B, S * 8, D), audio: (B, S * 6, D) projected tokens -> (B, num_classes) offset logits."""
        batch = visual.shape[0]
        off, mod = (tok.expand(batch, -1, -1) for tok in (self.OFF_tok, self.MOD_tok))
        x = torch.cat([off, self.vis_in_lnorm(visual), mod, self.aud_in_lnorm(audio)], dim=1)  # (B, T, D)
        x = self.ln_f(self.blocks(self.pos_emb_cfg(x)))
        return self.off_head(x[:, 0])  # (B, num_classes)
