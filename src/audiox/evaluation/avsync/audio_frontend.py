"""Synchformer's audio input: 16 kHz mono -> 0.64 s segments with half overlap -> normalised log-mel.

As the av-benchmark's `encode_audio_with_sync` (and Synchformer's test transforms): segments of 10240
samples every 5120 (the audio twin of 16 video frames every 8 at 25 fps); per segment a mel power
spectrogram as torchaudio's `MelSpectrogram(16000, n_fft=1024, win_length=400, hop_length=160, n_mels=128)`
(periodic Hann window of 400 samples centred in the 1024-point frame, centred frames with reflect padding,
|X|^2, HTK mel filters 0-8000 Hz without area normalisation) -> log(x + 1e-6) -> 65 frames zero-padded to 66
(in the log domain, before normalising, as the official `pad_or_truncate`) -> (x - mean) / (2 std) with
AST's AudioSet statistics. torchaudio is not needed: the filters and the STFT are computed here.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

SAMPLE_RATE = 16000
SEGMENT_SAMPLES = 10240  # 0.64 s = 16 frames at 25 fps
SEGMENT_STEP = 5120
N_FFT = 1024
WIN_LENGTH = 400
HOP_LENGTH = 160
AST_MEAN = -4.2677393  # AST's AudioSet log-mel statistics
AST_STD = 4.5689974
LOG_OFFSET = 1e-6


def hz_to_mel_htk(hz: float | torch.Tensor) -> float | torch.Tensor:
    if isinstance(hz, torch.Tensor):
        return 2595.0 * torch.log10(1.0 + hz / 700.0)
    return 2595.0 * math.log10(1.0 + hz / 700.0)


def mel_to_hz_htk(mel: torch.Tensor) -> torch.Tensor:
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def htk_mel_filters(*, sample_rate: int, n_fft: int, n_mels: int) -> torch.Tensor:
    """(n_fft // 2 + 1, n_mels) triangular HTK filters 0 .. sample_rate / 2, unnormalised, in float32
    (torchaudio `melscale_fbanks(..., norm=None, mel_scale="htk")`)."""
    freqs = torch.linspace(0, sample_rate // 2, n_fft // 2 + 1)
    mels = torch.linspace(hz_to_mel_htk(0.0), hz_to_mel_htk(float(sample_rate // 2)), n_mels + 2)
    edges = mel_to_hz_htk(mels)  # (n_mels + 2,)
    widths = edges[1:] - edges[:-1]
    slopes = edges[None, :] - freqs[:, None]  # (F, n_mels + 2)
    down = -slopes[:, :-2] / widths[:-1]
    up = slopes[:, 2:] / widths[1:]
    return torch.clamp(torch.minimum(down, up), min=0.0)


def audio_segments(audio: torch.Tensor) -> torch.Tensor:
    """audio: (S,) 16 kHz mono -> (N, 10240), N = (S - 10240) // 5120 + 1 (trailing samples dropped)."""
    return audio.unfold(0, SEGMENT_SAMPLES, SEGMENT_STEP)


def log_mel_segments(
    segments: torch.Tensor, *, num_mel_bins: int = 128, num_frames: int = 66
) -> torch.Tensor:
    """segments: (N, 10240) float -> (N, num_mel_bins, num_frames) normalised log-mel, the AST's input."""
    spec = (
        torch.stft(
            segments.float(),
            N_FFT,
            hop_length=HOP_LENGTH,
            win_length=WIN_LENGTH,
            window=torch.hann_window(WIN_LENGTH),
            center=True,
            pad_mode="reflect",
            return_complex=True,
        )
        .abs()
        .pow(2)
    )  # (N, F, frames); torch centres the 400-sample window in the 1024-point frame
    filters = htk_mel_filters(sample_rate=SAMPLE_RATE, n_fft=N_FFT, n_mels=num_mel_bins)
    mel = torch.log(torch.einsum("nft,fm->nmt", spec, filters) + LOG_OFFSET)  # (N, M, frames)
    short = num_frames - mel.shape[-1]
    mel = F.pad(mel, (0, short)) if short > 0 else mel[..., :num_frames]
    return (mel - AST_MEAN) / (2 * AST_STD)
