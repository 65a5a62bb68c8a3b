"""DiffusionModel: conditioners + MAF fusion + backbone + VAE pretransform, built from one AudioXConfig.

The official root is `ConditionedDiffusionModelWrapper`; our attribute names map to its state-dict keys
through the prefix map in `audiox.checkpoints.keys` (`backbone.*` <-> `model.model.*`, `conditioner.*`,
`pretransform.*`, `maf_block.*` identical). The condition path (conditioners, then MAF) runs once per
generation (`condition`); the sampler then calls `velocity` with the fused context every step.
Shapes: B batch, C latent channels, L latent frames, N context tokens, D cond_dim.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from torch import Tensor, nn

from audiox.backbone.dit import DiffusionTransformer
from audiox.backbone.mmdit import MMDiffusionTransformer
from audiox.backbone.stem import StepInvariantCache
from audiox.config.schema import AudioXConfig, BackboneConfig, DiffusionConfig
from audiox.diffusion.guidance import apply_cfg, guidance_context, guided_step
from audiox.errors import ConfigError
from audiox.fusion.maf import MafBlock
from audiox.fusion.sequence import Condition, assemble_condition_sequence
from audiox.vae.pretransform import AutoencoderPretransform

BACKBONES: dict[str, type[nn.Module]] = {"dit": DiffusionTransformer, "mmdit": MMDiffusionTransformer}


def context_width(cfg: AudioXConfig) -> int:
    """Width D of the conditioner tokens: `conditioning.cond_dim` (official 768, which the official code
    also hard-codes for MAF and the MMDiT token projection); without a conditioning section, the backbone's
    `cond_token_dim`."""
    conditioning = cfg.model.conditioning
    return conditioning.cond_dim if conditioning is not None else cfg.model.diffusion.config.cond_token_dim


def build_backbone(diffusion: DiffusionConfig, *, cond_dim: int) -> nn.Module:
    """The DiT or MMDiT of `model.diffusion`. The MMDiT's token projection reads `cond_dim`-wide fused
    tokens (the official code hard-codes 768 = cond_dim of every official config)."""
    cls = BACKBONES[diffusion.type]
    if cls is MMDiffusionTransformer:
        return cls(diffusion.config, mm_token_dim=cond_dim)
    return cls(diffusion.config)


def build_maf(diffusion: DiffusionConfig, *, cond_dim: int) -> MafBlock | None:
    """The MAF block when `gate` is on (official: `MAF_Block(dim=768)`, 768 = cond_dim)."""
    if not diffusion.gate:
        return None
    g = diffusion.gate_type_config
    return MafBlock(
        dim=cond_dim,
        num_experts_per_modality=g.num_experts_per_modality,
        num_heads=g.num_heads,
        num_fusion_layers=g.num_fusion_layers,
        mlp_ratio=g.mlp_ratio,
    )


def _check_model_config(cfg: AudioXConfig) -> None:
    diffusion, pre = cfg.model.diffusion, cfg.model.pretransform
    if diffusion.config.io_channels != cfg.model.io_channels:
        raise ConfigError(
            f"model.io_channels={cfg.model.io_channels} but model.diffusion.config.io_channels="
            f"{diffusion.config.io_channels}; they must match"
        )
    if pre is not None and pre.config.latent_dim != cfg.model.io_channels:
        raise ConfigError(
            f"model.pretransform.config.latent_dim={pre.config.latent_dim} must equal model.io_channels="
            f"{cfg.model.io_channels}"
        )


@dataclass(frozen=True, eq=False)
class PreparedGuidance:
    """A generation's fixed guidance inputs, built once by `DiffusionModel.prepare_guidance`: the context
    the backbone sees (B, N, D), or (2B, N, D) [cond; uncond] under CFG; its step-invariant cache (None:
    every step recomputes, the official behaviour); the CFG scale and rescale."""

    context: Tensor
    cache: StepInvariantCache | None
    cfg_scale: float
    scale_phi: float


class DiffusionModel(nn.Module):
    """The whole AudioX model. `conditioner` is None when the config has no conditioning section (then
    conditions are given as tensors); `pretransform` None when there is no VAE; `maf_block` None without
    the gate. `text_encoder` is the frozen T5 (kept outside the state dict, as officially)."""

    def __init__(
        self,
        cfg: AudioXConfig,
        *,
        text_encoder: Any | None = None,
        conditioner_options: Mapping[str, Any] | None = None,
    ) -> None:
        """`conditioner_options`: keyword arguments of `ConditionerSet` (vision_config, temporal_sizes,
        text_encoder_dtype, build_vision_tower) for non-official encoders; official sizes by default."""
        super().__init__()
        _check_model_config(cfg)
        self.config = cfg
        conditioning = cfg.model.conditioning
        cond_dim = context_width(cfg)
        self.backbone = build_backbone(cfg.model.diffusion, cond_dim=cond_dim)
        self.conditioner = None
        if conditioning is not None and conditioning.configs:
            from audiox.conditioning.conditioner_set import ConditionerSet

            self.conditioner = ConditionerSet(conditioning, text_encoder=text_encoder, **(conditioner_options or {}))
        self.pretransform = AutoencoderPretransform(cfg.model.pretransform) if cfg.model.pretransform else None
        self.maf_block = build_maf(cfg.model.diffusion, cond_dim=cond_dim)

    @property
    def objective(self) -> str:
        return self.config.model.diffusion.diffusion_objective

    @property
    def backbone_config(self) -> BackboneConfig:
        return self.config.model.diffusion.config

    def fuse(self, conditions: Mapping[str, Condition]) -> tuple[Tensor, Tensor]:
        """Conditioner outputs {id: (tokens (B, T, D), mask (B, M))} -> (context (B, N, D), mask (B, M')),
        MAF applied when configured (once per generation, on the conditional tokens only)."""
        ids = self.config.model.diffusion.cross_attention_cond_ids
        return assemble_condition_sequence(conditions, ids, self.maf_block)

    def velocity(
        self,
        x: Tensor,
        t: Tensor,
        context: Tensor,
        *,
        cfg_scale: float = 1.0,
        negative_context: Tensor | None = None,
        negative_mask: Tensor | None = None,
        scale_phi: float = 0.0,
    ) -> Tensor:
        """Guided network output (v for both objectives). x: (B, C, L), t: (B,), context: (B, N, D) ->
        (B, C, L). CFG is the official batched [cond; uncond] with uncond = zeros of the fused context."""
        return apply_cfg(
            self.backbone,
            x,
            t,
            context,
            cfg_scale,
            negative_context=negative_context,
            negative_mask=negative_mask,
            scale_phi=scale_phi,
        )

    def prepare_guidance(
        self,
        context: Tensor,
        *,
        cfg_scale: float = 1.0,
        negative_context: Tensor | None = None,
        negative_mask: Tensor | None = None,
        scale_phi: float = 0.0,
        reuse: bool = True,
    ) -> PreparedGuidance:
        """Once per generation (per window): the guidance context and, with `reuse`, the backbone's
        step-invariant cache (`backbone.prepare`). context: (B, N, D). Then `guided_velocity` every step."""
        batch_context = guidance_context(context, cfg_scale, negative_context, negative_mask)
        cache = self.backbone.prepare(batch_context) if reuse else None
        return PreparedGuidance(context=batch_context, cache=cache, cfg_scale=cfg_scale, scale_phi=scale_phi)

    def guided_velocity(self, x: Tensor, t: Tensor, guidance: PreparedGuidance) -> Tensor:
        """`velocity` for a prepared guidance: x: (B, C, L), t: (B,) -> (B, C, L); the same numbers as
        `velocity` with the same arguments, without the step-invariant work when `guidance.cache` is set."""
        forward = self.backbone if guidance.cache is None else partial(self.backbone, cache=guidance.cache)
        return guided_step(forward, x, t, guidance.context, guidance.cfg_scale, guidance.scale_phi)

    def forward(self, x: Tensor, t: Tensor, context: Tensor, **guidance: Any) -> Tensor:
        """Same as `velocity`."""
        return self.velocity(x, t, context, **guidance)

    def decode(self, latents: Tensor) -> Tensor:
        """latents: (B, C, L) -> audio (B, channels, L * ratio) through the VAE decoder (float32)."""
        if self.pretransform is None:
            raise ConfigError("this model config has no model.pretransform (VAE); cannot decode latents")
        return self.pretransform.decode(latents)


def num_parameters(module: nn.Module | None) -> int:
    """Parameter count of a module (0 for None); works on the meta device."""
    return 0 if module is None else sum(p.numel() for p in module.parameters())


def parameter_counts(model: DiffusionModel) -> dict[str, int]:
    """Per-component parameter counts (backbone, MAF, each conditioner, VAE)."""
    counts = {"backbone": num_parameters(model.backbone), "maf_block": num_parameters(model.maf_block)}
    if model.conditioner is not None:
        for cond_id, module in model.conditioner.conditioners.items():
            counts[f"conditioner.{cond_id}"] = num_parameters(module)
    counts["pretransform"] = num_parameters(model.pretransform)
    counts["total"] = num_parameters(model)
    return counts
