"""The whole Synchformer audio-visual sync classifier, as MMAudio's av-benchmark uses it for DeSync.

    visual segments (N, 16, 3, 224, 224) --vfeat_extractor--> (N, 8, 768) --vproj--\\
                                                                                     transformer -> 21 logits
    log-mel segments (N, 128, 66) ------afeat_extractor--> (N, 6, 768) --aproj--/   (per 14-segment window)

State-dict keys are the published ones, top level `vfeat_extractor.*` (the visual branch audiox already has:
`audiox.conditioning.synchformer.Synchformer`, reused here), `afeat_extractor.*` (`ast_audio.py`), `vproj`,
`aproj` (768 -> 768 linear) and `transformer.*` (`sync_transformer.py`). Both `synchformer_state_dict.pth`
(MMAudio release v0.1, the file the av-benchmark loads) and Synchformer's own `24-01-04T16-39-21.pt` (its
`model` dict) hold exactly this key set.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn

from audiox.conditioning.synchformer import Synchformer
from audiox.evaluation.avsync.ast_audio import AstAudioFeatures
from audiox.evaluation.avsync.sync_transformer import SyncTransformer


@dataclass(frozen=True, kw_only=True, slots=True)
class SyncClassifierSize:
    """Sizes of the classifier; the defaults are the published model's."""

    dim: int = 768  # width of both branches and of the sync transformer
    image_size: int = 224
    video_depth: int = 12
    video_heads: int = 12
    audio_depth: int = 12
    audio_heads: int = 12
    num_mel_bins: int = 128
    spec_frames: int = 66  # log-mel frames per 0.64 s segment, padded (official `max_spec_t`)
    sync_depth: int = 3
    sync_heads: int = 8
    num_segments: int = 14  # segments per classified window: 14 x 0.64 s with half overlap = 4.8 s
    num_classes: int = 21


PUBLISHED_SIZE = SyncClassifierSize()


class SyncClassifier(nn.Module):
    """Synchformer: visual and audio segment features, and the offset classifier over a window of them."""

    def __init__(self, size: SyncClassifierSize = PUBLISHED_SIZE) -> None:
        super().__init__()
        self.size = size
        self.vfeat_extractor = Synchformer(
            image_size=size.image_size, dim=size.dim, depth=size.video_depth, num_heads=size.video_heads
        )
        self.afeat_extractor = AstAudioFeatures(
            num_mel_bins=size.num_mel_bins,
            num_frames=size.spec_frames,
            dim=size.dim,
            depth=size.audio_depth,
            num_heads=size.audio_heads,
        )
        self.vproj = nn.Linear(size.dim, size.dim)
        self.aproj = nn.Linear(size.dim, size.dim)
        self.transformer = SyncTransformer(
            dim=size.dim,
            depth=size.sync_depth,
            num_heads=size.sync_heads,
            num_segments=size.num_segments,
            visual_tokens=self.vfeat_extractor.temporal_resolution,
            audio_tokens=self.afeat_extractor.time_patches,
            num_classes=size.num_classes,
        )

    def audio_features(self, spec: torch.Tensor) -> torch.Tensor:
        """spec: (N, M, Ts) normalised log-mel segments -> (N, 6, D)."""
        return self.afeat_extractor(spec)

    def video_features(self, segments: torch.Tensor) -> torch.Tensor:
        """segments: (N, 16, 3, H, W) frames normalised to [-1, 1] -> (N, 8, D)."""
        return self.vfeat_extractor(segments)

    def compare(self, visual: torch.Tensor, audio: torch.Tensor) -> torch.Tensor:
        """visual: (B, S, 8, D), audio: (B, S, 6, D) segment features, S = num_segments -> (B, C) logits.

        The official `compare_v_a`: project each stream, flatten the segments, classify the offset.
        """
        visual = rearrange(self.vproj(visual), "b s t d -> b (s t) d")  # (B, S * 8, D)
        audio = rearrange(self.aproj(audio), "b s t d -> b (s t) d")  # (B, S * 6, D)
        return self.transformer(visual, audio)
