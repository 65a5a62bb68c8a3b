"""What a VAE does to each event kind: isolated events through `reconstruct`, classified by the analyser.

For every kind, `per_kind` events (random variation, quiet random background, onset at `LEAD_S` in a
`CLIP_S` clip) are rendered; the analyser's event nearest the onset (within `MATCH_S`) is taken as what is
heard, on the clean clip and on its reconstruction. Per kind it reports how often each is heard as that kind,
what the reconstruction is heard as instead, and the mean log-mel difference (reconstruction - clean, dB)
over the event's first second in `BAND_GROUPS` groups of mel bands (low to high): where the VAE adds or
loses energy. `audiox bench --reconstruct` gives the scene-level ceiling; this says which kinds set it.

    python benchmarks/vae_events.py --model runs/own/model --per-kind 10
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from audiox.evaluation.analyser import Analyser
from audiox.evaluation.event_classifier import render_isolated_event
from audiox.evaluation.onsets import Spectrogram, analyse_spectrum
from audiox.synth.events import EVENT_KINDS

LEAD_S = 0.5
CLIP_S = 2.0
MATCH_S = 0.15
BAND_GROUPS = 8
MISSED = "-"


@dataclass(frozen=True, kw_only=True, slots=True)
class KindFidelity:
    kind: str
    num: int
    clean_right: int  # clean clips heard as `kind`
    recon_right: int  # reconstructions heard as `kind`
    recon_heard_as: dict[str, int]  # what the reconstructions were heard as (MISSED: no event near the onset)
    band_db: tuple[float, ...]  # (BAND_GROUPS,) mean log-mel change in dB, low to high bands

    def line(self) -> str:
        heard = ", ".join(f"{k} {n}" for k, n in sorted(self.recon_heard_as.items(), key=lambda t: -t[1]))
        bands = " ".join(f"{v:+.1f}" for v in self.band_db)
        return (f"{self.kind:8s} clean {self.clean_right}/{self.num}  recon {self.recon_right}/{self.num}  "
                f"(heard as: {heard})  dB by band group: {bands}")


def _heard(analyser: Analyser, spec: Spectrogram, onset_s: float) -> str:
    events = [e for e in analyser.events_in(spec) if abs(e.onset_s - onset_s) <= MATCH_S]
    return min(events, key=lambda e: abs(e.onset_s - onset_s)).kind if events else MISSED


def event_fidelity(
    reconstruct: Callable[[torch.Tensor], torch.Tensor], analyser: Analyser, *, sample_rate: int,
    per_kind: int = 10, seed: int = 0, kinds: tuple[str, ...] = EVENT_KINDS,
) -> list[KindFidelity]:
    """reconstruct: audio (B, 1, S) -> (B, C, S) (e.g. `AudioX.reconstruct`); one `KindFidelity` per kind."""
    if per_kind < 1:
        raise ValueError(f"per_kind={per_kind} must be >= 1")
    rng = np.random.default_rng([seed, 7])
    num_samples = round(CLIP_S * sample_rate)
    results = []
    for kind in kinds:
        clean_right, heard_as, diffs = 0, Counter(), []
        for _ in range(per_kind):
            clip, onset_s, duration_s = render_isolated_event(kind, rng, sample_rate, lead_s=LEAD_S,
                                                              num_samples=num_samples)
            clip = np.clip(clip, -1.0, 1.0).astype(np.float32)
            recon = reconstruct(torch.from_numpy(clip)[None, None])[0].float().mean(dim=0).numpy()  # (S,)
            clean, rec = analyse_spectrum(clip, sample_rate), analyse_spectrum(recon, sample_rate)
            clean_right += _heard(analyser, clean, onset_s) == kind
            heard_as[_heard(analyser, rec, onset_s)] += 1
            start = round(onset_s / clean.hop_s)
            end = max(start + 1, round((onset_s + min(duration_s, 1.0)) / clean.hop_s))
            diffs.append((rec.log_mel[:, start:end] - clean.log_mel[:, start:end]).mean(axis=1))
        bands = np.mean(diffs, axis=0)
        groups = np.array_split(bands, BAND_GROUPS)
        results.append(KindFidelity(
            kind=kind, num=per_kind, clean_right=clean_right, recon_right=heard_as[kind],
            recon_heard_as=dict(heard_as), band_db=tuple(float(g.mean()) for g in groups),
        ))
    return results
