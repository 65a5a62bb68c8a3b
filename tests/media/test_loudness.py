"""Loudness normalisation (ITU-R BS.1770 through pyloudnorm, the optional extra audiox[loudness])."""

from __future__ import annotations

import math
import sys

import pytest
import torch

from audiox.errors import InputError
from audiox.media.loudness import integrated_loudness, normalize_loudness, require_pyloudnorm

pyloudnorm = pytest.importorskip("pyloudnorm")


def _tone(rate: int, seconds: float = 3.0, amp: float = 0.1, channels: int = 2) -> torch.Tensor:
    t = torch.arange(round(seconds * rate)) / rate
    return (amp * torch.sin(2 * math.pi * 440 * t)).expand(channels, -1).clone()  # (C, S)


@pytest.mark.parametrize("rate", [16000, 44100])
@pytest.mark.parametrize("target", [-14.0, -23.0, -30.0])
def test_normalised_audio_measures_the_target(rate, target):
    audio = _tone(rate)
    out, reached = normalize_loudness(audio, rate, target)
    measured = pyloudnorm.Meter(rate).integrated_loudness(out.double().numpy().T)
    assert reached == pytest.approx(target, abs=1e-6) and measured == pytest.approx(target, abs=0.05)
    assert out.shape == audio.shape


def test_the_gain_stops_at_full_scale():
    """A spiky clip cannot reach -5 LUFS without clipping: the peak stops at 1.0, the level below target."""
    audio = _tone(16000, amp=0.01)
    audio[:, 100] = 0.9
    out, reached = normalize_loudness(audio, 16000, -5.0)
    assert float(out.abs().max()) == pytest.approx(1.0) and reached < -5.0
    assert reached == pytest.approx(pyloudnorm.Meter(16000).integrated_loudness(out.double().numpy().T), abs=0.05)


def test_silence_is_left_silent():
    out, reached = normalize_loudness(torch.zeros(2, 16000), 16000, -14.0)
    assert reached == -math.inf and torch.equal(out, torch.zeros(2, 16000))


def test_low_rates_are_measured_at_48_khz():
    """At 2048 Hz the K-weighting filter does not fit under Nyquist: the measurement resamples first."""
    low = integrated_loudness(_tone(2048, amp=0.5), 2048)
    assert math.isfinite(low) and low == pytest.approx(integrated_loudness(_tone(48000, amp=0.5), 48000), abs=0.5)


def test_bad_requests_are_one_line():
    with pytest.raises(InputError, match="at least 0.4 s"):
        normalize_loudness(_tone(16000, seconds=0.2), 16000, -14.0)
    with pytest.raises(InputError, match="loudness target must be"):
        normalize_loudness(_tone(16000), 16000, 5.0)
    with pytest.raises(InputError, match="NaN"):
        normalize_loudness(torch.full((1, 16000), float("nan")), 16000, -14.0)


def test_without_pyloudnorm_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyloudnorm", None)
    with pytest.raises(InputError, match=r"pip install 'audiox\[loudness\]'"):
        require_pyloudnorm()
