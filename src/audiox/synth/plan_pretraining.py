"""Training the own model's caption planner (`conditioning.caption_planner`) on the synthetic world.

Every world caption comes with the labels it was written from, so the timeline a caption asks for is known
exactly: per time slot of the 10 s window, for each event kind whether one sounds in the slot ("active")
and whether one starts in it ("onset"), and whether the clip is music. The planner learns to predict that
timeline from the frozen T5's states with a binary cross-entropy, on fresh captions of every style; the
T5 is not changed. For captions without times the best prediction is the spread of where such events fall,
and that is what the planner learns there.

Channels (`plan_channels` = 2 K + 1, K = len(EVENT_KINDS)): [active per kind | onset per kind | music].
Shapes: targets (N, slots, channels) float 0/1; hidden (B, T, E); plan (B, slots, channels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from audiox.synth.events import EVENT_KINDS
from audiox.synth.labels import MusicLabels, SceneLabels

PLAN_CHANNELS = 2 * len(EVENT_KINDS) + 1
WINDOW_S = 10.0


@dataclass(frozen=True, slots=True)
class PlanCorpus:
    """Captions and the timelines they ask for, targets (N, slots, PLAN_CHANNELS)."""

    captions: list[str]
    targets: Tensor


def timeline(labels: SceneLabels | MusicLabels, slots: int, window_s: float = WINDOW_S) -> np.ndarray:
    """The timeline of one clip's labels: (slots, PLAN_CHANNELS) float32 0/1 (module docstring)."""
    out = np.zeros((slots, PLAN_CHANNELS), dtype=np.float32)
    if isinstance(labels, MusicLabels):
        out[:, -1] = 1.0
        return out
    k, dt = len(EVENT_KINDS), window_s / slots
    for event in labels.events:
        kind = EVENT_KINDS.index(event.kind)
        first = min(slots - 1, max(0, int(event.onset_s / dt)))
        last = min(slots - 1, max(first, int(np.ceil(event.offset_s / dt)) - 1))
        out[first : last + 1, kind] = 1.0
        out[first, k + kind] = 1.0
    return out


def plan_corpus(n: int, seed: int, slots: int, *, music_prob: float = 0.25) -> PlanCorpus:
    """`n` captions of random world scenes and music pieces (every caption style) with their timelines."""
    from audiox.synth.captions import compose_caption
    from audiox.synth.music import sample_music
    from audiox.synth.scenes import sample_scene

    rng = np.random.default_rng(seed)
    captions, targets = [], []
    for _ in range(n):
        labels = sample_music(rng) if rng.random() < music_prob else sample_scene(rng)
        captions.append(compose_caption(labels, rng))
        targets.append(timeline(labels, slots))
    return PlanCorpus(captions, torch.from_numpy(np.stack(targets)))


@torch.no_grad()
def caption_states(encoder: object, captions: list[str], max_length: int) -> tuple[Tensor, Tensor]:
    """The frozen T5's states: captions -> (hidden (B, T, E) float32, mask (B, T) bool), padded to the
    longest caption (the planner's attention ignores padding, so the length of padding does not matter)."""
    tokens = encoder.tokenizer(captions, truncation=True, max_length=max_length, padding="longest",
                               return_tensors="pt")
    model = encoder.model
    ids, mask = tokens["input_ids"], tokens["attention_mask"]
    hidden = model(input_ids=ids, attention_mask=mask)["last_hidden_state"]
    return hidden.float(), mask.bool()


def pretrain_planner(conditioner: object, *, steps: int = 1500, batch: int = 64, lr: float = 1e-3,
                     corpus: int = 8000, seed: int = 0, progress: bool = False) -> list[float]:
    """Train `conditioner.planner` in place (the T5 stays frozen) on a world caption corpus; returns the
    loss per step. The planner is left in eval mode with gradients off."""
    from audiox.synth.pretrain_loop import train_steps

    planner, encoder = conditioner.planner, conditioner.text_encoder
    data = plan_corpus(corpus, seed, planner.slots)
    planner.float().train().requires_grad_(True)

    def batch_loss(gen: torch.Generator) -> Tensor:
        rows = torch.randint(0, corpus, (batch,), generator=gen)
        hidden, mask = caption_states(encoder, [data.captions[i] for i in rows.tolist()], conditioner.max_length)
        return F.binary_cross_entropy_with_logits(planner(hidden, mask), data.targets[rows])

    log = train_steps(planner.parameters(), batch_loss, steps=steps, lr=lr, seed=seed, desc="caption planner",
                      progress=progress)
    planner.eval().requires_grad_(False)
    return log


@torch.no_grad()
def plan_scores(conditioner: object, *, n: int = 512, seed: int = 1) -> dict[str, float]:
    """Held-out quality of the planner on `n` fresh captions: `loss` (BCE), `kinds` (Jaccard of the kinds
    whose activity exceeds 0.5 anywhere vs the asked kinds, scenes only), `active_slots` (F1 of active
    slot x kind cells at 0.5, scenes only: high only where the caption says when)."""
    planner = conditioner.planner
    data = plan_corpus(n, seed, planner.slots)
    logits = torch.cat([planner(*caption_states(conditioner.text_encoder, data.captions[i : i + 128],
                                                conditioner.max_length))
                        for i in range(0, n, 128)])
    loss = float(F.binary_cross_entropy_with_logits(logits, data.targets))
    k = len(EVENT_KINDS)
    scene = data.targets[:, 0, -1] < 0.5
    active, truth = torch.sigmoid(logits[scene, :, :k]) > 0.5, data.targets[scene, :, :k] > 0.5
    pred_kinds, true_kinds = active.any(1), truth.any(1)
    jaccard = (pred_kinds & true_kinds).sum(1) / (pred_kinds | true_kinds).sum(1).clamp_min(1)
    tp, fp, fn = (active & truth).sum(), (active & ~truth).sum(), (~active & truth).sum()
    return {"loss": loss, "kinds": float(jaccard.float().mean()), "active_slots": float(2 * tp / (2 * tp + fp + fn))}
