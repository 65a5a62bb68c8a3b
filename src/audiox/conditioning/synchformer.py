"""Our implementation of the Synchformer visual feature extractor (MotionFormer, divided space-time ViT).

AudioX-Turbo (like MMAudio) turns 25 fps video into sync features with the visual branch of Synchformer:
a 16-frame 224x224 segment -> 2x16x16 tubelets (8 x 14 x 14 tokens + CLS) -> 12 divided space-time
blocks -> final LayerNorm on the patch tokens (CLS dropped) -> per temporal token, an attention-pooling
encoder layer over its 196 patches (`spatial_attn_agg`) -> (8, 768) per segment. There is no temporal
aggregation (the official `temp_attn_agg` is Identity) and no global/segment aggregation.

State-dict keys: this class is the official `Synchformer.vfeat_extractor` (a `MotionFormer`). The official
`synchformer_state_dict.pth` holds `vfeat_extractor.<key>` (plus audio-branch and fusion keys that are not
used); `<key>` is exactly our key, e.g. `vfeat_extractor.blocks.3.timeattn.qkv.weight` ->
`blocks.3.timeattn.qkv.weight`. `audiox.conditioning.sync.load_synchformer` applies that mapping.
The official classification head and `pre_logits` are replaced by Identity there, so they have no keys.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import nn

from audiox.conditioning.synchformer_blocks import (
    LAYER_NORM_EPS,
    DividedSpaceTimeBlock,
    SpatialAttentionPooling,
)


class PatchEmbed(nn.Module):
    """One patchifying convolution `proj` (2-D for images or 3-D for tubelets), flattened to tokens."""

    def __init__(self, proj: nn.Conv2d | nn.Conv3d) -> None:
        super().__init__()
        self.proj = proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (N, C, [T,] H, W) -> (N, tokens, D), tokens in (t, h, w) row-major order."""
        return rearrange(self.proj(x), "n d ... -> n (...) d")


class Synchformer(nn.Module):
    """Synchformer visual branch: 16-frame segments -> 8 temporal tokens each.

    Sizes are keyword arguments whose defaults are the official (ViT-B/16, 16x4 "divided") values.
    Parameter names are the official ones (after the `vfeat_extractor.` prefix).
    """

    def __init__(
        self,
        *,
        image_size: int = 224,
        patch_size: int = 16,
        tubelet_size: int = 2,
        temporal_resolution: int = 8,
        in_channels: int = 3,
        dim: int = 768,
        depth: int = 12,
        num_heads: int = 12,
        mlp_ratio: float = 4.0,
        qkv_bias: bool = True,
    ) -> None:
        super().__init__()
        self.image_size = image_size
        self.in_channels = in_channels
        self.tubelet_size = tubelet_size
        self.temporal_resolution = temporal_resolution
        num_patches = (image_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + 1, dim))  # CLS + spatial positions
        self.temp_embed = nn.Parameter(torch.zeros(1, temporal_resolution, dim))
        # official quirk: a 2-D (per-frame) patch embedding is built and stored in the checkpoint but never
        # used: the tokens come from the 3-D tubelet embedding `patch_embed_3d`.
        self.patch_embed = PatchEmbed(nn.Conv2d(in_channels, dim, patch_size, stride=patch_size))
        tubelet = (tubelet_size, patch_size, patch_size)
        self.patch_embed_3d = PatchEmbed(nn.Conv3d(in_channels, dim, tubelet, stride=tubelet))
        self.blocks = nn.ModuleList(
            DividedSpaceTimeBlock(dim=dim, num_heads=num_heads, mlp_ratio=mlp_ratio, qkv_bias=qkv_bias)
            for _ in range(depth)
        )
        self.norm = nn.LayerNorm(dim, eps=LAYER_NORM_EPS)
        self.spatial_attn_agg = SpatialAttentionPooling(
            dim=dim, num_heads=num_heads, hidden_dim=int(mlp_ratio * dim)
        )

    @property
    def frames_per_segment(self) -> int:
        """Frames one segment must have: tubelet size x temporal tokens (official: 2 x 8 = 16)."""
        return self.tubelet_size * self.temporal_resolution

    def embed_tokens(self, segments: torch.Tensor) -> torch.Tensor:
        """segments: (N, T, C, H, W) normalised frames -> (N, 1 + F * P, D) tokens with CLS first.

        Position of patch (f, p) = pos_embed[1 + p] + temp_embed[f]; CLS gets pos_embed[0].
        """
        x = self.patch_embed_3d(rearrange(segments, "n t c h w -> n c t h w"))  # (N, F * P, D)
        grid_pos = self.pos_embed[:, None, 1:] + self.temp_embed[:, :, None]  # (1, F, P, D)
        x = x + rearrange(grid_pos, "1 f p d -> 1 (f p) d")
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(x.shape[0], -1, -1)  # (N, 1, D)
        return torch.cat([cls, x], dim=1)  # (N, 1 + F * P, D)

    def forward(self, segments: torch.Tensor) -> torch.Tensor:
        """segments: (N, T, C, H, W) with T = `frames_per_segment`, normalised to [-1, 1] -> (N, F, D).

        F = T / tubelet_size temporal tokens (official: 8 tokens of width 768 per 16-frame segment).
        """
        num_frames = self.temporal_resolution
        x = self.embed_tokens(segments)  # (N, 1 + F * P, D)
        for block in self.blocks:
            x = block(x, num_frames=num_frames)
        # the CLS token of the ViT is dropped; the final norm applies to the patch tokens only
        x = self.norm(x[:, 1:])  # (N, F * P, D)
        per_frame = rearrange(x, "n (f p) d -> (n f) p d", f=num_frames)
        pooled = self.spatial_attn_agg(per_frame)  # (N * F, D)
        return rearrange(pooled, "(n f) d -> n f d", f=num_frames)  # (N, F, D)
