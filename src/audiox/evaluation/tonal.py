"""Tempo (autocorrelation of the onset envelope) and key (chroma + Krumhansl-Kessler profiles).

Tempo: the spectral-flux envelope (10 ms frames) minus its 1 s moving average, half-wave rectified, is
autocorrelated; each candidate tempo in [min_bpm, max_bpm] scores the autocorrelation at its beat
lag plus half the value at twice the lag (a bar-level check against half-beat candidates), weighted
by a log-normal preference around `prior_bpm` (110, sigma 0.7 octave); candidates are 0.1 BPM apart.
Key: a chroma vector (magnitude of spectral peaks between 55 Hz and 2 kHz folded onto 12 pitch
classes, ~190 ms windows) is correlated with the 24 rotated Krumhansl-Kessler major/minor profiles.
"""

from __future__ import annotations

import numpy as np

from audiox.evaluation.onsets import Spectrogram, power_spectrogram, to_mono
from audiox.synth.labels import PITCH_CLASSES

KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def onset_envelope(spec: Spectrogram) -> np.ndarray:
    """(T,) flux minus its 1 s moving average, half-wave rectified, zero mean."""
    width = max(1, round(1.0 / spec.hop_s))
    local = np.convolve(spec.flux, np.ones(width) / width, mode="same")
    env = np.maximum(spec.flux - local, 0.0)
    return env - env.mean()


def _autocorrelation(env: np.ndarray) -> np.ndarray:
    n = env.size
    spectrum = np.fft.rfft(env, n=2 * n)
    acf = np.fft.irfft(np.abs(spectrum) ** 2)[:n]
    acf = acf / (n - np.arange(n))  # unbiased
    return acf / (acf[0] + 1e-12)


def _interp(acf: np.ndarray, lag: np.ndarray) -> np.ndarray:
    return np.interp(lag, np.arange(acf.size), acf, right=0.0)


def estimate_tempo(
    spec: Spectrogram,
    *,
    min_bpm: float = 60.0,
    max_bpm: float = 180.0,
    prior_bpm: float = 110.0,
    prior_octaves: float = 0.7,
) -> float:
    """Tempo in BPM of a clip from its spectrogram (0.0 for a clip with no onset structure)."""
    env = onset_envelope(spec)
    if not np.any(env > 0):
        return 0.0
    acf = _autocorrelation(env)
    bpm = np.arange(min_bpm, max_bpm + 0.05, 0.1)
    lag = 60.0 / (bpm * spec.hop_s)
    score = _interp(acf, lag) + 0.5 * _interp(acf, 2 * lag)
    prior = np.exp(-0.5 * (np.log2(bpm / prior_bpm) / prior_octaves) ** 2)
    return float(bpm[int(np.argmax(score * prior))])


def chroma(audio, sample_rate: int, *, fmin_hz: float = 55.0, fmax_hz: float = 2000.0) -> np.ndarray:
    """audio: (C, S) or (S,) -> (12,) pitch-class profile (C = index 0), summed over the clip."""
    power = power_spectrogram(to_mono(audio), sample_rate, hop_s=0.1, window_s=0.19)
    magnitude = np.sqrt(power)
    n_fft = 2 * (power.shape[0] - 1)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    band = (freqs >= fmin_hz) & (freqs <= min(fmax_hz, sample_rate / 2))
    peaks = np.zeros_like(magnitude, dtype=bool)
    peaks[1:-1] = (magnitude[1:-1] > magnitude[:-2]) & (magnitude[1:-1] >= magnitude[2:])
    weights = np.where(peaks & band[:, None], magnitude, 0.0).sum(axis=1)  # (bins,)
    pitch_class = np.round(12 * np.log2(np.maximum(freqs, 1.0) / 261.6256)).astype(int) % 12
    return np.bincount(pitch_class[band], weights=weights[band], minlength=12)


def estimate_key(audio, sample_rate: int) -> tuple[str, str]:
    """(tonic pitch class name, "major" | "minor") of a clip."""
    profile = chroma(audio, sample_rate)
    best, best_score = ("C", "major"), -np.inf
    for mode, template in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        for tonic in range(12):
            score = np.corrcoef(profile, np.roll(template, tonic))[0, 1]
            if score > best_score:
                best, best_score = (PITCH_CLASSES[tonic], mode), score
    return best
