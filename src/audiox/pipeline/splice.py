"""Inpainting keeps what the user did not ask to change: the generated audio is spliced into the user's.

Outside the inpainted range (and wherever the user's audio exists) the output IS the user's audio at the
model's rate and channel count, sample for sample. Inside the range the generated audio takes over with a
raised-cosine crossfade of INPAINT_CROSSFADE_S at each border that touches kept audio; the fades lie inside
the range, so nothing outside it changes. Past the end of the user's audio the generated audio stays.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

INPAINT_CROSSFADE_S = 0.05  # 50 ms: about one latent frame of the official VAE (2048 samples at 44.1 kHz)


def generated_weight(num_samples: int, gap: tuple[int, int], kept_samples: int, fade: int) -> Tensor:
    """(num_samples,) float32 weight of the generated audio: 0 on kept samples (outside `gap` = [start, end)
    and before `kept_samples`), 1 inside the gap and past `kept_samples`, raised-cosine ramps of `fade`
    samples (at most half the gap) just inside each border of the gap that touches kept audio."""
    start, end = max(gap[0], 0), min(gap[1], num_samples)
    weight = torch.zeros(num_samples)
    weight[start:end] = 1.0
    weight[kept_samples:] = 1.0
    fade = min(fade, (end - start) // 2)
    if fade > 0:
        ramp = 0.5 - 0.5 * torch.cos(math.pi * (torch.arange(fade) + 0.5) / fade)  # rises in (0, 1)
        if 0 < start < kept_samples:
            weight[start : start + fade] = ramp
        if end < kept_samples:
            weight[end - fade : end] = ramp.flip(0)
    return weight


def splice_inpainted(generated: Tensor, original: Tensor, gap: tuple[int, int], fade: int) -> Tensor:
    """generated: (B, C, S) the model's output for the span; original: (C, N) the user's audio over the same
    span (N may be shorter or longer than S); gap: [start, end) samples to regenerate. Returns (B, C, S):
    `original` exactly where it is kept, `generated` in the gap, crossfaded at the gap's borders."""
    num = generated.shape[-1]
    kept = min(original.shape[-1], num)
    weight = generated_weight(num, gap, kept, fade).to(generated.device)  # (S,)
    user = torch.zeros_like(generated[:1])  # (1, C, S)
    user[..., :kept] = original[None, :, :kept].to(generated)
    mixed = generated * weight + user * (1 - weight)
    return torch.where(weight == 0, user, mixed)  # kept samples bit-for-bit the user's
