"""Typed mirror of the official AudioX / AudioX-Turbo `config.json`.

One frozen dataclass per JSON object; field names are the JSON keys (one alias: `_latent_seq_len` is read
into `latent_seq_len`). Defaults are the official code's effective defaults. Polymorphic parts resolve
through one table per family at the bottom of this file; `audiox.config.parse` does the reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

FROZEN = {"frozen": True, "kw_only": True, "slots": True}

# --------------------------------------------------------------------------------------------- VAE


@dataclass(**FROZEN)
class OobleckEncoderConfig:
    in_channels: int = 2
    channels: int = 128
    c_mults: tuple[int, ...] = (1, 2, 4, 8)
    strides: tuple[int, ...] = (2, 4, 8, 8)
    latent_dim: int = 32
    use_snake: bool = False
    antialias_activation: bool = False


@dataclass(**FROZEN)
class OobleckDecoderConfig:
    out_channels: int = 2
    channels: int = 128
    c_mults: tuple[int, ...] = (1, 2, 4, 8)
    strides: tuple[int, ...] = (2, 4, 8, 8)
    latent_dim: int = 32
    use_snake: bool = False
    antialias_activation: bool = False
    use_nearest_upsample: bool = False
    final_tanh: bool = True
    noise_blocks: int = 0  # own option: the last N decoder blocks add a latent-gated noise (vae.blocks.NoiseSource)


@dataclass(**FROZEN)
class EncoderSpec:
    type: Literal["oobleck"]
    config: OobleckEncoderConfig
    requires_grad: bool = True


@dataclass(**FROZEN)
class DecoderSpec:
    type: Literal["oobleck"]
    config: OobleckDecoderConfig


@dataclass(**FROZEN)
class BottleneckSpec:
    type: Literal["vae"]


@dataclass(**FROZEN)
class AutoencoderConfig:
    encoder: EncoderSpec
    decoder: DecoderSpec
    latent_dim: int
    downsampling_ratio: int
    io_channels: int
    bottleneck: BottleneckSpec | None = None
    sample_rate: int | None = None


@dataclass(**FROZEN)
class PretransformConfig:
    """`model.pretransform` and the audio conditioner's `pretransform_config` (same schema)."""

    type: Literal["autoencoder"]
    config: AutoencoderConfig
    iterate_batch: bool = False
    scale: float = 1.0
    model_half: bool = False
    chunked: bool = False
    enable_grad: bool = False


# ------------------------------------------------------------------------------------ conditioners


@dataclass(**FROZEN)
class T5ConditionerConfig:
    t5_model_name: str = "t5-base"
    max_length: int = 128
    enable_grad: bool = False
    project_out: bool = False
    mask_ratio: float = 0.0  # accepted by Turbo, ignored
    mask_type: str = "input"  # accepted by Turbo, ignored
    # audiox's own keys (never in official configs): the caption planner's timeline in the last
    # `plan_slots` token slots, `plan_channels` values per slot (`conditioning.caption_planner`)
    plan_slots: int = 0
    plan_channels: int = 0
    # the timeline made concrete before it enters the slots (`conditioning.plan_concrete`): for a model
    # trained on true timelines (`synth.plan_truth`)
    plan_concrete: bool = False


@dataclass(**FROZEN)
class ClipConditionerConfig:
    """Original AudioX `clip`: CLIP frames + temporal transformer, learned empty feature, no sync."""

    clip_model_name: Literal["clip-vit-base-patch32"] = "clip-vit-base-patch32"
    video_fps: int = 5
    project_out: bool = False
    in_features: int | None = None  # accepted, overridden by the official code
    out_features: int | None = None  # accepted, overridden by the official code
    enable_grad: bool = False


@dataclass(**FROZEN)
class ClipSyncConditionerConfig:
    """`clip-with-sync-w-empty-feat` (Turbo / MAF models): CLIP + Synchformer sync features."""

    clip_model_name: Literal["clip-vit-base-patch32"] = "clip-vit-base-patch32"
    mask_ratio: float = 0.0
    mask_type: Literal["input", "input-pad", "input-patch"] = "input"
    sync_type: Literal["add", "cross-attention"] = "add"
    temporal_transformer: bool = True
    video_fps: int = 5


@dataclass(**FROZEN)
class AudioConditionerConfig:
    """`audio_autoencoder` / `audio_autoencoder_v2`: VAE latents of an audio prompt.

    The type string is shared by two official classes: v1 (original AudioX, 215 tokens + learned empty
    feature) and v2 (Turbo, time-projected to 128 tokens, random span masking). `variant` resolves it:
    the v2 fields below select v2, see `audio_conditioner_variant`.
    """

    sample_rate: int = 44100
    pretransform_config: PretransformConfig | None = None
    pretransform_ckpt_path: str | None = None
    latent_seq_len: int | None = None  # v2 only (official default 237; configs use 215)
    mask_ratio_start: float | None = None  # v2 only
    mask_ratio_end: float | None = None  # v2 only


