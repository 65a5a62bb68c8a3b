"""Music clips: key/mode, tempo, a lead instrument playing a simple melody over a bass line (+ drums).

A clip is 4/4 with one chord per bar from a short progression that starts on the tonic; the melody
takes chord tones on strong beats and steps along the scale elsewhere; the bass plays chord roots two
octaves down. The genre picks the rhythm section ("ambient" has none and no eighth notes). Everything
below `sample_music` is a pure function of the labels, so `render_music(labels, ...)` is repeatable.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from audiox.synth.events import EventSound, band_noise, harmonic_stack, linear_envelope, render_event
from audiox.synth.labels import MODES, PITCH_CLASSES, MusicLabels
from audiox.synth.scenes import pan_gains

INSTRUMENTS: tuple[str, ...] = ("piano", "organ", "guitar", "flute", "strings", "synth")
GENRES: tuple[str, ...] = ("pop", "electronic", "ambient", "folk")
SCALES: dict[str, tuple[int, ...]] = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
PROGRESSIONS: dict[str, tuple[tuple[int, ...], ...]] = {  # scale degrees (0 = tonic), one chord per bar;
    "major": ((0, 3, 0, 4), (0, 5, 0, 4), (0, 4, 0, 3)),  # the tonic every other bar keeps the key clear
    "minor": ((0, 3, 0, 4), (0, 5, 0, 6), (0, 5, 0, 3)),
}
DRUM_PATTERNS: dict[str, dict[str, tuple[float, ...]]] = {  # beat positions inside a bar
    "pop": {"kick": (0, 2), "snare": (1, 3), "hat": (0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5)},
    "electronic": {"kick": (0, 1, 2, 3), "snare": (1, 3), "hat": (0.5, 1.5, 2.5, 3.5)},
    "folk": {"kick": (0, 2), "snare": (), "hat": (0, 1, 2, 3)},
    "ambient": {"kick": (), "snare": (), "hat": ()},
}


@dataclass(frozen=True, slots=True)
class Note:
    start_s: float
    duration_s: float
    midi: int
    velocity: float


def sample_music(
    rng: np.random.Generator, *, duration_s: float = 10.0, min_bpm: int = 70, max_bpm: int = 150
) -> MusicLabels:
    """Draw one music clip's labels."""
    genre = GENRES[int(rng.integers(len(GENRES)))]
    return MusicLabels(
        duration_s=duration_s,
        tempo_bpm=float(rng.integers(min_bpm, max_bpm + 1)),
        key=PITCH_CLASSES[int(rng.integers(12))],
        mode=MODES[int(rng.integers(2))],
        instrument=INSTRUMENTS[int(rng.integers(len(INSTRUMENTS)))],
        genre=genre,
        first_beat_s=round(float(rng.uniform(0.1, 0.4)), 3),
        seed=int(rng.integers(0, 2**31 - 1)),
    )


def _tonic_midi(labels: MusicLabels) -> int:
    pc = PITCH_CLASSES.index(labels.key)
    return 60 + pc if pc <= 5 else 48 + pc


def _degree_midi(tonic: int, scale: tuple[int, ...], degree: int) -> int:
    octave, step = divmod(degree, len(scale))
    return tonic + 12 * octave + scale[step]


