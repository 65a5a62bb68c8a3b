"""Tiny backbone configs shared by the backbone and guidance tests."""

from __future__ import annotations

from dataclasses import replace

import torch

from audiox.config.schema import BackboneConfig


def tiny_dit_config(**overrides) -> BackboneConfig:
    base = BackboneConfig(
        io_channels=4, embed_dim=64, depth=2, num_heads=2, cond_token_dim=32, project_cond_tokens=False
    )
    return replace(base, **overrides)


def tiny_mmdit_config(**overrides) -> BackboneConfig:
    base = BackboneConfig(
        io_channels=4, embed_dim=24, depth=2, num_heads=4, cond_token_dim=16, latent_seq_len=9
    )
    return replace(base, **overrides)


def randomize_(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every parameter non-trivial values (nothing zero-initialised), deterministically."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in module.parameters():
            fan_in = p[0].numel() if p.ndim >= 2 else 1
            p.copy_(torch.randn(p.shape, generator=gen) / fan_in**0.5)
    return module.eval()


def randn(*shape: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))
