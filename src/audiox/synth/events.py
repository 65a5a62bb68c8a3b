"""Procedural sound events: ten kinds, each a pure function of (kind, duration, pitch, gain, seed, rate).

Every renderer returns a mono float32 waveform of exactly round(duration_s * sample_rate) samples whose
energy starts at sample 0 (a few-millisecond attack at most), so an event placed at `onset_s` sounds
from `onset_s` on. Partials above 0.45 * sample_rate are dropped, so any rate (16 kHz, 44.1 kHz, ...)
renders without aliasing. The waveform is peak-normalised, then scaled to `gain_db` dBFS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

EVENT_KINDS: tuple[str, ...] = (
    "tone",
    "chirp",
    "knock",
    "clap",
    "bell",
    "whistle",
    "engine",
    "rain",
    "drum",
    "buzzer",
)
MIN_GAIN_DB, MAX_GAIN_DB = -18.0, -6.0
NYQUIST_FRACTION = 0.45


@dataclass(frozen=True, kw_only=True, slots=True)
class EventRange:
    """Where one kind's random length and pitch are drawn from (pitch log-uniform)."""

    min_duration_s: float
    max_duration_s: float
    min_pitch_hz: float
    max_pitch_hz: float


EVENT_RANGES: dict[str, EventRange] = {
    "tone": EventRange(min_duration_s=0.3, max_duration_s=0.8, min_pitch_hz=220.0, max_pitch_hz=880.0),
    "chirp": EventRange(min_duration_s=0.15, max_duration_s=0.4, min_pitch_hz=300.0, max_pitch_hz=800.0),
    "knock": EventRange(min_duration_s=0.08, max_duration_s=0.16, min_pitch_hz=120.0, max_pitch_hz=300.0),
    "clap": EventRange(min_duration_s=0.06, max_duration_s=0.14, min_pitch_hz=1000.0, max_pitch_hz=2500.0),
    "bell": EventRange(min_duration_s=0.8, max_duration_s=1.4, min_pitch_hz=400.0, max_pitch_hz=1200.0),
    "whistle": EventRange(min_duration_s=0.3, max_duration_s=0.8, min_pitch_hz=1500.0, max_pitch_hz=3000.0),
    "engine": EventRange(min_duration_s=0.8, max_duration_s=1.6, min_pitch_hz=40.0, max_pitch_hz=80.0),
    "rain": EventRange(min_duration_s=0.8, max_duration_s=1.6, min_pitch_hz=1500.0, max_pitch_hz=5000.0),
    "drum": EventRange(min_duration_s=0.2, max_duration_s=0.4, min_pitch_hz=45.0, max_pitch_hz=90.0),
    "buzzer": EventRange(min_duration_s=0.3, max_duration_s=0.7, min_pitch_hz=150.0, max_pitch_hz=400.0),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class EventSound:
    """Everything that fixes one event's waveform (besides the sample rate)."""

    kind: str
    duration_s: float
    pitch_hz: float
    gain_db: float
    seed: int


def sample_event_sound(kind: str, rng: np.random.Generator) -> EventSound:
    """Draw one event of `kind` with random length, pitch, loudness and render seed."""
    r = EVENT_RANGES[kind]
    duration_s = round(float(rng.uniform(r.min_duration_s, r.max_duration_s)), 3)
    pitch_hz = float(np.exp(rng.uniform(np.log(r.min_pitch_hz), np.log(r.max_pitch_hz))))
    gain_db = float(rng.uniform(MIN_GAIN_DB, MAX_GAIN_DB))
    return EventSound(
        kind=kind,
        duration_s=duration_s,
        pitch_hz=round(pitch_hz, 2),
        gain_db=round(gain_db, 2),
        seed=int(rng.integers(0, 2**31 - 1)),
    )


def band_noise(
    rng: np.random.Generator, num_samples: int, sample_rate: int, low_hz: float, high_hz: float
) -> np.ndarray:
    """White noise band-limited to [low_hz, high_hz] by an FFT mask, unit RMS: (S,) float64."""
    noise = rng.standard_normal(num_samples)
    spectrum = np.fft.rfft(noise)
    freqs = np.fft.rfftfreq(num_samples, 1.0 / sample_rate)
    high_hz = min(high_hz, NYQUIST_FRACTION * sample_rate)
    spectrum[(freqs < low_hz) | (freqs > high_hz)] = 0.0
    out = np.fft.irfft(spectrum, n=num_samples)
    return out / (np.sqrt(np.mean(out**2)) + 1e-12)


def harmonic_stack(phase: np.ndarray, freq_hz: float, ratios, amps, sample_rate: int) -> np.ndarray:
    """Sum of sin(ratio * phase) * amp over partials whose frequency stays below the Nyquist margin.

    phase: (S,) running phase of the fundamental (radians) -> (S,).
    """
    out = np.zeros_like(phase)
    for ratio, amp in zip(ratios, amps):
        if ratio * freq_hz < NYQUIST_FRACTION * sample_rate:
            out += amp * np.sin(ratio * phase)
    return out


def linear_envelope(num_samples: int, sample_rate: int, attack_s: float, release_s: float) -> np.ndarray:
    """Trapezoid: linear rise over attack_s, flat, linear fall over release_s: (S,)."""
    env = np.ones(num_samples)
    attack = max(1, min(num_samples, round(attack_s * sample_rate)))
    release = max(1, min(num_samples, round(release_s * sample_rate)))
    env[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False) + 1.0 / attack
    env[num_samples - release :] *= np.linspace(1.0, 0.0, release)
    return env


def _tone(t, f, rng, sr):
    return np.sin(2 * np.pi * f * t) * linear_envelope(t.size, sr, 0.01, 0.03)


def _chirp(t, f, rng, sr):
    ratio = rng.uniform(2.0, 3.5)
    freq = f * ratio ** (t / t[-1])
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return np.sin(phase) * linear_envelope(t.size, sr, 0.005, 0.02)


def _knock(t, f, rng, sr):
    body = np.sin(2 * np.pi * f * t) * np.exp(-t / 0.025)
    click = 0.5 * band_noise(rng, t.size, sr, 200.0, 2000.0) * np.exp(-t / 0.004)
    return body + click


def _clap(t, f, rng, sr):
    return band_noise(rng, t.size, sr, 0.6 * f, 2.5 * f) * np.exp(-t / 0.03)


def _bell(t, f, rng, sr):
    ratios = (1.0, 2.0, 2.76, 4.07, 5.40)
    decay = 5.76 / t[-1]  # -50 dB at the end of the event
    out = np.zeros_like(t)
    for ratio, amp in zip(ratios, (1.0, 0.6, 0.5, 0.3, 0.2)):
        if ratio * f < NYQUIST_FRACTION * sr:
            out += amp * np.sin(2 * np.pi * ratio * f * t) * np.exp(-t * decay * (1 + 0.3 * (ratio - 1)))
    return out * linear_envelope(t.size, sr, 0.002, 0.01)


def _whistle(t, f, rng, sr):
    vibrato_hz = rng.uniform(5.0, 7.0)
    freq = f * (1 + 0.02 * np.sin(2 * np.pi * vibrato_hz * t))
    tone = np.sin(2 * np.pi * np.cumsum(freq) / sr)
    breath = 0.05 * band_noise(rng, t.size, sr, 0.8 * f, 1.25 * f)
    return (tone + breath) * linear_envelope(t.size, sr, 0.03, 0.05)


def _engine(t, f, rng, sr):
    ratios = np.arange(1, min(40, int(4000.0 / f)) + 1)
    saw = harmonic_stack(2 * np.pi * f * t, f, ratios, 1.0 / ratios, sr)
    firing = 1 + 0.2 * np.sin(2 * np.pi * rng.uniform(8.0, 15.0) * t)
    rumble = 0.3 * band_noise(rng, t.size, sr, 30.0, 400.0)
    return (saw * firing + rumble) * linear_envelope(t.size, sr, 0.1, 0.1)


def _rain(t, f, rng, sr):
    hiss = band_noise(rng, t.size, sr, 300.0, f)
    drops = np.zeros_like(t)
    times = rng.integers(0, t.size, size=rng.poisson(40 * t[-1]))
    drops[times] = rng.uniform(0.5, 1.5, size=times.size)
    kernel = np.exp(-np.arange(round(0.003 * sr)) / (0.0008 * sr))
    drops = np.convolve(drops, kernel)[: t.size]
    return (hiss + 1.5 * drops) * linear_envelope(t.size, sr, 0.08, 0.15)


def _drum(t, f, rng, sr):
    freq = f * (1 + 1.5 * np.exp(-t / 0.03))
    body = np.sin(2 * np.pi * np.cumsum(freq) / sr) * np.exp(-t / (t[-1] / 4))
    click = 0.3 * band_noise(rng, t.size, sr, 1000.0, 6000.0) * np.exp(-t / 0.005)
    return (body + click) * linear_envelope(t.size, sr, 0.002, 0.01)


def _buzzer(t, f, rng, sr):
    odd = np.arange(1, 40, 2)
    square = harmonic_stack(2 * np.pi * f * t, f, odd, 1.0 / odd, sr)
    return square * linear_envelope(t.size, sr, 0.01, 0.03)


_RENDERERS: dict[str, Callable[..., np.ndarray]] = {
    "tone": _tone,
    "chirp": _chirp,
    "knock": _knock,
    "clap": _clap,
    "bell": _bell,
    "whistle": _whistle,
    "engine": _engine,
    "rain": _rain,
    "drum": _drum,
    "buzzer": _buzzer,
}


def render_event(sound: EventSound, sample_rate: int) -> np.ndarray:
    """One event as a mono waveform: (S,) float32 with S = round(duration_s * sample_rate).

    Deterministic in (sound, sample_rate): the noise comes from `np.random.default_rng(sound.seed)`.
    """
    num_samples = max(2, round(sound.duration_s * sample_rate))
    t = np.arange(num_samples) / sample_rate
    rng = np.random.default_rng(sound.seed)
    wave = _RENDERERS[sound.kind](t, sound.pitch_hz, rng, sample_rate)
    wave = wave * linear_envelope(num_samples, sample_rate, 0.001, 0.005)
    wave = wave / (np.max(np.abs(wave)) + 1e-12)
    return (wave * 10.0 ** (sound.gain_db / 20.0)).astype(np.float32)