def compose_score(labels: MusicLabels) -> tuple[list[Note], list[Note]]:
    """(melody, bass) notes of a clip, deterministic in the labels."""
    rng = np.random.default_rng(labels.seed)
    scale, tonic, period = SCALES[labels.mode], _tonic_midi(labels), 60.0 / labels.tempo_bpm
    progression = PROGRESSIONS[labels.mode][int(rng.integers(len(PROGRESSIONS[labels.mode])))]
    melody, bass, degree = [], [], 0
    for beat, time_s in enumerate(labels.beat_times_s):
        chord = progression[(beat // 4) % len(progression)]
        if beat % 2 == 0:
            bass.append(Note(time_s, 2 * period * 0.95, _degree_midi(tonic - 24, scale, chord), 0.8))
        if beat % 4 == 0:
            degree = chord + int(rng.choice((0, 2, 4), p=(0.5, 0.3, 0.2)))
        else:
            degree = int(np.clip(degree + rng.choice((-2, -1, 1, 2)), 0, 9))
        split = labels.genre != "ambient" and rng.random() < 0.3
        lengths = (period / 2, period / 2) if split else (period,)
        for i, length in enumerate(lengths):
            note_degree = degree if i == 0 else int(np.clip(degree + rng.choice((-1, 1)), 0, 9))
            velocity = 0.9 if beat % 4 == 0 and i == 0 else 0.7
            melody.append(
                Note(time_s + i * period / 2, length * 0.9, _degree_midi(tonic, scale, note_degree), velocity)
            )
    return melody, bass


_TIMBRES = {  # (harmonic ratios, amplitudes, attack_s, release_s, decay time constant or 0 = sustained)
    "piano": ((1, 2, 3, 4, 5, 6), (1.0, 0.5, 0.3, 0.2, 0.12, 0.08), 0.005, 0.05, 0.5),
    "organ": ((1, 2, 3, 4, 6, 8), (1.0, 0.8, 0.5, 0.4, 0.2, 0.15), 0.02, 0.05, 0.0),
    "guitar": ((1, 2, 3, 4, 5, 6, 7, 8), (1.0, 0.5, 0.33, 0.25, 0.2, 0.17, 0.14, 0.12), 0.003, 0.03, 0.3),
    "flute": ((1, 2, 3), (1.0, 0.25, 0.08), 0.06, 0.06, 0.0),
    "strings": (tuple(range(1, 13)), tuple(1.0 / k for k in range(1, 13)), 0.12, 0.15, 0.0),
    "synth": ((1, 3, 5, 7, 9, 11), (1.0, 0.33, 0.2, 0.14, 0.11, 0.09), 0.01, 0.05, 0.0),
}


def render_note(instrument: str, note: Note, sample_rate: int) -> np.ndarray:
    """One note of `instrument`: (S,) float64 with S = round(note.duration_s * sample_rate)."""
    ratios, amps, attack_s, release_s, decay_s = _TIMBRES[instrument]
    num_samples = max(2, round(note.duration_s * sample_rate))
    t = np.arange(num_samples) / sample_rate
    freq = 440.0 * 2.0 ** ((note.midi - 69) / 12)
    vibrato = 1 + (0.006 * np.sin(2 * np.pi * 5.5 * t) if instrument in ("flute", "strings") else 0.0 * t)
    phase = 2 * np.pi * np.cumsum(freq * vibrato) / sample_rate
    wave = harmonic_stack(phase, freq, ratios, amps, sample_rate)
    if decay_s:
        wave *= np.exp(-t / decay_s)
    return note.velocity * wave * linear_envelope(num_samples, sample_rate, attack_s, release_s)


def drum_hits(labels: MusicLabels) -> list[tuple[float, str]]:
    """(time_s, "kick" | "snare" | "hat") of the genre's pattern repeated over the clip."""
    pattern, period = DRUM_PATTERNS[labels.genre], 60.0 / labels.tempo_bpm
    bars = int(np.ceil((labels.duration_s - labels.first_beat_s) / (4 * period)))
    return [
        (labels.first_beat_s + (4 * bar + pos) * period, name)
        for bar in range(bars)
        for name, positions in pattern.items()
        for pos in positions
    ]


def _drum_sounds(labels: MusicLabels, sample_rate: int) -> dict[str, np.ndarray]:
    kick = EventSound(kind="drum", duration_s=0.3, pitch_hz=55.0, gain_db=-4.0, seed=labels.seed)
    snare = EventSound(kind="clap", duration_s=0.12, pitch_hz=1500.0, gain_db=-10.0, seed=labels.seed)
    n = round(0.05 * sample_rate)
    hat = band_noise(np.random.default_rng(labels.seed), n, sample_rate, 6000.0, 12000.0)
    return {
        "kick": 3.0 * render_event(kick, sample_rate).astype(np.float64),
        "snare": 3.0 * render_event(snare, sample_rate).astype(np.float64),
        "hat": 0.12 * hat * np.exp(-np.arange(n) / (0.01 * sample_rate)),
    }


def _add(out: np.ndarray, wave: np.ndarray, start_s: float, gains: np.ndarray, sample_rate: int) -> None:
    start = round(start_s * sample_rate)
    wave = wave[: max(0, out.shape[1] - start)]
    out[:, start : start + wave.size] += gains[:, None] * wave[None, :]


def render_music(labels: MusicLabels, *, sample_rate: int = 44100, channels: int = 2) -> np.ndarray:
    """Waveform of a clip: (C, S) float32, S = round(duration_s * sample_rate), peak 0.7."""
    out = np.zeros((channels, round(labels.duration_s * sample_rate)))
    melody, bass = compose_score(labels)
    for note in melody:
        _add(
            out,
            render_note(labels.instrument, note, sample_rate),
            note.start_s,
            pan_gains(0.2, channels),
            sample_rate,
        )
    for note in bass:
        _add(
            out,
            0.8 * render_note("piano", note, sample_rate),
            note.start_s,
            pan_gains(0.0, channels),
            sample_rate,
        )
    sounds = _drum_sounds(labels, sample_rate)
    for time_s, name in drum_hits(labels):
        _add(out, sounds[name], time_s, pan_gains(-0.3 if name == "hat" else 0.0, channels), sample_rate)
    return (0.7 * out / (np.max(np.abs(out)) + 1e-12)).astype(np.float32)
