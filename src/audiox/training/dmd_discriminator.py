"""Diffusion-discriminator heads of DMD distillation (AudioX-Turbo, architecture.md §6.3 step 5).

The discriminator is a frozen (or co-trained) diffusion network used as a feature extractor plus small
convolutional heads: a clean latent x is lightly re-noised (t_d ~ U(0, gan_max_t)), the network's output
head is read after the first d blocks (one head per prefix depth in `all_blocks` mode, the full depth in
`last_block` mode) and each head maps that (B, C, L) feature to patch logits (B, 1, ~L/4); the heads'
logits are averaged. Losses are the hinge GAN pair (`hinge_discriminator_loss`, `hinge_generator_loss`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from audiox.errors import ConfigError


class DiscriminatorHead(nn.Module):
    """Conv1d(C -> w, k3) -> LReLU -> Conv1d(w -> 2w, k4, s2) -> LReLU -> Conv1d(2w -> 4w, k4, s2) -> LReLU
    -> Conv1d(4w -> 1, k3); official widths w = 128 (128 / 256 / 512), LeakyReLU slope 0.2."""

    def __init__(self, *, in_channels: int, width: int = 128) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Conv1d(in_channels, width, 3, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(width, 2 * width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(2 * width, 4 * width, 4, stride=2, padding=1),
            nn.LeakyReLU(0.2),
            nn.Conv1d(4 * width, 1, 3, padding=1),
        )

    def forward(self, features: Tensor) -> Tensor:
        """features: (B, C, L) -> logits (B, 1, L // 4) (59 for the official L = 236)."""
        return self.layers(features)


class DiscriminatorHeads(nn.Module):
    """One `DiscriminatorHead` per feature depth; `forward` averages their logits."""

    def __init__(self, *, depths: Sequence[int], in_channels: int, width: int = 128) -> None:
        super().__init__()
        if not depths or list(depths) != sorted(set(depths)) or depths[0] < 1:
            raise ConfigError(f"discriminator: feature depths {list(depths)} must be ascending and >= 1")
        self.depths = tuple(depths)
        self.heads = nn.ModuleList(DiscriminatorHead(in_channels=in_channels, width=width) for _ in depths)

    def forward(self, features: Sequence[Tensor]) -> Tensor:
        """features: one (B, C, L) per depth -> averaged logits (B, 1, L')."""
        if len(features) != len(self.heads):
            raise ConfigError(f"discriminator: {len(features)} feature maps for {len(self.heads)} heads")
        return torch.stack([head(f.float()) for head, f in zip(self.heads, features)]).mean(dim=0)


def feature_depths(mode: str, num_blocks: int, backbone_depth: int) -> tuple[int, ...]:
    """Depths whose outputs feed the heads: `last_block` -> (n,), `all_blocks` -> (1, ..., n), with
    n = num_blocks (-1: the whole backbone)."""
    n = backbone_depth if num_blocks == -1 else num_blocks
    if not 1 <= n <= backbone_depth:
        raise ConfigError(f"gan_backbone_num_blocks={num_blocks}: use -1 or 1..{backbone_depth} (the backbone depth)")
    if mode == "last_block":
        return (n,)
    if mode == "all_blocks":
        return tuple(range(1, n + 1))
    raise ConfigError(f"gan_discriminator_head_mode={mode!r}: use 'last_block' or 'all_blocks'")


def hinge_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """mean(relu(1 - D(real))) + mean(relu(1 + D(fake))); logits of any shape -> ()."""
    return torch.relu(1 - real_logits).mean() + torch.relu(1 + fake_logits).mean()


def hinge_generator_loss(fake_logits: Tensor) -> Tensor:
    """-mean(D(generated)) -> ()."""
    return -fake_logits.mean()
