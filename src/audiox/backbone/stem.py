"""What the DiT and the MMDiT share around their transformer: timestep embedding, context / global MLPs,
the residual 1x1 pre/post convolutions, and the config checks.

Attribute names are the official state-dict names (`timestep_features`, `to_timestep_embed`,
`to_cond_embed`, `to_global_embed`, `preprocess_conv`, `postprocess_conv`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from audiox.backbone.timestep import FourierFeatures, bias_free_mlp, timestep_embed_mlp
from audiox.config.schema import BackboneConfig
from audiox.errors import ConfigError, InputError

TIMESTEP_FEATURES_DIM = 256


def check_backbone_config(cfg: BackboneConfig) -> None:
    """Reject backbone options AudioX checkpoints never use and this package does not implement."""
    unsupported = {
        "patch_size": (cfg.patch_size, 1),
        "input_concat_dim": (cfg.input_concat_dim, 0),
        "prepend_cond_dim": (cfg.prepend_cond_dim, 0),
    }
    for name, (value, wanted) in unsupported.items():
        if value != wanted:
            raise ConfigError(f"model.diffusion.config.{name}={value} is not supported; use {wanted}")
    if cfg.cond_token_dim <= 0:
        raise ConfigError(
            "model.diffusion.config.cond_token_dim must be > 0 (AudioX is cross-attention conditioned)"
        )
    if cfg.embed_dim % cfg.num_heads:
        raise ConfigError(
            f"model.diffusion.config: embed_dim {cfg.embed_dim} is not divisible by num_heads {cfg.num_heads}"
        )


@dataclass(frozen=True, eq=False)
class StepInvariantCache:
    """What a backbone computes from the context alone, once per generation (per window and CFG batch):
    built by the backbone's `prepare(context)`, then passed to every sampler step's forward, which skips
    that work. Exact: a step with the cache computes the same numbers as one without.

    `context` is the (B, N, D) tensor it was built from; a forward given another tensor is refused, so a
    cache can never be applied to the wrong conditions. `per_layer` holds one entry per transformer block
    (MMDiT: the six adaLN modulations; DiT: the cross-attention keys and values)."""

    context: torch.Tensor
    per_layer: tuple[Any, ...]

    def check(self, context: torch.Tensor) -> None:
        """Raise `InputError` unless `context` is the very tensor this cache was prepared from."""
        if context is not self.context:
            raise InputError(
                "the backbone got a StepInvariantCache prepared for another context; call prepare(context) "
                "with the context passed to this forward"
            )


class BackboneStem(nn.Module):
    """Base of both backbones: builds the shared modules from the config."""

    def __init__(self, cfg: BackboneConfig) -> None:
        super().__init__()
        check_backbone_config(cfg)
        self.io_channels = cfg.io_channels
        self.timestep_features = FourierFeatures(1, TIMESTEP_FEATURES_DIM)
        self.to_timestep_embed = timestep_embed_mlp(TIMESTEP_FEATURES_DIM, cfg.embed_dim)
        cond_embed_dim = cfg.embed_dim if cfg.project_cond_tokens else cfg.cond_token_dim
        self.cond_embed_dim = cond_embed_dim
        self.to_cond_embed = bias_free_mlp(cfg.cond_token_dim, cond_embed_dim)
        if cfg.global_cond_dim > 0:
            # official quirk: built (and in every checkpoint) but never used by AudioX; its input width is
            # `global_cond_dim`, which differs between configs (768 Turbo, 1536 AudioX).
            global_embed_dim = cfg.embed_dim if cfg.project_global_cond else cfg.global_cond_dim
            self.to_global_embed = bias_free_mlp(cfg.global_cond_dim, global_embed_dim)
        self.preprocess_conv = nn.Conv1d(cfg.io_channels, cfg.io_channels, 1, bias=False)
        self.postprocess_conv = nn.Conv1d(cfg.io_channels, cfg.io_channels, 1, bias=False)

    def embed_timestep(self, t: torch.Tensor) -> torch.Tensor:
        """t: (B,) -> (B, D)."""
        return self.to_timestep_embed(self.timestep_features(t[:, None]))

    def check_inputs(self, x: torch.Tensor, t: torch.Tensor, context: torch.Tensor, context_dim: int) -> None:
        """Raise `InputError` unless x: (B, io, L), t: (B,), context: (B, N, context_dim)."""
        if x.ndim != 3 or x.shape[1] != self.io_channels:
            raise InputError(f"{tuple(x.shape)=}, expected (B, {self.io_channels}, L)")
        if t.shape != (x.shape[0],):
            raise InputError(f"{tuple(t.shape)=}, expected ({x.shape[0]},) for x of shape {tuple(x.shape)}")
        if context.ndim != 3 or context.shape[0] != x.shape[0] or context.shape[2] != context_dim:
            raise InputError(f"{tuple(context.shape)=}, expected ({x.shape[0]}, N, {context_dim})")

    def forward(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        cross_attn_cond: torch.Tensor,
        *,
        cache: StepInvariantCache | None = None,
    ) -> torch.Tensor:
        """x: (B, C, L) latents, t: (B,) time, cross_attn_cond: (B, N, context width) -> (B, C, L): the
        subclass's `block_outputs` at full depth (its docstring gives the exact shapes it accepts).
        `cache`: `self.prepare(cross_attn_cond)` (same output, less work)."""
        return self.block_outputs(x, t, cross_attn_cond, (len(self.transformer.layers),), cache=cache)[0]

    def pre(self, x: torch.Tensor) -> torch.Tensor:
        """Residual 1x1 conv, then channel-last: x: (B, C, L) -> (B, L, C)."""
        return (self.preprocess_conv(x) + x).transpose(1, 2)

    def post(self, out: torch.Tensor) -> torch.Tensor:
        """Drop the time token, channel-first, residual 1x1 conv: out: (B, 1+L, C) -> (B, C, L)."""
        out = out.transpose(1, 2)[:, :, 1:]
        return self.postprocess_conv(out) + out
