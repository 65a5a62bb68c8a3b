"""Analysis front end (independent of the generator): log-mel spectrogram, spectral flux, event segments.

The spectrogram uses ~30 ms Hann windows every 10 ms and a mel bank from 30 Hz to min(8 kHz, rate/2),
so features mean the same at 16 kHz and 44.1 kHz. Segments are stretches where the frame energy
rises well above the clip's noise floor (hysteresis: enter at floor + 12 dB, leave 6 dB lower;
gaps < 50 ms closed); a segment is split again where the energy jumps >= 12 dB above its minimum over the
previous 100 ms (a new event starting on the tail of the previous one; only >= 200 ms into a
segment). A segment's onset is the spectral-flux peak next to its start. `detect_onsets` finds
note-level onsets (flux peaks where the level rises) for sync measurements.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch

FLOOR_DB = -100.0


@dataclass(frozen=True, slots=True)
class Spectrogram:
    log_mel: np.ndarray  # (M, T) dB
    energy_db: np.ndarray  # (T,) dB, sum of the mel powers averaged over 5 frames
    flux: np.ndarray  # (T,) half-wave rectified log-mel difference, dB summed over bands
    hop_s: float


@dataclass(frozen=True, slots=True)
class Segment:
    start: int  # first frame
    end: int  # one past the last frame
    onset_s: float


def to_mono(audio) -> np.ndarray:
    """audio: (C, S) or (S,) tensor/array -> (S,) float64 channel mean."""
    array = audio.detach().cpu().numpy() if isinstance(audio, torch.Tensor) else np.asarray(audio)
    array = array.astype(np.float64)
    return array.mean(axis=0) if array.ndim == 2 else array


@functools.lru_cache(maxsize=16)
def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int, fmin_hz: float, fmax_hz: float) -> np.ndarray:
    """Triangular HTK-mel filters: (M, n_fft // 2 + 1)."""

    def to_mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    edges_hz = 700.0 * (10 ** (np.linspace(to_mel(fmin_hz), to_mel(fmax_hz), n_mels + 2) / 2595.0) - 1.0)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    low, centre, high = edges_hz[:-2, None], edges_hz[1:-1, None], edges_hz[2:, None]
    rising = (freqs[None] - low) / (centre - low)
    falling = (high - freqs[None]) / (high - centre)
    return np.clip(np.minimum(rising, falling), 0.0, None)


def power_spectrogram(mono: np.ndarray, sample_rate: int, *, hop_s: float, window_s: float) -> np.ndarray:
    """mono: (S,) -> power (n_fft // 2 + 1, T) normalised by the window sum, T = S // hop + 1.

    Frames are centred (frame t at sample t * hop, zero padding at the ends), Hann window.
    """
    hop = max(1, round(hop_s * sample_rate))
    win_length = max(16, round(window_s * sample_rate))
    n_fft = 2 ** math.ceil(math.log2(win_length))
    window = np.hanning(win_length + 2)[1:-1]
    padded = np.pad(mono, (win_length // 2, win_length - win_length // 2))
    num_frames = mono.size // hop + 1
    frames = np.lib.stride_tricks.sliding_window_view(padded, win_length)[::hop][:num_frames]  # (T, win)
    spectrum = np.fft.rfft(frames * window, n=n_fft, axis=1)
    power = spectrum.real**2 + spectrum.imag**2
    return np.ascontiguousarray(power.T) / float(window.sum()) ** 2


def analyse_spectrum(
    audio,
    sample_rate: int,
    *,
    hop_s: float = 0.01,
    window_s: float = 0.03,
    n_mels: int = 64,
    fmin_hz: float = 30.0,
    fmax_hz: float = 8000.0,
) -> Spectrogram:
    """audio: (C, S) or (S,) -> Spectrogram with T = S // hop + 1 frames (frame t centred at t * hop_s)."""
    mono = to_mono(audio)
    power = power_spectrogram(mono, sample_rate, hop_s=hop_s, window_s=window_s)
    n_fft = 2 * (power.shape[0] - 1)
    bank = mel_filterbank(sample_rate, n_fft, n_mels, fmin_hz, min(fmax_hz, sample_rate / 2))
    mel = np.einsum("mf,ft->mt", bank, power)  # (M, T); not BLAS: tiny products, thread wake-ups cost more
    log_mel = 10.0 * np.log10(mel + 10 ** (FLOOR_DB / 10))
    smoothed = np.convolve(mel.sum(axis=0), np.ones(5) / 5, mode="same")  # 50 ms: steadies low buzzes
    energy_db = 10.0 * np.log10(smoothed + 10 ** (FLOOR_DB / 10))
    flux = np.concatenate([[0.0], np.maximum(np.diff(log_mel, axis=1), 0.0).sum(axis=0)])
    return Spectrogram(log_mel=log_mel, energy_db=energy_db, flux=flux, hop_s=hop_s)


def _active_runs(energy_db: np.ndarray, enter_db: float, leave_db: float, gap: int) -> list[tuple[int, int]]:
    above = energy_db > leave_db
    runs, t = [], 0
    while t < above.size:
        if not above[t]:
            t += 1
            continue
        end = t
        while end < above.size and above[end]:
            end += 1
        if energy_db[t:end].max() > enter_db:
            if runs and t - runs[-1][1] < gap:
                runs[-1] = (runs[-1][0], end)
            else:
                runs.append((t, end))
        t = end
    return runs


def _split_points(spec: Spectrogram, start: int, end: int, jump_db: float, min_frames: int) -> list[int]:
    points, last = [], start
    for t in range(start + 2 * min_frames, end - 1):  # look-back window starts after the first attack
        past = spec.energy_db[t - min_frames : t].min()
        is_peak = spec.flux[t] >= spec.flux[t - 1] and spec.flux[t] > spec.flux[t + 1]
        if is_peak and spec.energy_db[t + 1] - past >= jump_db and t - last >= min_frames:
            points.append(t)
            last = t
    return points


def _onset_frame(spec: Spectrogram, start: int) -> int:
    lo, hi = max(0, start - 3), min(spec.flux.size, start + 4)
    return lo + int(np.argmax(spec.flux[lo:hi]))


def detect_segments(
    spec: Spectrogram,
    *,
    rise_db: float = 12.0,
    hysteresis_db: float = 6.0,
    range_db: float = 50.0,
    min_gap_s: float = 0.05,
    min_length_s: float = 0.03,
    split_db: float = 12.0,
    onset_bias_s: float = 0.0,
) -> list[Segment]:
    """Event segments of a clip, in time order."""
    floor = float(np.percentile(spec.energy_db, 10))
    enter = max(floor + rise_db, float(spec.energy_db.max()) - range_db)
    runs = _active_runs(spec.energy_db, enter, enter - hysteresis_db, round(min_gap_s / spec.hop_s))
    segments = []
    min_split = round(0.1 / spec.hop_s)
    for start, end in runs:
        bounds = [start, *_split_points(spec, start, end, split_db, min_split), end]
        for a, b in itertools.pairwise(bounds):
            if (b - a) * spec.hop_s >= min_length_s:
                onset = _onset_frame(spec, a) * spec.hop_s + onset_bias_s
                segments.append(Segment(start=a, end=b, onset_s=max(0.0, onset)))
    return segments


def detect_onsets(
    spec: Spectrogram,
    *,
    relative_threshold: float = 0.2,
    context_s: float = 0.1,
    min_separation_s: float = 0.05,
    min_rise_db: float = 1.0,
    onset_bias_s: float = 0.0,
) -> np.ndarray:
    """(N,) onset times in seconds: spectral-flux peaks (local maxima over +-30 ms) that rise above the
    local mean over +-context_s by `relative_threshold` of the clip's flux range above its median, where
    the (smoothed) level also rises by >= min_rise_db (stationary noise has flux peaks but no rises)."""
    flux = spec.flux
    if flux.size < 3:
        return np.zeros(0)
    width = 2 * round(context_s / spec.hop_s) + 1
    local_mean = np.convolve(flux, np.ones(width) / width, mode="same")
    threshold = relative_threshold * (flux.max() - np.median(flux))
    onsets, last = [], -np.inf
    for t in range(1, flux.size - 1):
        window = flux[max(0, t - 3) : t + 4]
        rise = spec.energy_db[t : t + 4].max() - spec.energy_db[max(0, t - 4) : t + 1].min()
        is_peak = flux[t] == window.max() and flux[t] - local_mean[t] > threshold > 0
        if is_peak and rise >= min_rise_db and (t - last) * spec.hop_s >= min_separation_s:
            onsets.append(t * spec.hop_s + onset_bias_s)
            last = t
    return np.maximum(np.array(onsets), 0.0)
