"""Long-form generation: windows of the model's length, each after the first conditioned on the audio
before it (the continuation task), joined with an equal-power cross-fade over the overlap."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from audiox.errors import InputError


@dataclass(frozen=True)
class Window:
    """[start_s, start_s + duration_s) of the output, relative to the request's start."""

    start_s: float
    duration_s: float


def plan_windows(total_s: float, window_s: float, overlap_s: float) -> list[Window]:
    """Windows of at most `window_s` covering [0, total_s), consecutive ones overlapping by `overlap_s`."""
    if not 0 <= overlap_s < window_s:
        raise InputError(f"window overlap must be in [0, {window_s}) seconds, got {overlap_s}")
    if total_s <= window_s:
        return [Window(0.0, total_s)]
    hop = window_s - overlap_s
    count = math.ceil((total_s - overlap_s) / hop)
    windows = [Window(i * hop, window_s) for i in range(count - 1)]
    last_start = (count - 1) * hop
    windows.append(Window(last_start, total_s - last_start))
    return windows


def crossfade_join(chunks: list[Tensor], overlap: int) -> Tensor:
    """chunks: (B, C, S_i) consecutive pieces that overlap by `overlap` samples -> (B, C, sum S_i - ...).
    Equal-power (sin/cos) fade across each overlap."""
    out = chunks[0]
    for chunk in chunks[1:]:
        n = min(overlap, out.shape[-1], chunk.shape[-1])
        if n == 0:
            out = torch.cat([out, chunk], dim=-1)
            continue
        phase = torch.linspace(0, math.pi / 2, n, dtype=out.dtype, device=out.device)
        mixed = out[..., -n:] * torch.cos(phase) + chunk[..., :n] * torch.sin(phase)
        out = torch.cat([out[..., :-n], mixed, chunk[..., n:]], dim=-1)
    return out


def last_seconds(audio: Tensor, seconds: float, sample_rate: int) -> Tensor:
    """(..., C, S) -> its last `seconds` (left-padded with zeros when shorter, like the official helper)."""
    n = round(seconds * sample_rate)
    tail = audio[..., -n:]
    return torch.nn.functional.pad(tail, (n - tail.shape[-1], 0))
