"""A concrete timeline from the caption planner's expected one (own model, `plan_concrete` of the t5 conditioner).

The planner (`conditioning.caption_planner`) predicts, per time slot, the probability that each kind sounds
("active") and starts ("onset"). For a caption without times that is a spread over where the events may
fall. A model trained on true timelines (`synth.plan_truth`) wants a definite one: these events, here. This
turns the expectation into one, deterministically (no random draw: the generation's seed still varies the
sound):

- music (mean music probability > 0.5): the music channel everywhere, no events;
- a kind is asked when its expected number of onsets (sum over slots) is >= 0.5, or it is surely active
  somewhere (max active >= 0.5); its count is that expectation rounded (at least 1), its length in slots
  the expected active slots per event (at least 1);
- kinds are laid out in the order of their expected onset times; the i-th of c events of a kind starts at
  the (i + 1/2) / c quantile of its onset distribution, kept to slots after the previous kind's last event
  while enough of that distribution (a fifth) lies there, and never overlapping its own earlier events.

Shapes: soft, out (B, slots, 2 K + 1) with channels [active per kind | onset per kind | music], K kinds.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _quantile_slots(weights: Tensor, count: int) -> list[int]:
    """Slots at the (i + 1/2) / count quantiles of `weights` (S,) >= 0 (uniform when it sums to 0)."""
    total = float(weights.sum())
    if total <= 0:
        weights, total = torch.ones_like(weights), float(weights.numel())
    cdf = torch.cumsum(weights, 0) / total
    targets = (torch.arange(count, dtype=cdf.dtype) + 0.5) / count
    return torch.searchsorted(cdf, targets).clamp(max=weights.numel() - 1).tolist()


def concrete_plan(soft: Tensor, *, present: float = 0.5) -> Tensor:
    """soft (B, S, 2K+1) in [0, 1] -> a 0/1 timeline of the same shape (module docstring)."""
    slots, channels = soft.shape[1], soft.shape[2]
    kinds = (channels - 1) // 2
    out = torch.zeros_like(soft)
    for b, plan in enumerate(soft.detach().float().cpu()):
        if float(plan[:, -1].mean()) > 0.5:
            out[b, :, -1] = 1.0
            continue
        active, onset = plan[:, :kinds], plan[:, kinds : 2 * kinds]  # (S, K) each
        expected = onset.sum(0)  # (K,) expected onsets per kind
        asked = [k for k in range(kinds) if expected[k] >= present or active[:, k].max() >= 0.5]
        position = torch.arange(slots, dtype=plan.dtype)
        mean_onset = {k: float((onset[:, k] * position).sum() / onset[:, k].sum().clamp_min(1e-6)) for k in asked}
        cursor = 0
        for k in sorted(asked, key=mean_onset.get):
            count = max(1, round(float(expected[k])))
            length = max(1, round(float(active[:, k].sum()) / max(float(expected[k]), 1.0)))
            weights = onset[:, k].clone()
            if float(weights[cursor:].sum()) >= 0.2 * float(weights.sum()):
                weights[:cursor] = 0.0
            starts, last_end = [], -1
            for s in _quantile_slots(weights, count):
                s = max(s, last_end + 1)
                if s >= slots:
                    break
                starts.append(s)
                last_end = s + length - 1
            for s in starts:
                out[b, s : s + length, k] = 1.0
                out[b, s, kinds + k] = 1.0
            if starts:
                cursor = max(cursor, min(slots - 1, last_end + 1))
    return out.to(soft.device)
