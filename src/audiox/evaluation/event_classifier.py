"""A small event classifier over log-mel statistics of one segment, trained on isolated rendered events.

Features (152): per-band mean and std of the peak-normalised log-mel over the segment (64 + 64), mean
absolute frame-to-frame change in 16 pooled bands, and 8 envelope / centroid numbers (log length, peak
position, share of frames within 10 dB of the peak, mean level, level slope, centroid mean / std /
slope). The model is linear over standardised features, fitted in closed form by ridge regression
onto +-1 one-hot targets (one linear solve: no iterations, no optimiser state, the same weights on
every machine) on a few hundred events rendered at 16 kHz over random backgrounds. So
`train_event_classifier(seed)` is deterministic and needs no stored file (`save` / `load` write and
read a safetensors file anyway). The same pass measures the median onset error of `detect_segments`
on the isolated events and keeps it as `onset_bias_s`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from audiox.evaluation.onsets import Spectrogram, analyse_spectrum, detect_segments
from audiox.synth.events import EVENT_KINDS, render_event, sample_event_sound
from audiox.synth.scenes import BACKGROUNDS, render_background

NUM_FEATURES = 152
RANGE_DB = 60.0


def _slope(values: np.ndarray, hop_s: float) -> float:
    if values.size < 2:
        return 0.0
    t = np.arange(values.size) * hop_s
    t = t - t.mean()
    return float((t * (values - values.mean())).sum() / (t**2).sum())


def segment_features(spec: Spectrogram, start: int, end: int) -> np.ndarray:
    """Features of frames [start, end) of a spectrogram: (152,) float32."""
    end = max(end, start + 1)
    x = spec.log_mel[:, start:end]
    x = (np.clip(x - x.max(), -RANGE_DB, 0.0) + RANGE_DB) / RANGE_DB  # (M, n) in [0, 1]
    pooled = x.reshape(16, -1, x.shape[1]).mean(axis=1)  # (16, n)
    change = np.abs(np.diff(pooled, axis=1)).mean(axis=1) if x.shape[1] > 1 else np.zeros(16)
    env = spec.energy_db[start:end] - spec.energy_db[start:end].max()
    env = np.clip(env, -RANGE_DB, 0.0) / RANGE_DB
    weights = 10 ** (spec.log_mel[:, start:end] / 10)
    centroid = (
        (np.arange(x.shape[0])[:, None] * weights).sum(axis=0) / (weights.sum(axis=0) + 1e-20) / x.shape[0]
    )
    duration_s = (end - start) * spec.hop_s
    extra = [
        np.log(duration_s),
        np.argmax(env) / env.size,
        np.mean(env > -10 / RANGE_DB),
        env.mean(),
        np.clip(_slope(env, spec.hop_s), -5, 5),
        centroid.mean(),
        centroid.std(),
        np.clip(_slope(centroid, spec.hop_s), -5, 5),
    ]
    return np.concatenate([x.mean(axis=1), x.std(axis=1), change * 10, extra]).astype(np.float32)


class EventClassifier(nn.Module):
    """Standardise features, then one Linear layer over the event kinds."""

    def __init__(self, *, num_features: int = NUM_FEATURES, kinds: tuple[str, ...] = EVENT_KINDS):
        super().__init__()
        self.kinds = tuple(kinds)
        self.register_buffer("feature_mean", torch.zeros(num_features))
        self.register_buffer("feature_std", torch.ones(num_features))
        self.register_buffer("onset_bias_s", torch.zeros(()))
        self.net = nn.Linear(num_features, len(kinds))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """features: (N, num_features) -> scores (N, num_kinds)."""
        return self.net((features - self.feature_mean) / self.feature_std)

    @torch.no_grad()
    def classify(self, features: np.ndarray) -> list[tuple[str, float]]:
        """features: (N, num_features) -> [(kind, softmax of the scores)] * N."""
        if len(features) == 0:
            return []
        probs = torch.softmax(self(torch.from_numpy(np.asarray(features, dtype=np.float32))), dim=-1)
        best = probs.argmax(dim=-1)
        return [(self.kinds[int(i)], float(probs[n, i])) for n, i in enumerate(best)]

    def save(self, path: str | Path) -> None:
        save_file(
            {k: v.contiguous() for k, v in self.state_dict().items()},
            str(path),
            metadata={"kinds": ",".join(self.kinds)},
        )

    @classmethod
    def load(cls, path: str | Path) -> EventClassifier:
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as f:
            kinds = tuple(f.metadata()["kinds"].split(","))
        state = load_file(str(path))
        model = cls(num_features=state["net.weight"].shape[1], kinds=kinds)
        model.load_state_dict(state)
        return model


def render_isolated_event(
    kind: str, rng: np.random.Generator, sample_rate: int, *, lead_s: float | None = None,
    num_samples: int | None = None,
) -> tuple[np.ndarray, float, float]:
    """One event of `kind` (random variation) over a random quiet background: (clip (S,), onset s, duration s).
    `lead_s`: the onset (default: random in 0.2-0.4 s); `num_samples`: the clip length (default: the
    event plus 0.4 s; a longer event is cut at the end)."""
    sound = sample_event_sound(kind, rng)
    lead_s = float(rng.uniform(0.2, 0.4)) if lead_s is None else lead_s
    if num_samples is None:
        num_samples = round((lead_s + sound.duration_s + 0.4) * sample_rate)
    background = BACKGROUNDS[int(rng.integers(len(BACKGROUNDS)))]
    clip = render_background(
        background,
        float(rng.uniform(-52.0, -40.0)),
        int(rng.integers(2**31 - 1)),
        num_samples,
        sample_rate,
        1,
    )[0]
    start = round(lead_s * sample_rate)
    wave = render_event(sound, sample_rate)[: max(0, num_samples - start)]
    clip[start : start + wave.size] += wave
    return clip, lead_s, sound.duration_s


def _training_example(kind: str, rng: np.random.Generator, sample_rate: int) -> tuple[np.ndarray, float]:
    """Features of one isolated event over a random background, and its onset error in seconds."""
    clip, lead_s, duration_s = render_isolated_event(kind, rng, sample_rate)
    spec = analyse_spectrum(clip, sample_rate)
    segments = detect_segments(spec)
    if not segments:
        first = round(lead_s / spec.hop_s)
        return segment_features(spec, first, first + round(duration_s / spec.hop_s)), 0.0
    seg = min(segments, key=lambda s: abs(s.onset_s - lead_s))
    return segment_features(spec, seg.start, seg.end), seg.onset_s - lead_s


def train_event_classifier(
    *,
    seed: int = 0,
    per_kind: int = 40,
    sample_rate: int = 16000,
    ridge_per_example: float = 0.5,
    kinds: tuple[str, ...] = EVENT_KINDS,
) -> EventClassifier:
    """Render `per_kind` isolated events of every kind (seeded) and fit the classifier on them."""
    rng = np.random.default_rng(seed)
    examples = [
        (_training_example(kind, rng, sample_rate), label)
        for label, kind in enumerate(kinds)
        for _ in range(per_kind)
    ]
    features = np.stack([ex[0][0] for ex in examples]).astype(np.float64)  # (N, D)
    mean, std = features.mean(axis=0), np.maximum(features.std(axis=0), 1e-4)
    design = np.concatenate([(features - mean) / std, np.ones((len(features), 1))], axis=1)  # (N, D + 1)
    targets = 2.0 * np.eye(len(kinds))[[ex[1] for ex in examples]] - 1.0  # (N, K)
    ridge = ridge_per_example * len(features) * np.eye(design.shape[1])
    ridge[-1, -1] = 0.0  # the bias is not shrunk
    weights = np.linalg.solve(design.T @ design + ridge, design.T @ targets)  # (D + 1, K)
    model = EventClassifier(num_features=features.shape[1], kinds=kinds)
    with torch.no_grad():
        model.feature_mean.copy_(torch.from_numpy(mean))
        model.feature_std.copy_(torch.from_numpy(std))
        model.net.weight.copy_(torch.from_numpy(weights[:-1].T))
        model.net.bias.copy_(torch.from_numpy(weights[-1]))
        model.onset_bias_s.fill_(-float(np.median([ex[0][1] for ex in examples])))
    return model.eval()
