"""Diffusion backbones: the original AudioX DiT and the AudioX-Turbo MMDiT (raw forwards, no CFG)."""

from audiox.backbone.dit import DiffusionTransformer
from audiox.backbone.mmdit import MMDiffusionTransformer

__all__ = ["DiffusionTransformer", "MMDiffusionTransformer"]
