"""The caption planner of audiox's own model (own config key `plan_slots` of the `t5` conditioner).

A caption says *what* should sound and often *when* ("two knocks then a bell", "between 1s and 3s, a drum");
a small diffusion model trained for minutes on a CPU does not learn to read that from token states in which
the request explains under 1 % of its loss. The planner reads it instead, supervised: from the frozen T5's
states it predicts a timeline, `plan_slots` equal time slots over the conditioning window, each with
`plan_channels` probabilities (for the own model: per event kind "sounds here" and "starts here", and
"music"). It is trained alone on the world's captions and their labels (`synth.plan_pretraining`), then
frozen like the T5; the conditioner adds the timeline, through a trainable Linear that starts at zero, to
the last `plan_slots` token slots (`T5TextConditioner.project_hidden`), where the MMDiT's token-axis
projection reads slot j at the latent positions of the same time (`backbone.mmdit.init_plan_projection`).
For a caption without times the plan is the spread of where such events fall (probabilities < 1).

Shapes: hidden (B, T, E) T5 states, mask (B, T) bool -> logits / plan (B, plan_slots, plan_channels).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def time_codes(slots: int, width: int) -> Tensor:
    """Sinusoidal codes of the slot centres (slot j at relative time (j + 0.5) / slots): (slots, width)."""
    t = (torch.arange(slots, dtype=torch.float32, device="cpu") + 0.5) / slots  # (S,); CPU even under a meta build
    freqs = torch.exp(torch.linspace(0.0, math.log(64.0), width // 2, device="cpu")) * math.pi  # (W/2,)
    angles = t[:, None] * freqs[None]
    return torch.cat((angles.sin(), angles.cos()), dim=1)


def index_codes(length: int, width: int) -> Tensor:
    """Sinusoidal codes of token indices 0..length-1 (periods from 2 pi to ~800 tokens): (length, width)."""
    i = torch.arange(length, dtype=torch.float32, device="cpu")
    freqs = torch.exp(-torch.linspace(0.0, math.log(128.0), width // 2, device="cpu"))  # (W/2,)
    angles = i[:, None] * freqs[None]
    return torch.cat((angles.sin(), angles.cos()), dim=1)


class CaptionPlanner(nn.Module):
    """The caption's T5 states plus their token indices go through a small pre-norm transformer encoder
    (the frozen T5 has only relative positions, and times are spelled digit by digit: "1", ".", "6", "s");
    learned slot queries (initialised as time codes) cross-attend to the result through a small pre-norm
    transformer decoder; a Linear head gives per-slot, per-channel logits."""

    def __init__(self, *, width: int, slots: int, channels: int, depth: int = 2, heads: int = 4,
                 encoder_depth: int = 2) -> None:
        super().__init__()
        self.slots, self.channels = slots, channels
        self.positions = nn.Linear(width, width, bias=False)
        self.encoder = nn.ModuleList(
            nn.TransformerEncoderLayer(width, heads, dim_feedforward=2 * width, dropout=0.0, batch_first=True,
                                       norm_first=True)
            for _ in range(encoder_depth)
        )
        self.queries = nn.Parameter(time_codes(slots, width))
        self.layers = nn.ModuleList(
            nn.TransformerDecoderLayer(width, heads, dim_feedforward=2 * width, dropout=0.0, batch_first=True,
                                       norm_first=True)
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, channels)

    def forward(self, hidden: Tensor, mask: Tensor) -> Tensor:
        """hidden (B, T, E), mask (B, T) bool (True = a caption token) -> logits (B, slots, channels)."""
        ignore = ~mask.bool()
        ignore[:, 0] &= mask.bool().any(dim=1)  # a caption of no tokens attends to its first slot, not to nothing
        memory = hidden.float() + self.positions(index_codes(hidden.shape[1], hidden.shape[2]).to(hidden.device))
        for layer in self.encoder:
            memory = layer(memory, src_key_padding_mask=ignore)
        x = self.queries[None].expand(hidden.shape[0], -1, -1)
        for layer in self.layers:
            x = layer(x, memory, memory_key_padding_mask=ignore)
        return self.head(self.norm(x))

    def plan(self, hidden: Tensor, mask: Tensor) -> Tensor:
        """The timeline: sigmoid of `forward`, (B, slots, channels) in [0, 1]."""
        return torch.sigmoid(self(hidden, mask))
