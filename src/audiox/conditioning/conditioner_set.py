"""All configured conditioners of a model (official `MultiConditioner`).

Built from `model.conditioning` into the ModuleDict `conditioners` in config order (state-dict keys
`conditioners.<id>.*` = the official keys after `conditioner.`), and run in that order, which fixes the
order in which they consume randomness.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from transformers import CLIPVisionConfig

from audiox.conditioning.audio_latent import AudioLatentConditionerV1, AudioLatentConditionerV2
from audiox.conditioning.text_t5 import T5TextConditioner, T5TextEncoder
from audiox.conditioning.video_clip import (
    ClipSyncVideoConditioner,
    ClipVideoConditioner,
    clip_vit_b32_vision_config,
)
from audiox.config.schema import (
    AudioConditionerConfig,
    ClipConditionerConfig,
    ClipSyncConditionerConfig,
    ConditionerSpec,
    ConditioningConfig,
    T5ConditionerConfig,
    audio_conditioner_variant,
)
from audiox.errors import ConfigError, InputError

Condition = tuple[Tensor, Tensor]  # (tokens (B, T, D), mask (B, M))


class VideoWithSync(NamedTuple):
    """Input of `clip-with-sync-w-empty-feat`: video (B, F, 3, 224, 224) in 0..255, sync (B, 240, 768)."""

    video: Tensor
    sync_features: Tensor


class ConditionerSet(nn.Module):
    """Runs every configured conditioner: `forward(inputs) -> {id: (tokens, mask)}`.

    `inputs[id]`: t5 -> list of B strings; clip -> video tensor; clip-with-sync -> `VideoWithSync`;
    audio_autoencoder -> (B, C, S) tensor or B items (1, C, S_b).
    """

    def __init__(
        self,
        cfg: ConditioningConfig,
        *,
        text_encoder: T5TextEncoder | None = None,
        text_encoder_dtype: torch.dtype = torch.float16,
        vision_config: CLIPVisionConfig | None = None,
        build_vision_tower: bool = True,
        temporal_sizes: Mapping[str, int] | None = None,
    ) -> None:
        """`vision_config`: the CLIP tower of the video conditioner (default ViT-B/32; `build_vision_tower
        =False` builds none, for CLIP features computed elsewhere). `temporal_sizes`: keyword overrides of
        the temporal transformer (`temporal_depth`, `temporal_heads`, `temporal_dim_head`, `temporal_mlp_dim`)."""
        super().__init__()
        if build_vision_tower and vision_config is None:
            vision_config = clip_vit_b32_vision_config()
        options = {
            "text_encoder": text_encoder,
            "text_encoder_dtype": text_encoder_dtype,
            "vision_config": vision_config if build_vision_tower else None,
            "temporal_sizes": dict(temporal_sizes or {}),
        }
        self.conditioners = nn.ModuleDict(
            {spec.id: build_conditioner(spec, output_dim=cfg.cond_dim, **options) for spec in cfg.configs}
        )

    def forward(
        self,
        inputs: Mapping[str, Any],
        *,
        generator: torch.Generator | None = None,
        noise: Mapping[str, Tensor] | None = None,
        reuse: bool = False,
        stitch_silence: bool = False,
    ) -> dict[str, Condition]:
        """inputs: {id: conditioner input} -> {id: (tokens (B, T, D), mask (B, M))}.

        Random draws (audio span masking, VAE sampling) come from `noise[id]` (VAE noise) or `generator`.
        `reuse`: the video / audio conditioners' exact shortcuts for fixed inputs (no video, silence; off by
        default, the pipeline turns them on; they apply only with autograd off);
        `stitch_silence`: the silence encoding from a short silence (~1e-7 off; the fast precision).
        """
        missing = [key for key in self.conditioners if key not in inputs]
        if missing:
            raise InputError(f"no input for conditioners {missing}; pass one per configured id")
        noise = noise or {}
        out: dict[str, Condition] = {}
        for key, conditioner in self.conditioners.items():
            out[key] = _run_one(
                conditioner, inputs[key], generator=generator, noise=noise.get(key), reuse=reuse,
                stitch_silence=stitch_silence,
            )
        return out


def _run_one(
    conditioner: nn.Module,
    value: Any,
    *,
    generator: torch.Generator | None,
    noise: Tensor | None,
    reuse: bool,
    stitch_silence: bool,
) -> Condition:
    if isinstance(conditioner, ClipSyncVideoConditioner):
        video, sync = value
        return conditioner(video, sync, reuse=reuse)
    if isinstance(conditioner, ClipVideoConditioner):
        return conditioner(value, reuse=reuse)
    if isinstance(conditioner, (AudioLatentConditionerV1, AudioLatentConditionerV2)):
        return conditioner(value, noise=noise, generator=generator, reuse=reuse, stitch_silence=stitch_silence)
    return conditioner(value)


def build_conditioner(
    spec: ConditionerSpec,
    *,
    output_dim: int,
    text_encoder: T5TextEncoder | None,
    text_encoder_dtype: torch.dtype,
    vision_config: CLIPVisionConfig | None,
    temporal_sizes: dict[str, int],
) -> nn.Module:
    """One conditioner from its spec (dispatch on the type string; `audio_autoencoder` on its fields too)."""
    cfg = spec.config
    if spec.type == "t5" and isinstance(cfg, T5ConditionerConfig):
        return T5TextConditioner(
            cfg, output_dim=output_dim, text_encoder=text_encoder, text_encoder_dtype=text_encoder_dtype
        )
    if spec.type == "clip" and isinstance(cfg, ClipConditionerConfig):
        return ClipVideoConditioner(cfg, output_dim=output_dim, vision_config=vision_config, **temporal_sizes)
    if spec.type == "clip-with-sync-w-empty-feat" and isinstance(cfg, ClipSyncConditionerConfig):
        return ClipSyncVideoConditioner(
            cfg, output_dim=output_dim, vision_config=vision_config, **temporal_sizes
        )
    if spec.type in ("audio_autoencoder", "audio_autoencoder_v2") and isinstance(cfg, AudioConditionerConfig):
        # official quirk: one type string, two classes (original AudioX v1 vs Turbo v2)
        if audio_conditioner_variant(spec) == "v1":
            return AudioLatentConditionerV1(cfg, output_dim=output_dim)
        return AudioLatentConditionerV2(cfg, output_dim=output_dim)
    raise ConfigError(
        f"conditioner {spec.id!r}: type {spec.type!r} is not supported by audiox (config {type(cfg).__name__})"
    )
