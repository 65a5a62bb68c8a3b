"""Band-limited resampling: windowed-sinc polyphase filter, the `sinc_interp_hann` method.

The same filter design as torchaudio's default resampler (Hann-windowed sinc, 6 zero crossings,
cut-off at 0.99 of the lower Nyquist frequency), written with plain torch so that torchaudio is not
a dependency. With p = old / g and q = new / g (g = gcd), output sample j lies at input position
j * p / q; its value is a weighted sum of the input samples within `width` reduced-rate periods.
There are only q distinct fractional offsets, so the filter bank holds q kernels and one strided
conv1d over the padded input evaluates all of them (polyphase form).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from einops import rearrange

from audiox.errors import InputError


def resampled_length(num_samples: int, orig_sample_rate: int, new_sample_rate: int) -> int:
    """Output length of `resample`: ceil(num_samples * new / old), computed exactly in integers."""
    return -(-num_samples * new_sample_rate // orig_sample_rate)


def sinc_filter_bank(
    orig_rate: int, new_rate: int, *, lowpass_filter_width: int, rolloff: float, dtype: torch.dtype
) -> tuple[torch.Tensor, int]:
    """Polyphase kernels for REDUCED rates (gcd already divided out).

    Returns (kernels: (new_rate, 1, 2 * width + orig_rate), width), where `width` is the number of
    input samples of context on each side.
    """
    cutoff = min(orig_rate, new_rate) * rolloff  # in cycles per reduced-rate period
    width = math.ceil(lowpass_filter_width * orig_rate / cutoff)
    taps = torch.arange(-width, width + orig_rate, dtype=torch.float64) / orig_rate  # (K,)
    phases = -torch.arange(new_rate, dtype=torch.float64) / new_rate  # (q,)
    t = (phases[:, None] + taps[None, :]) * cutoff  # (q, K), in units of zero crossings
    t = t.clamp(-lowpass_filter_width, lowpass_filter_width)
    window = torch.cos(t * (math.pi / (2 * lowpass_filter_width))) ** 2  # Hann, 0 at the edges
    kernels = torch.special.sinc(t) * window * (cutoff / orig_rate)  # unit DC gain
    return kernels[:, None, :].to(dtype), width  # (q, 1, K)


def resample(
    waveform: torch.Tensor,
    orig_sample_rate: int,
    new_sample_rate: int,
    *,
    lowpass_filter_width: int = 6,
    rolloff: float = 0.99,
) -> torch.Tensor:
    """Resample along the last axis.

    waveform: (..., S) float -> (..., ceil(S * new / old)). Equal rates return the input unchanged.
    """
    _check_args(waveform, orig_sample_rate, new_sample_rate, lowpass_filter_width, rolloff)
    if orig_sample_rate == new_sample_rate:
        return waveform
    g = math.gcd(orig_sample_rate, new_sample_rate)
    p, q = orig_sample_rate // g, new_sample_rate // g
    kernels, width = sinc_filter_bank(
        p, q, lowpass_filter_width=lowpass_filter_width, rolloff=rolloff, dtype=waveform.dtype
    )
    lead_shape, num_samples = waveform.shape[:-1], waveform.shape[-1]
    x = waveform.reshape(-1, 1, num_samples)  # (N, 1, S)
    x = F.pad(x, (width, width + p))
    y = F.conv1d(x, kernels.to(x.device), stride=p)  # (N, q, frames)
    y = rearrange(y, "n q f -> n (f q)")  # interleave the phases: output j = f * q + phase
    y = y[:, : resampled_length(num_samples, p, q)]
    return y.reshape(*lead_shape, y.shape[-1])  # (..., S')


def _check_args(
    waveform: torch.Tensor, orig: int, new: int, lowpass_filter_width: int, rolloff: float
) -> None:
    if not torch.is_floating_point(waveform):
        raise InputError(f"resample needs a float waveform, got {waveform.dtype}; convert with .float()")
    if waveform.ndim < 1:
        raise InputError(f"{waveform.shape=}, expected (..., S)")
    for name, rate in (("orig_sample_rate", orig), ("new_sample_rate", new)):
        if not isinstance(rate, int) or isinstance(rate, bool) or rate <= 0:
            raise InputError(f"{name}={rate!r} must be a positive int")
    if lowpass_filter_width < 1 or not 0 < rolloff <= 1:
        raise InputError(f"{lowpass_filter_width=} must be >= 1 and {rolloff=} in (0, 1]")
