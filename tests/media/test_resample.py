import math

import pytest
import torch

from audiox.errors import InputError
from audiox.media.resample import resample, resampled_length


def _tone(freq_hz, sample_rate, num_samples):
    t = torch.arange(num_samples, dtype=torch.float64) / sample_rate
    return torch.sin(2 * math.pi * freq_hz * t)


def _peak_frequency(x, sample_rate):
    spectrum = torch.fft.rfft(x * torch.hann_window(x.shape[-1], dtype=x.dtype))
    return int(spectrum.abs().argmax()) * sample_rate / x.shape[-1]


@pytest.mark.parametrize("orig,new", [(48000, 44100), (44100, 48000), (22050, 44100), (44100, 16000)])
def test_tone_keeps_frequency_and_amplitude(orig, new):
    n = orig // 2
    y = resample(_tone(1000, orig, n).float(), orig, new)
    assert y.shape == (math.ceil(n * new / orig),)
    assert abs(_peak_frequency(y.double(), new) - 1000) <= 2 * new / y.shape[-1]
    ref = _tone(1000, new, y.shape[-1]).float()
    interior = slice(100, -100)  # the edges see zero padding
    assert torch.allclose(y[interior], ref[interior], atol=2e-3)
    assert abs(float(y[interior].abs().max()) - 1.0) < 2e-3


def test_tone_above_new_nyquist_is_removed():
    y = resample(_tone(15000, 44100, 22050).float(), 44100, 22050)
    assert float(y[100:-100].abs().max()) < 1e-2


@pytest.mark.parametrize("n", [1, 2, 7, 160, 1001, 48000])
def test_length_is_ceil(n):
    y = resample(torch.zeros(2, n), 48000, 44100)
    assert y.shape == (2, math.ceil(n * 44100 / 48000)) == (2, resampled_length(n, 48000, 44100))


def test_batch_shape_and_constant_signal():
    x = torch.ones(2, 3, 4800)
    y = resample(x, 48000, 44100)
    assert y.shape == (2, 3, 4410)
    assert torch.allclose(y[..., 50:-50], torch.ones(()), atol=2e-3)  # unit gain at DC


def test_same_rate_is_identity():
    x = torch.randn(2, 100)
    assert resample(x, 44100, 44100) is x


def test_matches_direct_sinc_sum():
    """Polyphase conv equals the windowed-sinc sum written out for one output sample."""
    torch.manual_seed(1)
    x = torch.randn(400, dtype=torch.float64)
    y = resample(x, 48000, 44100)
    p, q, zeros = 160, 147, 6
    cutoff = min(p, q) * 0.99
    j = 200
    t_in = torch.arange(400, dtype=torch.float64) / p  # reduced-rate time of each input sample
    d = ((t_in - j / q) * cutoff).clamp(-zeros, zeros)
    weights = torch.special.sinc(d) * torch.cos(d * math.pi / (2 * zeros)) ** 2 * cutoff / p
    assert torch.allclose(y[j], (weights * x).sum(), atol=1e-10)


@pytest.mark.parametrize(
    "call",
    [
        lambda: resample(torch.zeros(10, dtype=torch.int16), 48000, 44100),
        lambda: resample(torch.zeros(10), 0, 44100),
        lambda: resample(torch.zeros(10), 48000.0, 44100),
    ],
)
def test_bad_input(call):
    with pytest.raises(InputError):
        call()
