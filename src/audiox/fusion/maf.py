"""MAF (Multimodal Adaptive Fusion) block of AudioX-Turbo / AudioX-MAF.

Three modality streams are pooled into sigmoid gates, the gated streams form a context that a bank of
learned "unified experts" reads by cross-attention, a transformer encoder mixes the experts, and each
stream receives the (LayerNorm-ed) mean of its own expert chunk, scaled by a learned bypass gate, added
to every one of its tokens.

Attribute names are exactly the official state-dict keys (after `maf_block.`), even where they are odd
(`norm_v2`, `bypass_gate_v`, `gating_network.0/2`, `fusion_transformer.layers.i`).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class MafOutput(NamedTuple):
    """Refined streams in MAF's slot order (video, text, audio); `gates`: (B, 3) when asked, else None."""

    video: Tensor
    text: Tensor
    audio: Tensor
    gates: Tensor | None = None


class MafBlock(nn.Module):
    """MAF block over three token streams of width `dim` (official: dim = cond_dim = 768).

    Slots are named (video, text, audio) like the official signature; note that the official wrapper
    feeds (text, video, audio) into them (see `audiox.fusion.sequence`).
    """

    def __init__(
        self,
        dim: int,
        num_experts_per_modality: int,
        num_heads: int,
        num_fusion_layers: int,
        mlp_ratio: float = 4.0,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.num_experts_per_modality = num_experts_per_modality
        # official quirk: exact (erf) GELU in the gating network and in the fusion layers
        self.gating_network = nn.Sequential(
            nn.Linear(3 * dim, dim), nn.GELU(), nn.Linear(dim, 3), nn.Sigmoid()
        )
        self.unified_experts = nn.Parameter(torch.randn(3 * num_experts_per_modality, dim) * 0.02)
        self.cross_attn = nn.MultiheadAttention(dim, num_heads, dropout=dropout, batch_first=True)
        self.norm1 = nn.LayerNorm(dim)
        layer = nn.TransformerEncoderLayer(
            d_model=dim,
            nhead=num_heads,
            dim_feedforward=int(dim * mlp_ratio),
            dropout=dropout,
            activation=F.gelu,
            batch_first=True,
            norm_first=True,
        )
        self.fusion_transformer = nn.TransformerEncoder(layer, num_fusion_layers, enable_nested_tensor=False)
        self.norm_v2 = nn.LayerNorm(dim)
        self.norm_t2 = nn.LayerNorm(dim)
        self.norm_a2 = nn.LayerNorm(dim)
        self.bypass_gate_v = nn.Parameter(torch.tensor(-10.0))
        self.bypass_gate_t = nn.Parameter(torch.tensor(-10.0))
        self.bypass_gate_a = nn.Parameter(torch.tensor(-10.0))

    def modality_gates(self, video_tokens: Tensor, text_tokens: Tensor, audio_tokens: Tensor) -> Tensor:
        """Sigmoid gate per slot from the sequence means. Inputs (B, T_k, D) -> (B, 3) = (w_v, w_t, w_a)."""
        pooled = torch.cat(
            [video_tokens.mean(1), text_tokens.mean(1), audio_tokens.mean(1)], dim=1
        )  # (B, 3D)
        return self.gating_network(pooled)

    @staticmethod
    def gated_context(streams: tuple[Tensor, Tensor, Tensor], gates: Tensor) -> Tensor:
        """Scale each slot's tokens by its gate and concatenate. streams: three (B, T_k, D), gates: (B, 3)
        -> (B, T_v + T_t + T_a, D)."""
        return torch.cat([s * gates[:, i, None, None] for i, s in enumerate(streams)], dim=1)

    def read_experts(self, context: Tensor) -> Tensor:
        """Experts attend to the gated context. context: (B, T, D) -> updated experts (B, 3K, D)."""
        experts = self.unified_experts.unsqueeze(0).expand(context.shape[0], -1, -1)  # (B, 3K, D)
        read, _ = self.cross_attn(experts, context, context)
        return self.norm1(experts + read)

    def refine(
        self, streams: tuple[Tensor, Tensor, Tensor], fused_experts: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Add each slot's LayerNorm-ed expert mean, times sigmoid(bypass gate), to all its tokens.

        streams: three (B, T_k, D); fused_experts: (B, 3K, D) in slot order.
        """
        chunks = fused_experts.split(self.num_experts_per_modality, dim=1)  # 3 x (B, K, D)
        norms = (self.norm_v2, self.norm_t2, self.norm_a2)
        gates = (self.bypass_gate_v, self.bypass_gate_t, self.bypass_gate_a)
        out = []
        for tokens, chunk, norm, gate in zip(streams, chunks, norms, gates, strict=True):
            summary = norm(chunk.mean(dim=1)).unsqueeze(1)  # (B, 1, D)
            out.append(tokens + torch.sigmoid(gate) * summary)
        return out[0], out[1], out[2]

    def forward(
        self, video_tokens: Tensor, text_tokens: Tensor, audio_tokens: Tensor, *, return_gates: bool = False
    ) -> MafOutput:
        """Fuse three streams (B, T_v, D), (B, T_t, D), (B, T_a, D); returns them refined, same shapes."""
        gates = self.modality_gates(video_tokens, text_tokens, audio_tokens)  # (B, 3)
        streams = (video_tokens, text_tokens, audio_tokens)
        context = self.gated_context(streams, gates)  # (B, T_v + T_t + T_a, D)
        fused = self.fusion_transformer(self.read_experts(context))  # (B, 3K, D)
        video, text, audio = self.refine(streams, fused)
        return MafOutput(video, text, audio, gates if return_gates else None)
