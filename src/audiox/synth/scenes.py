"""Scenes: 1-4 event kinds, each repeated 1-4 times, at chosen times, over an optional background.

Events never overlap: they are laid out one after another with random gaps of at least `min_gap_s`
(repeats are dropped, most frequent kind first, until everything fits in the clip). With probability
`grouped_prob` the repeats of a kind are consecutive ("a knock three times, followed by a bell"),
otherwise the events are shuffled. Labels hold every draw, so `render_scene(labels, ...)` re-renders
the same waveform at any sample rate.
"""

from __future__ import annotations

import numpy as np

from audiox.synth.events import EVENT_KINDS, EventSound, render_event, sample_event_sound
from audiox.synth.labels import EventLabel, SceneLabels

BACKGROUNDS: tuple[str, ...] = ("none", "hum", "noise", "room")


def _fit(sounds: list[EventSound], duration_s: float, min_gap_s: float) -> list[EventSound]:
    """Drop repeats (most frequent kind first, never a kind's last one) until the events fit."""
    sounds = list(sounds)
    while sum(s.duration_s for s in sounds) + min_gap_s * (len(sounds) + 1) > duration_s:
        counts = {k: sum(s.kind == k for s in sounds) for k in dict.fromkeys(s.kind for s in sounds)}
        kind = max(counts, key=counts.get)
        if counts[kind] == 1:
            longest = max(range(len(sounds)), key=lambda i: sounds[i].duration_s)
            sounds.pop(longest)
            continue
        last = max(i for i, s in enumerate(sounds) if s.kind == kind)
        sounds.pop(last)
    return sounds


def _arrange(sounds: list[EventSound], rng: np.random.Generator, grouped: bool) -> list[EventSound]:
    if grouped:
        kinds = list(dict.fromkeys(s.kind for s in sounds))
        order = rng.permutation(len(kinds))
        return [s for k in order for s in sounds if s.kind == kinds[k]]
    return [sounds[i] for i in rng.permutation(len(sounds))]


def sample_scene(
    rng: np.random.Generator,
    *,
    duration_s: float = 10.0,
    kinds: tuple[str, ...] = EVENT_KINDS,
    max_kinds: int = 4,
    max_repeats: int = 4,
    background_prob: float = 0.5,
    grouped_prob: float = 0.75,
    min_gap_s: float = 0.25,
) -> SceneLabels:
    """Draw one scene's labels (kinds, counts, onsets, event draws, background)."""
    chosen = rng.choice(len(kinds), size=int(rng.integers(1, max_kinds + 1)), replace=False)
    repeats = rng.integers(1, max_repeats + 1, size=chosen.size)
    sounds = [sample_event_sound(kinds[k], rng) for k, n in zip(chosen, repeats) for _ in range(n)]
    sounds = _arrange(_fit(sounds, duration_s, min_gap_s), rng, bool(rng.random() < grouped_prob))
    free_s = duration_s - sum(s.duration_s for s in sounds) - min_gap_s * (len(sounds) + 1)
    gaps = min_gap_s + free_s * rng.dirichlet(np.ones(len(sounds) + 1))
    events, time_s = [], 0.0
    for sound, gap in zip(sounds, gaps):
        onset = round(time_s + float(gap), 3)
        pan = round(float(rng.uniform(-0.6, 0.6)), 2)
        events.append(
            EventLabel(
                kind=sound.kind,
                onset_s=onset,
                offset_s=round(onset + sound.duration_s, 3),
                pitch_hz=sound.pitch_hz,
                gain_db=sound.gain_db,
                pan=pan,
                seed=sound.seed,
            )
        )
        time_s = onset + sound.duration_s
    background = (
        BACKGROUNDS[int(rng.integers(1, len(BACKGROUNDS)))] if rng.random() < background_prob else "none"
    )
    return SceneLabels(
        duration_s=duration_s,
        events=tuple(events),
        background=background,
        background_db=round(float(rng.uniform(-52.0, -40.0)), 2),
        background_seed=int(rng.integers(0, 2**31 - 1)),
    )


def render_background(
    kind: str, level_db: float, seed: int, num_samples: int, sample_rate: int, channels: int
) -> np.ndarray:
    """Stationary background at `level_db` dB RMS: (C, S) float64 ("none" gives zeros)."""
    out = np.zeros((channels, num_samples))
    if kind == "none":
        return out
    rng = np.random.default_rng(seed)
    t = np.arange(num_samples) / sample_rate
    for c in range(channels):
        if kind == "hum":
            base = 50.0 if seed % 2 else 60.0
            out[c] = sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.3)) / k for k in (1, 2, 3))
        else:
            spectrum = np.fft.rfft(rng.standard_normal(num_samples))
            freqs = np.maximum(np.fft.rfftfreq(num_samples, 1.0 / sample_rate), 20.0)
            spectrum /= freqs ** (0.5 if kind == "noise" else 1.0)  # pink / brown
            out[c] = np.fft.irfft(spectrum, n=num_samples)
        out[c] /= np.sqrt(np.mean(out[c] ** 2)) + 1e-12
    return out * 10.0 ** (level_db / 20.0)


def pan_gains(pan: float, channels: int) -> np.ndarray:
    """Constant-power pan in [-1, 1] -> (C,) gains (mono: [1])."""
    if channels == 1:
        return np.ones(1)
    angle = (pan + 1.0) * np.pi / 4
    gains = np.array([np.cos(angle), np.sin(angle)]) * np.sqrt(2.0)
    return np.resize(gains, channels)


def render_scene(labels: SceneLabels, *, sample_rate: int = 44100, channels: int = 2) -> np.ndarray:
    """Waveform of a scene: (C, S) float32, S = round(duration_s * sample_rate)."""
    num_samples = round(labels.duration_s * sample_rate)
    out = render_background(
        labels.background, labels.background_db, labels.background_seed, num_samples, sample_rate, channels
    )
    for e in labels.events:
        sound = EventSound(
            kind=e.kind, duration_s=e.duration_s, pitch_hz=e.pitch_hz, gain_db=e.gain_db, seed=e.seed
        )
        wave = render_event(sound, sample_rate)
        start = round(e.onset_s * sample_rate)
        wave = wave[: max(0, num_samples - start)]
        out[:, start : start + wave.size] += pan_gains(e.pan, channels)[:, None] * wave[None, :]
    return np.clip(out, -1.0, 1.0).astype(np.float32)
