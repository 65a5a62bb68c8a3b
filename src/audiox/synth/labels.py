"""Structured labels of the synthetic world: sound-event scenes and music clips.

These dataclasses are also the input format of the caption composer and of the instruction scorer,
so a user can build them from their own annotations (`labels_from_dict`) and reuse both. Only
`kind`, `onset_s`, `offset_s` are needed for an event; the rest (pitch, gain, pan, seed) lets the
generator re-render the exact waveform and defaults to neutral values.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, fields

import numpy as np

from audiox.errors import InputError

PITCH_CLASSES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MODES: tuple[str, ...] = ("major", "minor")


@dataclass(frozen=True, kw_only=True, slots=True)
class EventLabel:
    """One sound event: what, and when (seconds from the clip start)."""

    kind: str
    onset_s: float
    offset_s: float
    pitch_hz: float = 0.0
    gain_db: float = 0.0
    pan: float = 0.0
    seed: int = 0

    @property
    def duration_s(self) -> float:
        return self.offset_s - self.onset_s


@dataclass(frozen=True, kw_only=True, slots=True)
class SceneLabels:
    """A scene: events (sorted by onset) over an optional background ("none", "hum", "noise", "room")."""

    duration_s: float
    events: tuple[EventLabel, ...]
    background: str = "none"
    background_db: float = -120.0
    background_seed: int = 0

    @property
    def kinds(self) -> tuple[str, ...]:
        """Distinct kinds in order of first appearance."""
        return tuple(dict.fromkeys(e.kind for e in sorted(self.events, key=lambda e: e.onset_s)))

    @property
    def counts(self) -> dict[str, int]:
        """kind -> number of occurrences, in order of first appearance."""
        counter = Counter(e.kind for e in self.events)
        return {kind: counter[kind] for kind in self.kinds}


@dataclass(frozen=True, kw_only=True, slots=True)
class MusicLabels:
    """A music clip in 4/4: tempo, key (tonic pitch class + mode), lead instrument, genre."""

    duration_s: float
    tempo_bpm: float
    key: str
    mode: str
    instrument: str
    genre: str
    first_beat_s: float = 0.0
    seed: int = 0

    @property
    def beat_times_s(self) -> np.ndarray:
        """(N,) times of every beat inside the clip, starting at first_beat_s."""
        period = 60.0 / self.tempo_bpm
        return np.arange(self.first_beat_s, self.duration_s - 1e-9, period)


Labels = SceneLabels | MusicLabels


def _build(cls, data: dict, where: str):
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise InputError(f"{where}: unknown field(s) {unknown}; allowed: {sorted(names)}")
    try:
        return cls(**data)
    except TypeError as exc:
        raise InputError(f"{where}: {exc}; pass the required fields") from None


def labels_from_dict(data: dict) -> Labels:
    """Scene labels from {"duration_s", "events": [{"kind", "onset_s", "offset_s"}, ...], ...}
    or music labels from {"duration_s", "tempo_bpm", "key", "mode", "instrument", "genre", ...}."""
    if "events" in data:
        events = tuple(
            sorted(
                (_build(EventLabel, dict(e), f"events[{i}]") for i, e in enumerate(data["events"])),
                key=lambda e: e.onset_s,
            )
        )
        return _build(SceneLabels, {**data, "events": events}, "scene labels")
    labels = _build(MusicLabels, dict(data), "music labels")
    if labels.key not in PITCH_CLASSES or labels.mode not in MODES:
        raise InputError(
            f"music labels: key={labels.key!r} mode={labels.mode!r}; key must be one of "
            f"{PITCH_CLASSES} and mode one of {MODES}"
        )
    return labels


def labels_to_dict(labels: Labels) -> dict:
    """Plain JSON-able dict (inverse of `labels_from_dict`)."""
    out = asdict(labels)
    if isinstance(labels, SceneLabels):
        out["events"] = [asdict(e) for e in labels.events]
    return out


__all__ = [
    "MODES",
    "PITCH_CLASSES",
    "EventLabel",
    "Labels",
    "MusicLabels",
    "SceneLabels",
    "labels_from_dict",
    "labels_to_dict",
]
