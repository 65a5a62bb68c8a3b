"""An analyser of audio (and video) that is independent of the generator, and the benchmark report.

`Analyser.detect_events` finds event segments (energy + spectral flux, `onsets.py`) and names each
with the small `EventClassifier`; `estimate_tempo` / `estimate_key` come from `tonal.py`;
`detect_video_onsets` finds frames where the picture brightens. `evaluate_items` turns items shaped
like `audiox.synth` dataset items ({audio, sample_rate, labels, video?, video_fps?}) into a report:
Cat/Cnt/Ord/TS (scenes), V2A onset sync error in ms (items with video: for each video onset, the
distance to the nearest detected audio onset, capped at 1 s), tempo accuracy (within 4 %; also up to
a factor 2) and key accuracy (tonic and mode) for music.

    python -m audiox.evaluation.analyser --num 40 --sample-rate 16000   # truth vs noise vs random guess
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import torch

from audiox.evaluation.event_classifier import EventClassifier, segment_features, train_event_classifier
from audiox.evaluation.instruction import InstructionScores, KindTally, score_instruction, tally_kinds
from audiox.evaluation.onsets import Spectrogram, analyse_spectrum, detect_onsets, detect_segments
from audiox.evaluation.tonal import estimate_key, estimate_tempo
from audiox.synth.labels import MusicLabels, SceneLabels

SYNC_CAP_S = 1.0


@dataclass(frozen=True, slots=True)
class DetectedEvent:
    kind: str
    onset_s: float
    offset_s: float
    confidence: float


def detect_video_onsets(frames: torch.Tensor, fps: float, *, min_rise: float = 0.3) -> np.ndarray:
    """frames: uint8 (F, 3, H, W) -> (N,) seconds of frames where the mean brightening peaks."""
    brightness = frames.float().mean(dim=1)  # (F, H, W)
    rise = torch.clamp(brightness[1:] - brightness[:-1], min=0).mean(dim=(1, 2)).numpy()
    rise = np.concatenate([[0.0], rise])
    threshold = max(min_rise, 0.2 * float(rise.max()))
    onsets, last = [], -2
    for f in range(1, rise.size):
        right = rise[f + 1] if f + 1 < rise.size else -1.0
        if rise[f] >= threshold and rise[f] >= rise[f - 1] and rise[f] > right and f - last >= 2:
            onsets.append(f / fps)
            last = f
    return np.array(onsets)


def sync_error_ms(
    video_onsets_s: np.ndarray, audio_onsets_s: np.ndarray, *, cap_s: float = SYNC_CAP_S
) -> float:
    """Mean over video onsets of the distance to the nearest audio onset, capped, in ms.

    nan when there are no video onsets; the cap when there are no audio onsets."""
    if len(video_onsets_s) == 0:
        return float("nan")
    if len(audio_onsets_s) == 0:
        return 1000.0 * cap_s
    distances = np.abs(np.asarray(video_onsets_s)[:, None] - np.asarray(audio_onsets_s)[None, :]).min(axis=1)
    return float(1000.0 * np.minimum(distances, cap_s).mean())


class Analyser:
    """Event detection + classification, tempo and key estimation for audio at any sample rate."""

    def __init__(self, classifier: EventClassifier) -> None:
        self.classifier = classifier

    @classmethod
    def trained(cls, *, seed: int = 0, per_kind: int = 40) -> Analyser:
        """Train the event classifier on isolated rendered events (deterministic in seed)."""
        return cls(train_event_classifier(seed=seed, per_kind=per_kind))

    def detect_events(self, audio, sample_rate: int) -> list[DetectedEvent]:
        """audio: (C, S) or (S,) -> events in time order."""
        return self.events_in(analyse_spectrum(audio, sample_rate))

    def events_in(self, spec: Spectrogram) -> list[DetectedEvent]:
        """Events in time order of an `analyse_spectrum` spectrogram."""
        segments = detect_segments(spec, onset_bias_s=float(self.classifier.onset_bias_s))
        if not segments:
            return []
        features = np.stack([segment_features(spec, s.start, s.end) for s in segments])
        named = self.classifier.classify(features)
        return [
            DetectedEvent(kind=kind, onset_s=s.onset_s, offset_s=s.end * spec.hop_s, confidence=p)
            for s, (kind, p) in zip(segments, named)
        ]

    def audio_onsets(self, audio, sample_rate: int) -> np.ndarray:
        """(N,) sorted onset times in seconds: spectral-flux peaks plus event-segment onsets (which catch
        soft attacks next to loud ones)."""
        spec, bias = analyse_spectrum(audio, sample_rate), float(self.classifier.onset_bias_s)
        peaks = detect_onsets(spec, onset_bias_s=bias)
        starts = np.array([s.onset_s for s in detect_segments(spec, onset_bias_s=bias)])
        return np.sort(np.concatenate([peaks, starts]))

    def estimate_tempo(self, audio, sample_rate: int) -> float:
        return estimate_tempo(analyse_spectrum(audio, sample_rate))

    def estimate_key(self, audio, sample_rate: int) -> tuple[str, str]:
        return estimate_key(audio, sample_rate)


@dataclass(frozen=True, kw_only=True, slots=True)
class EvaluationReport:
    instruction: InstructionScores | None
    sync_error_ms: float
    num_videos: int
    tempo_accuracy: float
    tempo_accuracy_octave: float
    key_accuracy: float
    num_music: int
    kinds: dict[str, KindTally] = field(default_factory=dict)  # scene items: per-kind tally (`tally_kinds`)

    def line(self) -> str:
        parts = []
        if self.instruction is not None:
            s = self.instruction
            parts.append(
                f"Cat {100 * s.category:.1f}% Cnt {100 * s.count:.1f}% Ord {100 * s.order:.1f}% "
                f"TS {100 * s.timestamp:.1f}% (n={s.num_samples})"
            )
        if self.num_videos:
            parts.append(f"sync {self.sync_error_ms:.1f} ms (n={self.num_videos})")
        if self.num_music:
            parts.append(
                f"tempo {100 * self.tempo_accuracy:.1f}% (x2 {100 * self.tempo_accuracy_octave:.1f}%) "
                f"key {100 * self.key_accuracy:.1f}% (n={self.num_music})"
            )
        return " | ".join(parts)


def _tempo_hit(estimate: float, truth: float, factors=(1.0,)) -> bool:
    return any(abs(estimate - truth * f) <= 0.04 * truth * f for f in factors)


def evaluate_items(analyser: Analyser, items: Iterable[dict]) -> EvaluationReport:
    """Report over items {audio (C, S), sample_rate, labels, [video (F, 3, H, W), video_fps]}."""
    predicted, reference, syncs, tempo, tempo2, key = [], [], [], [], [], []
    for item in items:
        audio, rate, labels = item["audio"], item["sample_rate"], item["labels"]
        if isinstance(labels, SceneLabels):
            predicted.append(analyser.detect_events(audio, rate))
            reference.append(list(labels.events))
        elif isinstance(labels, MusicLabels):
            bpm = analyser.estimate_tempo(audio, rate)
            tempo.append(_tempo_hit(bpm, labels.tempo_bpm))
            tempo2.append(_tempo_hit(bpm, labels.tempo_bpm, (0.5, 1.0, 2.0)))
            key.append(analyser.estimate_key(audio, rate) == (labels.key, labels.mode))
        if "video" in item:
            error = sync_error_ms(
                detect_video_onsets(item["video"], item["video_fps"]), analyser.audio_onsets(audio, rate)
            )
            if not np.isnan(error):
                syncs.append(error)
    return EvaluationReport(
        instruction=score_instruction(predicted, reference) if reference else None,
        sync_error_ms=float(np.mean(syncs)) if syncs else float("nan"),
        num_videos=len(syncs),
        tempo_accuracy=float(np.mean(tempo)) if tempo else float("nan"),
        tempo_accuracy_octave=float(np.mean(tempo2)) if tempo2 else float("nan"),
        key_accuracy=float(np.mean(key)) if key else float("nan"),
        num_music=len(key),
        kinds=tally_kinds(predicted, reference),
    )


def _noise_items(items: list[dict], seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        {
            **item,
            "audio": torch.from_numpy((0.1 * rng.standard_normal(item["audio"].shape)).astype(np.float32)),
        }
        for item in items
    ]


def main(argv: list[str] | None = None) -> None:
    """Print the analyser's scores on ground-truth renders, on white noise, and for random guesses."""
    from audiox.synth.dataset import SynthConfig, render_item
    from audiox.synth.scenes import sample_scene

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--num", type=int, default=40)
    parser.add_argument("--sample-rate", type=int, default=16000)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--fps", type=float, default=25.0)
    args = parser.parse_args(argv)
    cfg = SynthConfig(
        seed=args.seed,
        sample_rate=args.sample_rate,
        video_fps=args.fps,
        video_height=64,
        video_width=64,
        with_image=False,
    )
    items = [render_item(cfg, i) for i in range(args.num)]
    analyser = Analyser.trained()
    print("truth :", evaluate_items(analyser, items).line())
    print("noise :", evaluate_items(analyser, _noise_items(items, args.seed)).line())
    scenes = [it["labels"] for it in items if isinstance(it["labels"], SceneLabels)]
    rng = np.random.default_rng(args.seed + 1)
    guesses = [list(sample_scene(rng, duration_s=cfg.duration_s).events) for _ in scenes]
    print("random:", score_instruction(guesses, [list(s.events) for s in scenes]))


if __name__ == "__main__":
    main()
