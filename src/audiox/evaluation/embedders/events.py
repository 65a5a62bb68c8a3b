"""The built-in embedder: audiox's own event analyser (`audiox.evaluation.analyser`), no download.

Made for the synthetic world (`audiox.synth`): its classifier knows the world's event kinds, trained in
a few seconds on rendered isolated events (deterministic in the seed). At 16 kHz, per clip:
  "frames": (F, 152) the classifier's standardised input features of each 1 s window (hop 1 s; a clip
            shorter than 1 s is one window) -> FAD,
  "clip":   (162,) the standardised features of the whole clip, then the clip logits -> FD,
  "logits": (K,) per event kind, the highest classifier score over the detected event segments
            (the whole clip's score when no segment is found), times LOGIT_SCALE -> KL, IS.
The classifier's scores are ridge-regression outputs near +-1; LOGIT_SCALE = 5 makes them logit-like
(an isolated rendered event gets about 0.96 of the softmax mass, every kind right, measured on 50).
Figures from this embedder are comparable only with figures from the same embedder (name + sha256).
"""

from __future__ import annotations

import numpy as np
import torch

from audiox.errors import InputError
from audiox.evaluation.analyser import Analyser
from audiox.evaluation.embedders.base import EmbedderInfo, state_dict_sha256
from audiox.evaluation.event_classifier import segment_features
from audiox.evaluation.onsets import Spectrogram, analyse_spectrum, detect_segments

EVENTS_SAMPLE_RATE = 16000
LOGIT_SCALE = 5.0
WINDOW_S = 1.0


class EventsEmbedder:
    """Features and event-kind logits from the analyser's classifier (see the module docstring)."""

    def __init__(self, analyser: Analyser) -> None:
        self.analyser = analyser
        classifier = analyser.classifier
        self.info = EmbedderInfo(
            name="events",
            sample_rate=EVENTS_SAMPLE_RATE,
            checkpoint=None,
            sha256=state_dict_sha256(classifier.state_dict()),
            version=1,
        )

    @classmethod
    def trained(cls, *, seed: int = 0) -> EventsEmbedder:
        return cls(Analyser.trained(seed=seed))

    def _standardised(self, features: np.ndarray) -> np.ndarray:
        """(N, 152) raw features -> (N, 152) float64, standardised as the classifier sees them."""
        c = self.analyser.classifier
        return (features - c.feature_mean.numpy()) / c.feature_std.numpy()

    @torch.no_grad()
    def _logits(self, spec: Spectrogram, whole: np.ndarray) -> np.ndarray:
        """(K,) highest score per kind over the detected segments (or of the whole clip), scaled."""
        classifier = self.analyser.classifier
        segments = detect_segments(spec, onset_bias_s=float(classifier.onset_bias_s))
        features = np.stack([segment_features(spec, s.start, s.end) for s in segments]) if segments else whole
        scores = classifier(torch.from_numpy(np.asarray(features, dtype=np.float32)))  # (N, K)
        return LOGIT_SCALE * scores.max(dim=0).values.double().numpy()

    def embed(self, audio: torch.Tensor) -> dict[str, np.ndarray]:
        """audio: (S,) mono at 16 kHz -> {"frames": (F, 152), "clip": (162,), "logits": (K,)}."""
        spec = analyse_spectrum(audio, EVENTS_SAMPLE_RATE)
        num_frames = spec.log_mel.shape[1]
        window = max(1, round(WINDOW_S / spec.hop_s))
        starts = range(0, max(1, num_frames - window + 1), window)
        frames = np.stack([segment_features(spec, s, min(s + window, num_frames)) for s in starts])
        whole = segment_features(spec, 0, num_frames)[None]  # (1, 152)
        logits = self._logits(spec, whole)
        clip = np.concatenate([self._standardised(whole)[0], logits])
        return {"frames": self._standardised(frames), "clip": clip, "logits": logits}


def load_events(path, *, device: str = "cpu") -> EventsEmbedder:
    """The built-in embedder; it has no weight file (`--embedder events`, or the default)."""
    if path is not None:
        raise InputError(
            f"--embedder events={path}: the built-in embedder takes no file; pass --embedder events"
        )
    return EventsEmbedder.trained()
