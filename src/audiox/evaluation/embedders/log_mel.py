"""A torchlibrosa-compatible log-mel front end (the one PANNs was trained with), as state-dict modules.

`Spectrogram` (key `stft.conv_real.weight` / `stft.conv_imag.weight`: the periodic-Hann-windowed DFT
as two Conv1d kernels, (F, 1, n_fft)) and `LogmelFilterBank` (key `melW`: (F, M) librosa slaney mel
filters) hold their matrices as frozen parameters, so a checkpoint that carries them (PANNs' do) loads
its own; the values built here match librosa's defaults for a fresh model.
Frames are centred with reflect padding; power = re^2 + im^2; log = 10 log10(max(mel, 1e-10)).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def hz_to_mel_slaney(hz: np.ndarray) -> np.ndarray:
    """librosa's default (Slaney) mel scale: linear below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz / (200.0 / 3)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def mel_to_hz_slaney(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), mel * (200.0 / 3))


def slaney_mel_filters(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters, area-normalised ("slaney"), as librosa.filters.mel."""
    fft_hz = np.linspace(0.0, sample_rate / 2, n_fft // 2 + 1)
    mel_hz = mel_to_hz_slaney(np.linspace(hz_to_mel_slaney(fmin), hz_to_mel_slaney(fmax), n_mels + 2))
    ramps = mel_hz[:, None] - fft_hz[None, :]  # (M + 2, F)
    widths = np.diff(mel_hz)
    lower = -ramps[:-2] / widths[:-1, None]
    upper = ramps[2:] / widths[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    return weights * (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]


class Stft(nn.Module):
    """Windowed DFT as Conv1d kernels; attribute names are torchlibrosa's (`conv_real`, `conv_imag`)."""

    def __init__(self, *, n_fft: int, hop_length: int) -> None:
        super().__init__()
        bins = n_fft // 2 + 1
        n = np.arange(n_fft)
        window = 0.5 - 0.5 * np.cos(2 * np.pi * n / n_fft)  # periodic Hann (scipy get_window, fftbins=True)
        angle = 2 * np.pi * np.outer(n, np.arange(bins)) / n_fft  # (n_fft, F)
        self.hop_length, self.n_fft = hop_length, n_fft
        self.conv_real = nn.Conv1d(1, bins, n_fft, stride=hop_length, bias=False)
        self.conv_imag = nn.Conv1d(1, bins, n_fft, stride=hop_length, bias=False)
        with torch.no_grad():
            self.conv_real.weight.copy_(torch.from_numpy((np.cos(angle) * window[:, None]).T[:, None, :]))
            self.conv_imag.weight.copy_(torch.from_numpy((-np.sin(angle) * window[:, None]).T[:, None, :]))
        self.requires_grad_(False)

    def forward(self, audio: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """audio: (B, S) -> real, imag: (B, 1, T, F), T = S // hop + 1 (centred, reflect-padded)."""
        x = F.pad(audio[:, None, :], (self.n_fft // 2, self.n_fft // 2), mode="reflect")
        return self.conv_real(x)[:, None].transpose(2, 3), self.conv_imag(x)[:, None].transpose(2, 3)


class Spectrogram(nn.Module):
    def __init__(self, *, n_fft: int, hop_length: int) -> None:
        super().__init__()
        self.stft = Stft(n_fft=n_fft, hop_length=hop_length)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """audio: (B, S) -> power (B, 1, T, F)."""
        real, imag = self.stft(audio)
        return real**2 + imag**2


class LogmelFilterBank(nn.Module):
    def __init__(self, *, sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> None:
        super().__init__()
        filters = slaney_mel_filters(sample_rate, n_fft, n_mels, fmin, fmax).T  # (F, M)
        self.melW = nn.Parameter(torch.from_numpy(filters).float(), requires_grad=False)

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        """power: (B, 1, T, F) -> log-mel dB (B, 1, T, M), ref 1, amin 1e-10, no top_db."""
        return 10.0 * torch.log10(torch.clamp(power @ self.melW, min=1e-10))
