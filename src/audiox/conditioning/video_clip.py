"""CLIP video conditioners: original AudioX `clip` and Turbo / MAF `clip-with-sync-w-empty-feat`.

Frames (10 s at `video_fps`) go through the CLIP ViT-B/32 vision tower (`last_hidden_state`, 50 tokens
per frame), a temporal transformer across frames per token position, and a "scrambled" projection to
128 tokens. All-zero videos get the learned `empty_visual_feat`. The sync variant adds projected
Synchformer features. The CLIP tower is a registered submodule (`visual_encoder_model`): its weights
are in the official checkpoints. Attribute names = official keys after `conditioner.conditioners.<id>.`.
"""

from __future__ import annotations

import torch
from einops import rearrange
from torch import Tensor, nn
from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

from audiox.conditioning.temporal import TemporalTransformer
from audiox.config.schema import ClipConditionerConfig, ClipSyncConditionerConfig
from audiox.errors import ConfigError, InputError

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
CLIP_WIDTH = 768  # ViT-B/32 hidden size (official TEMPORAL_DIM)
CLIP_TOKENS_PER_FRAME = 50  # CLS + 7x7 patches at 224 px
NUM_VIDEO_TOKENS = 128  # official out_features
SYNC_TOKENS = 240  # Synchformer tokens per 10 s clip
DURATION_S = 10  # official: hard-coded window length


def clip_vit_b32_vision_config() -> CLIPVisionConfig:
    """The openai/clip-vit-base-patch32 vision tower configuration (no download)."""
    return CLIPVisionConfig(
        hidden_size=768,
        intermediate_size=3072,
        num_hidden_layers=12,
        num_attention_heads=12,
        patch_size=32,
        image_size=224,
        projection_dim=512,
        hidden_act="quick_gelu",
        layer_norm_eps=1e-5,
    )


