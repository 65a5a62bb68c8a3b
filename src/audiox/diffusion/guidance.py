"""Classifier-free guidance as the official backbones do it: one batched forward of [cond; uncond].

The unconditional context is zeros of the (post-fusion) context, or a negative context whose masked-out
positions are zeros; `scale_phi` rescales towards the conditional output's per-position channel std.
Shapes: B batch, C latent channels, L latent frames, N context tokens, D context width.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from audiox.errors import InputError

Forward = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def null_context(
    context: torch.Tensor,
    negative_context: torch.Tensor | None = None,
    negative_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The unconditional context: zeros_like(context), or `negative_context` with positions where
    `negative_mask` is false replaced by zeros. context/negative_context: (B, N, D), negative_mask: (B, N)."""
    zeros = torch.zeros_like(context)
    if negative_context is None:
        return zeros
    if negative_context.shape != context.shape:
        raise InputError(f"{tuple(negative_context.shape)=} must equal {tuple(context.shape)=}")
    if negative_mask is None:
        return negative_context
    if negative_mask.shape != context.shape[:2]:
        raise InputError(f"{tuple(negative_mask.shape)=}, expected {tuple(context.shape[:2])} (B, N)")
    return torch.where(negative_mask.bool()[:, :, None], negative_context, zeros)


def combine_cfg(
    cond: torch.Tensor, uncond: torch.Tensor, cfg_scale: float, scale_phi: float = 0.0
) -> torch.Tensor:
    """uncond + (cond - uncond) * cfg_scale, then, if scale_phi != 0, the CFG rescale
    phi * out * std(cond) / std(out) + (1 - phi) * out with the unbiased std over dim 1 (channels).
    cond/uncond: (B, C, L) -> (B, C, L)."""
    out = uncond + (cond - uncond) * cfg_scale
    if scale_phi == 0.0:
        return out
    ratio = cond.std(dim=1, keepdim=True) / out.std(dim=1, keepdim=True)
    return scale_phi * (out * ratio) + (1 - scale_phi) * out


def guidance_context(
    context: torch.Tensor,
    cfg_scale: float,
    negative_context: torch.Tensor | None = None,
    negative_mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """The context the backbone sees: (B, N, D) itself for cfg_scale == 1, else the batched
    [context; uncond] (2B, N, D). Fixed for a whole generation."""
    if cfg_scale == 1.0:
        return context
    return torch.cat([context, null_context(context, negative_context, negative_mask)])


def guided_step(
    forward: Forward,
    x: torch.Tensor,
    t: torch.Tensor,
    batch_context: torch.Tensor,
    cfg_scale: float,
    scale_phi: float = 0.0,
) -> torch.Tensor:
    """One guided backbone output for a context from `guidance_context`. x: (B, C, L), t: (B,),
    batch_context: (B or 2B, N, D) -> (B, C, L)."""
    if cfg_scale == 1.0:
        return forward(x, t, batch_context)
    batch_out = forward(torch.cat([x, x]), torch.cat([t, t]), batch_context)  # (2B, C, L)
    cond, uncond = batch_out.chunk(2, dim=0)
    return combine_cfg(cond, uncond, cfg_scale, scale_phi)


def apply_cfg(
    forward: Forward,
    x: torch.Tensor,
    t: torch.Tensor,
    context: torch.Tensor,
    cfg_scale: float,
    negative_context: torch.Tensor | None = None,
    negative_mask: torch.Tensor | None = None,
    scale_phi: float = 0.0,
) -> torch.Tensor:
    """Guided backbone output. `forward(x, t, context)` is the raw backbone; x: (B, C, L), t: (B,),
    context: (B, N, D) -> (B, C, L). cfg_scale == 1 is a single conditional pass (no rescale)."""
    batch_context = guidance_context(context, cfg_scale, negative_context, negative_mask)
    return guided_step(forward, x, t, batch_context, cfg_scale, scale_phi)
