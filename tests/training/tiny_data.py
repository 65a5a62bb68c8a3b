"""A tiny generated training set: a few seconds of sine + noise WAVs at 2048 Hz and a JSONL manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import soundfile as sf

SAMPLE_RATE = 2048
TYPES = ("text_condition-audio", "audio_condition-audio", "text_condition-music", "uni_condition-audio")
CAPTIONS = ("a dog barks", "rain and birds sing", "calm piano music", "a bell then two knocks")


def write_tiny_dataset(folder: Path, *, num_items: int = 4, seconds: float = 3.0) -> Path:
    """Write `num_items` stereo WAVs (sine at a per-item pitch + a little noise) and manifest.jsonl."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    lines = []
    for i in range(num_items):
        tone = 0.4 * np.sin(2 * np.pi * (110 + 60 * i) * t)
        audio = np.stack([tone, 0.8 * tone]) + 0.02 * rng.standard_normal((2, t.size))
        path = folder / f"item{i}.wav"
        sf.write(path, audio.T.astype(np.float32), SAMPLE_RATE)
        lines.append(json.dumps({"path": str(path), "type": TYPES[i % len(TYPES)], "caption": CAPTIONS[i % 4]}))
    manifest = folder / "manifest.jsonl"
    manifest.write_text("\n".join(lines) + "\n")
    return manifest


FAST_TRAIN = [
    "optimizer.lr=1e-3",
    "scheduler.warmup=0",
    "run.batch_size=2",
    "run.log_every_n_steps=1",
    "run.checkpoint_every_n_steps=2",
]