def clip_token_geometry(vision_config: CLIPVisionConfig | None) -> tuple[int, int]:
    """(width, tokens per frame) of a CLIP vision tower: (hidden_size, (image/patch)^2 + 1); official
    ViT-B/32 sizes when no tower is built."""
    if vision_config is None:
        return CLIP_WIDTH, CLIP_TOKENS_PER_FRAME
    patches = (vision_config.image_size // vision_config.patch_size) ** 2
    return vision_config.hidden_size, patches + 1


def normalize_clip_pixels(frames: Tensor) -> Tensor:
    """frames: (N, 3, H, W) pixel values in 0..255 -> x / 255 then CLIP mean/std, float32."""
    mean = torch.tensor(CLIP_MEAN, device=frames.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=frames.device).view(1, 3, 1, 1)
    return (frames.float() / 255.0 - mean) / std


def scrambled_projection(tokens: Tensor, proj: nn.Linear) -> Tensor:
    """tokens: (B, N, D) contiguous -> (B, proj.out_features, D).

    official quirk: the (N, D) block of each item is reinterpreted in memory as (D, N) rows of N
    consecutive floats (a view, not a transpose), projected N -> out, and the (D, out) result is
    reinterpreted as (out, D).
    """
    batch = tokens.shape[0]
    rows = tokens.contiguous().view(-1, proj.in_features)  # (B*D, N) raw memory
    return proj(rows).view(batch, proj.out_features, -1)  # (B, out, D) raw memory


def all_zero_items(video: Tensor) -> Tensor:
    """video: (B, ...) raw input -> (B,) bool, True where every element is exactly 0."""
    return (video == 0).flatten(1).all(dim=1)


class ClipVideoBase(nn.Module):
    """Shared CLIP + temporal transformer + projection path."""

    def __init__(
        self,
        *,
        output_dim: int,
        video_fps: int,
        project_out: bool,
        use_temporal_transformer: bool,
        vision_config: CLIPVisionConfig | None,
        temporal_depth: int,
        temporal_heads: int,
        temporal_dim_head: int,
        temporal_mlp_dim: int,
    ) -> None:
        super().__init__()
        self.num_frames = DURATION_S * video_fps
        self.use_temporal_transformer = use_temporal_transformer
        # CLIP width / tokens per frame follow the tower (official ViT-B/32: 768 / 50, hard-coded there)
        self.clip_width, self.tokens_per_frame = clip_token_geometry(vision_config)
        width = self.clip_width
        # official quirk: proj_out is built (a Linear when cond_dim != 768) but never applied
        self.proj_out = (
            nn.Linear(width, output_dim) if (output_dim != width or project_out) else nn.Identity()
        )
        self.empty_visual_feat = nn.Parameter(torch.zeros(1, NUM_VIDEO_TOKENS, width))
        self.visual_encoder_model = (
            CLIPVisionModelWithProjection(vision_config) if vision_config is not None else None
        )
        self.proj = nn.Linear(self.tokens_per_frame * self.num_frames, NUM_VIDEO_TOKENS)
        self._temporal_sizes = {
            "dim": width,
            "depth": temporal_depth,
            "heads": temporal_heads,
            "dim_head": temporal_dim_head,
            "mlp_dim": temporal_mlp_dim,
        }

    def _build_temporal(self) -> None:
        """Registered after the subclass's own parameters, to keep the official state-dict order."""
        if self.use_temporal_transformer:
            self.Temp_transformer = TemporalTransformer(**self._temporal_sizes)
            self.Temp_pos_embedding = nn.Parameter(torch.randn(1, self.num_frames, self.clip_width) * 0.02)

    def clip_hidden_states(self, video: Tensor) -> Tensor:
        """video: (B, F, 3, 224, 224) pixels 0..255 -> CLIP last_hidden_state ((B F), 50, 768) (no post-LN).

        official quirk: `last_hidden_state` is the encoder output BEFORE `post_layernorm`."""
        if self.visual_encoder_model is None:
            raise InputError(
                "this video conditioner was built without its CLIP tower; pass CLIP features instead"
            )
        if video.dim() != 5 or video.shape[2] != 3:
            raise InputError(f"{video.shape=}, expected (B, F, 3, 224, 224)")
        pixels = normalize_clip_pixels(rearrange(video, "b f c h w -> (b f) c h w"))
        with torch.no_grad():
            return self.visual_encoder_model(pixel_values=pixels).last_hidden_state

    def clip_tokens(self, clip_hidden: Tensor, batch: int) -> Tensor:
        """clip_hidden: ((B F), Q, 768), rows sample-major -> (B, 128, 768) after the temporal transformer
        and the scrambled projection."""
        frames = clip_hidden.shape[0] // batch
        if frames * batch != clip_hidden.shape[0] or frames * clip_hidden.shape[1] != self.proj.in_features:
            raise InputError(
                f"{clip_hidden.shape=} for batch {batch}: expected ({batch}*{self.num_frames}, "
                f"{self.tokens_per_frame}, {self.clip_width})"
            )
        if self.use_temporal_transformer:
            h = rearrange(clip_hidden, "(b t) q d -> (b q) t d", b=batch)  # (B*Q, F, D)
            h = self.Temp_transformer(h + self.Temp_pos_embedding)
            h = rearrange(h, "(b q) t d -> b (t q) d", b=batch)  # (B, F*Q, D)
        else:
            h = rearrange(clip_hidden, "(b t) q d -> b (t q) d", b=batch)  # (B, F*Q, D)
        return scrambled_projection(h, self.proj)  # (B, 128, D)

    def is_empty_batch(self, video: Tensor) -> bool:
        """True when every item of video (B, F, 3, H, W) is all zeros (no video) and autograd is off: the
        result is then `empty_condition`; such a batch must have the shape the CLIP path would have
        accepted. (Under autograd the full path runs: its parameters get their zero gradients, as officially.)"""
        if torch.is_grad_enabled() or not bool(all_zero_items(video).all()):
            return False
        tower = self.visual_encoder_model
        size = tower.config.image_size if tower is not None else video.shape[-1]
        if video.dim() != 5 or video.shape[1:] != (self.num_frames, 3, size, size):
            raise InputError(f"{video.shape=}, expected (B, {self.num_frames}, 3, {size}, {size})")
        return True

    def empty_condition(self, batch: int) -> tuple[Tensor, Tensor]:
        """What an all-zero video of `batch` items gives, without running CLIP: every item's tokens are
        replaced by `empty_visual_feat` anyway -> ((B, 128, 768), mask ones (B, 1))."""
        tokens = self.empty_visual_feat.repeat(batch, 1, 1)  # (B, 128, 768)
        return tokens, torch.ones(batch, 1, device=tokens.device)

    def replace_empty(self, tokens: Tensor, is_zero: Tensor) -> tuple[Tensor, Tensor]:
        """tokens: (B, 128, 768), is_zero: (B,) -> (tokens with empty items replaced, mask ones (B, 1))."""
        empty = self.empty_visual_feat.expand(tokens.shape[0], -1, -1)
        tokens = torch.where(is_zero.view(-1, 1, 1), empty, tokens)
        return tokens, torch.ones(tokens.shape[0], 1, device=tokens.device)


class ClipVideoConditioner(ClipVideoBase):
    """Original AudioX `clip`: CLIP + temporal transformer + empty feature, no sync."""

    def __init__(
        self,
        cfg: ClipConditionerConfig,
        *,
        output_dim: int,
        vision_config: CLIPVisionConfig | None,
        temporal_depth: int = 4,
        temporal_heads: int = 16,
        temporal_dim_head: int = 64,
        temporal_mlp_dim: int = 3072,
    ) -> None:
        super().__init__(
            output_dim=output_dim,
            video_fps=cfg.video_fps,
            project_out=cfg.project_out,
            use_temporal_transformer=True,
            vision_config=vision_config,
            temporal_depth=temporal_depth,
            temporal_heads=temporal_heads,
            temporal_dim_head=temporal_dim_head,
            temporal_mlp_dim=temporal_mlp_dim,
        )
        self._build_temporal()

    def condition_from_clip(self, clip_hidden: Tensor, video: Tensor) -> tuple[Tensor, Tensor]:
        """The part after CLIP. clip_hidden: ((B F), 50, 768); video: (B, ...) raw (only for the all-zero
        test) -> (tokens (B, 128, 768), mask ones (B, 1))."""
        is_zero = all_zero_items(video)
        return self.replace_empty(self.clip_tokens(clip_hidden, video.shape[0]), is_zero)

    def forward(self, video: Tensor, *, reuse: bool = False) -> tuple[Tensor, Tensor]:
        """video: (B, F, 3, 224, 224) pixels 0..255 (all zeros = no video) -> ((B, 128, 768), (B, 1)).
        `reuse` (the pipeline's, off by default): an all-zero batch takes `empty_condition` (same output,
        CLIP not run)."""
        if reuse and self.is_empty_batch(video):
            return self.empty_condition(video.shape[0])
        return self.condition_from_clip(self.clip_hidden_states(video), video)


class ClipSyncVideoConditioner(ClipVideoBase):
    """`clip-with-sync-w-empty-feat`: CLIP path plus Synchformer sync features added with `sync_weight`."""

    def __init__(
        self,
        cfg: ClipSyncConditionerConfig,
        *,
        output_dim: int,
        vision_config: CLIPVisionConfig | None,
        temporal_depth: int = 4,
        temporal_heads: int = 16,
        temporal_dim_head: int = 64,
        temporal_mlp_dim: int = 3072,
    ) -> None:
        if cfg.mask_ratio != 0:
            raise ConfigError(
                "clip-with-sync-w-empty-feat: mask_ratio > 0 (training-time CLIP masking) is not supported"
            )
        if cfg.sync_type != "add":
            raise ConfigError(
                f"clip-with-sync-w-empty-feat: sync_type {cfg.sync_type!r} is not supported; use 'add'"
            )
        super().__init__(
            output_dim=output_dim,
            video_fps=cfg.video_fps,
            project_out=False,
            use_temporal_transformer=cfg.temporal_transformer,
            vision_config=vision_config,
            temporal_depth=temporal_depth,
            temporal_heads=temporal_heads,
            temporal_dim_head=temporal_dim_head,
            temporal_mlp_dim=temporal_mlp_dim,
        )
        self.proj_sync = nn.Linear(SYNC_TOKENS, NUM_VIDEO_TOKENS)
        self.sync_weight = nn.Parameter(torch.tensor(0.0))
        self._build_temporal()

    def condition_from_clip(
        self, clip_hidden: Tensor, video: Tensor, sync_features: Tensor
    ) -> tuple[Tensor, Tensor]:
        """The part after CLIP. clip_hidden: ((B F), 50, 768); video: (B, ...) raw (all-zero test only);
        sync_features: (B, 240, 768) -> (tokens (B, 128, 768), mask ones (B, 1))."""
        batch = video.shape[0]
        if sync_features.shape[0] != batch or sync_features.shape[1] != SYNC_TOKENS:
            raise InputError(f"{sync_features.shape=}, expected ({batch}, {SYNC_TOKENS}, {self.clip_width})")
        is_zero = all_zero_items(video)
        tokens = self.clip_tokens(clip_hidden, batch)
        sync = scrambled_projection(sync_features, self.proj_sync)  # (B, 128, 768)
        tokens = tokens + self.sync_weight * sync
        # official quirk: an all-zero video replaces the whole result, sync contribution included
        return self.replace_empty(tokens, is_zero)

    def forward(self, video: Tensor, sync_features: Tensor, *, reuse: bool = False) -> tuple[Tensor, Tensor]:
        """video: (B, F, 3, 224, 224) pixels 0..255; sync_features: (B, 240, 768) Synchformer features
        (zeros for no video) -> ((B, 128, 768), (B, 1)). `reuse` (off by default): an all-zero video batch takes
        `empty_condition` (same output: the empty feature replaces the sync part too; CLIP not run)."""
        batch = video.shape[0]
        if sync_features.shape[0] != batch or sync_features.shape[1] != SYNC_TOKENS:
            raise InputError(f"{sync_features.shape=}, expected ({batch}, {SYNC_TOKENS}, {self.clip_width})")
        if reuse and self.is_empty_batch(video):
            return self.empty_condition(batch)
        return self.condition_from_clip(self.clip_hidden_states(video), video, sync_features)
