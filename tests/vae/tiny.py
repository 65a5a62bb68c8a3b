"""Tiny Oobleck VAE configs for the vae tests (built from the schema dataclasses, no JSON)."""

from __future__ import annotations

import torch

from audiox.config.schema import (
    AutoencoderConfig,
    BottleneckSpec,
    DecoderSpec,
    EncoderSpec,
    OobleckDecoderConfig,
    OobleckEncoderConfig,
    PretransformConfig,
)
from audiox.vae.pretransform import AutoencoderPretransform


def tiny_config(
    *,
    strides: tuple[int, ...] = (2, 2),
    c_mults: tuple[int, ...] = (1, 2),
    channels: int = 4,
    latent_dim: int = 3,
    io_channels: int = 2,
    use_snake: bool = True,
    use_nearest_upsample: bool = False,
    final_tanh: bool = False,
    bottleneck: bool = True,
    **pretransform: object,
) -> PretransformConfig:
    """A PretransformConfig with the official structure at toy sizes; extra kwargs go to PretransformConfig."""
    ratio = 1
    for s in strides:
        ratio *= s
    enc = OobleckEncoderConfig(
        in_channels=io_channels,
        channels=channels,
        c_mults=c_mults,
        strides=strides,
        latent_dim=latent_dim * (2 if bottleneck else 1),
        use_snake=use_snake,
    )
    dec = OobleckDecoderConfig(
        out_channels=io_channels,
        channels=channels,
        c_mults=c_mults,
        strides=strides,
        latent_dim=latent_dim,
        use_snake=use_snake,
        use_nearest_upsample=use_nearest_upsample,
        final_tanh=final_tanh,
    )
    auto = AutoencoderConfig(
        encoder=EncoderSpec(type="oobleck", config=enc),
        decoder=DecoderSpec(type="oobleck", config=dec),
        bottleneck=BottleneckSpec(type="vae") if bottleneck else None,
        latent_dim=latent_dim,
        downsampling_ratio=ratio,
        io_channels=io_channels,
    )
    return PretransformConfig(type="autoencoder", config=auto, **pretransform)


def randomize_(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Overwrite every parameter with seeded non-degenerate values (snake params ~ 0.1 N, others as init)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.endswith(("alpha", "beta", "bias")):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("weight_g"):
                p.copy_(0.5 + torch.rand(p.shape, generator=g))
            else:
                p.copy_(torch.randn(p.shape, generator=g) / (p[0].numel() ** 0.5))
    return module


def tiny_pretransform(seed: int = 0, **kwargs: object) -> AutoencoderPretransform:
    return randomize_(AutoencoderPretransform(tiny_config(**kwargs)), seed).eval()
