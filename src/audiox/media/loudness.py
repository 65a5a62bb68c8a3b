"""Loudness normalisation to a target in LUFS (ITU-R BS.1770-4 integrated loudness, via `pyloudnorm`),
the alternative to peak normalisation for output that sits at a known level (-14 LUFS streaming,
-23 LUFS EBU R128 broadcast).

`pyloudnorm` (and its scipy) is the optional extra `audiox[loudness]`; without it the request fails with a
one-line error before any generation (`require_pyloudnorm`).
"""

from __future__ import annotations

import math

import torch

from audiox.errors import InputError
from audiox.media.resample import resample

MIN_LUFS, MAX_LUFS = -70.0, 0.0  # BS.1770's absolute gate is -70 LUFS
MIN_LOUDNESS_S = 0.4  # one 400 ms gating block
PEAK_CEILING = 1.0
MIN_METER_RATE, METER_RATE = 8_000, 48_000  # lower rates are measured after resampling to 48 kHz  # the gain is lowered so no sample exceeds full scale


def require_pyloudnorm():
    """The pyloudnorm module, or an InputError naming the extra to install."""
    try:
        import pyloudnorm
    except ImportError:
        raise InputError("--loudness needs pyloudnorm; install it with: pip install 'audiox[loudness]'") from None
    return pyloudnorm


def check_loudness_target(target_lufs: float) -> None:
    """InputError unless the target is a finite number of LUFS in [MIN_LUFS, MAX_LUFS]."""
    if isinstance(target_lufs, bool) or not isinstance(target_lufs, (int, float)) or not math.isfinite(target_lufs) \
            or not MIN_LUFS <= target_lufs <= MAX_LUFS:
        raise InputError(f"loudness target must be a number of LUFS from {MIN_LUFS:.0f} to {MAX_LUFS:.0f}, "
                         f"got {target_lufs!r}")


def integrated_loudness(audio: torch.Tensor, sample_rate: int) -> float:
    """audio: (C, S) float -> integrated loudness in LUFS (-inf for silence). C <= 5 (BS.1770 weights).
    Below 8 kHz (toy models) the K-weighting filter does not fit under Nyquist: measured at 48 kHz."""
    pyloudnorm = require_pyloudnorm()
    if audio.ndim != 2 or audio.shape[-1] < MIN_LOUDNESS_S * sample_rate:
        raise InputError(f"loudness needs (C, S) audio of at least {MIN_LOUDNESS_S} s, got {tuple(audio.shape)} "
                         f"at {sample_rate} Hz")
    audio = audio.detach().to("cpu", torch.float32)
    if sample_rate < MIN_METER_RATE:  # the K-weighting shelf (1.68 kHz) needs a higher Nyquist: measure at 48 kHz
        audio, sample_rate = resample(audio, sample_rate, METER_RATE), METER_RATE
    data = audio.to(torch.float64).numpy().T  # (S, C)
    return float(pyloudnorm.Meter(sample_rate).integrated_loudness(data))


def normalize_loudness(audio: torch.Tensor, sample_rate: int, target_lufs: float) -> tuple[torch.Tensor, float]:
    """audio: (C, S) -> (same shape scaled to `target_lufs`, the loudness reached in LUFS).

    One gain for the whole clip. If that gain would push a sample past full scale, the gain is lowered so
    the peak is exactly 1.0 and the loudness reached is below the target (no clipping, no limiter). A silent
    clip (below the -70 LUFS gate) is returned unchanged with loudness -inf."""
    check_loudness_target(target_lufs)
    if not torch.isfinite(audio).all():
        raise InputError("audio holds NaN or infinite samples; it has no loudness")
    peak = float(audio.abs().max())
    if peak == 0:
        return audio, -math.inf
    audio = audio / peak  # loudness is relative: measure at peak 1 (no overflow on wild raw values)
    measured = integrated_loudness(audio, sample_rate)
    if not math.isfinite(measured):
        return audio * peak, measured  # below the -70 LUFS gate: left as it was
    gain = min(10.0 ** ((target_lufs - measured) / 20.0), PEAK_CEILING)  # PEAK_CEILING / (peak 1 now)
    return audio * gain, measured + 20.0 * math.log10(gain)