ConditionerConfig = T5ConditionerConfig | ClipConditionerConfig | ClipSyncConditionerConfig | AudioConditionerConfig


@dataclass(**FROZEN)
class ConditionerSpec:
    id: str
    type: str
    config: Any  # one of ConditionerConfig, chosen by `type` through CONDITIONER_CONFIGS


@dataclass(**FROZEN)
class ConditioningConfig:
    configs: tuple[ConditionerSpec, ...]
    cond_dim: int
    default_keys: dict[str, str] = field(default_factory=dict)


# -------------------------------------------------------------------------------- fusion, backbone


@dataclass(**FROZEN)
class MafConfig:
    """`gate_type_config` of the MAF block. Defaults are the code's (the shipped config says 64/24/8)."""

    num_experts_per_modality: int = 64
    num_heads: int = 12
    num_fusion_layers: int = 4
    mlp_ratio: float = 4.0


@dataclass(**FROZEN)
class BackboneConfig:
    """`model.diffusion.config`: keyword arguments of the DiT / MMDiT backbone."""

    io_channels: int = 32
    patch_size: int = 1
    embed_dim: int = 768
    depth: int = 12
    num_heads: int = 8
    cond_token_dim: int = 0
    project_cond_tokens: bool = True
    global_cond_dim: int = 0
    project_global_cond: bool = True
    input_concat_dim: int = 0
    prepend_cond_dim: int = 0
    transformer_type: Literal["continuous_transformer"] = "continuous_transformer"
    global_cond_type: Literal["prepend"] = "prepend"
    condition_mask_type: str | None = None  # Turbo accepts and ignores it
    video_fps: int | None = None  # popped by the official factory, unused
    # MMDiT only
    fusion_depth: int = 6  # unused by the official code
    latent_seq_len: int = 237  # JSON `_latent_seq_len`: 1 time token + latent frames
    mlp_ratio: float = 4.0
    kernel_size: int = 3
    # audiox's own models only (no official config has it; False computes exactly as officially):
    # each third of the fused context (text, video, audio slots), mean-pooled, through a small MLP, added
    # to the per-position adaLN input of every block (`backbone.mmdit.PooledCondition`).
    pooled_condition: bool = False


@dataclass(**FROZEN)
class DiffusionConfig:
    type: Literal["dit", "mmdit"]
    config: BackboneConfig
    cross_attention_cond_ids: tuple[str, ...] = ()
    global_cond_ids: tuple[str, ...] = ()
    input_concat_ids: tuple[str, ...] = ()
    prepend_cond_ids: tuple[str, ...] = ()
    diffusion_objective: Literal["v", "rectified_flow"] = "v"
    gate: bool = False
    gate_type: Literal["MAF"] = "MAF"
    gate_type_config: MafConfig = field(default_factory=MafConfig)


@dataclass(**FROZEN)
class ModelConfig:
    io_channels: int
    diffusion: DiffusionConfig
    conditioning: ConditioningConfig | None = None
    pretransform: PretransformConfig | None = None


@dataclass(**FROZEN)
class AudioXConfig:
    """A whole official `config.json`."""

    model_type: Literal["diffusion_cond", "diffusion_cond_inpaint", "diffusion_prior", "diffusion_dmd"]
    sample_size: int
    sample_rate: int
    model: ModelConfig
    audio_channels: int = 2
    video_fps: int = 5
    conditioning_seconds: float | None = None  # read by nothing in the official code
    training: dict[str, Any] | None = None  # kept as read; typed by the training package

    @property
    def latent_length(self) -> int:
        """Latent frames of one generation window: `sample_size // downsampling_ratio`."""
        pre = self.model.pretransform
        ratio = pre.config.downsampling_ratio if pre is not None else 1
        return self.sample_size // ratio


# ------------------------------------------------------------------------------------ type tables

CONDITIONER_CONFIGS: dict[str, type] = {
    "t5": T5ConditionerConfig,
    "clip": ClipConditionerConfig,
    "clip-with-sync-w-empty-feat": ClipSyncConditionerConfig,
    "audio_autoencoder": AudioConditionerConfig,
    "audio_autoencoder_v2": AudioConditionerConfig,
}

JSON_ALIASES: dict[str, str] = {"_latent_seq_len": "latent_seq_len"}


def audio_conditioner_variant(spec: ConditionerSpec) -> Literal["v1", "v2"]:
    """Which official class an audio conditioner spec builds (the `audio_autoencoder` type collision).

    `audio_autoencoder_v2`, or any of the v2-only fields (`latent_seq_len`, `mask_ratio_*`), selects v2
    (Turbo / MAF); otherwise v1 (original AudioX). `checkpoints.load` cross-checks against the keys.
    """
    cfg = spec.config
    if spec.type == "audio_autoencoder_v2":
        return "v2"
    has_v2_fields = any(v is not None for v in (cfg.latent_seq_len, cfg.mask_ratio_start, cfg.mask_ratio_end))
    return "v2" if has_v2_fields else "v1"
