"""What a generation returns, keeping what the user did not ask to change.

Inpainting: the generated audio is spliced into the user's.

Outside the inpainted range (and wherever the user's audio exists) the output IS the user's audio at the
model's rate and channel count, sample for sample. Inside the range the generated audio takes over with a
raised-cosine crossfade of INPAINT_CROSSFADE_S at each border that touches kept audio; the fades lie inside
the range, so nothing outside it changes. Past the end of the user's audio the generated audio stays.
Continuation: the user's audio, then the new audio (`new_only`: the new audio alone).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from audiox.errors import AudioXError
from audiox.pipeline.request import GenerationRequest
from audiox.pipeline.windows import Window

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


def returned_audio(request: GenerationRequest, audio: Tensor, user_audio: Tensor | None, sample_rate: int) -> Tensor:
    """audio: (B, C, S) generated for the span; user_audio: (C, N) the user's whole audio at the model's rate.
    Returns it spliced into the user's audio (inpainting), after it ((B, C, N + S), continuation), or as is.
    Non-finite samples are an error, never returned."""
    if not torch.isfinite(audio).all():
        raise AudioXError("generation produced NaN or infinite samples; check the model weights, or run in float32")
    if request.inpaint is not None:
        offset = round(request.seconds_start * sample_rate)
        gap = (round((request.inpaint[0] - request.seconds_start) * sample_rate),
               round((request.inpaint[1] - request.seconds_start) * sample_rate))
        return splice_inpainted(audio, user_audio[:, offset:], gap, round(INPAINT_CROSSFADE_S * sample_rate))
    if request.audio is not None and not request.new_only:
        prompt = user_audio[None].expand(audio.shape[0], -1, -1)
        return torch.cat([prompt, audio], dim=-1)  # (B, C, N + S)
    return audio


def kept_window(request: GenerationRequest, window: Window, user_audio: Tensor | None,
                sample_rate: int) -> Tensor | None:
    """Inpainting: a window after the first as the user's audio (B, C, S_window) when the audio covers it and it
    lies after the range (the splice keeps those samples anyway, so it need not be generated), else None."""
    if request.inpaint is None:
        return None
    start = round((request.seconds_start + window.start_s) * sample_rate)
    num = round(window.duration_s * sample_rate)
    if request.seconds_start + window.start_s < request.inpaint[1] or start + num > user_audio.shape[-1]:
        return None
    return user_audio[None, :, start : start + num].expand(request.batch_size, -1, -1)
