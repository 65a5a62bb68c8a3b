"""Instruction-following scores from predicted vs reference event lists: Cat / Cnt / Ord / TS.

Per sample (each in [0, 1], averaged over samples by `score_instruction`):
    category   Jaccard overlap of the predicted and reference kind sets (both empty -> 1).
    count      fraction of reference kinds predicted exactly as many times as in the reference
               (empty reference: 1 when nothing is predicted, else 0).
    order      1 when the predicted kinds, in order of first appearance and restricted to the reference
               kinds, equal the reference kinds in order of first appearance (a missing kind fails).
    timestamp  one-to-one matches (same kind, |onset error| <= tolerance_s, closest pairs first)
               divided by max(#reference, #predicted) events, so extra events cost as much as missed ones.
Events are anything with `.kind` and `.onset_s` (EventLabel, DetectedEvent, ...).

`tally_kinds` says which kinds a generator gets wrong: per kind, how many samples asked for it, in how
many of those it was heard, and in how many it was heard without being asked for.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from audiox.errors import InputError


class EventLike(Protocol):
    kind: str
    onset_s: float


@dataclass(frozen=True, kw_only=True, slots=True)
class InstructionScores:
    category: float
    count: float
    order: float
    timestamp: float
    num_samples: int = 1


def kinds_in_order(events: Sequence[EventLike]) -> list[str]:
    """Distinct kinds in order of first onset."""
    return list(dict.fromkeys(e.kind for e in sorted(events, key=lambda e: e.onset_s)))


def _category(pred: list[str], ref: list[str]) -> float:
    union = set(pred) | set(ref)
    return 1.0 if not union else len(set(pred) & set(ref)) / len(union)


def _count(predicted: Sequence[EventLike], reference: Sequence[EventLike]) -> float:
    ref_counts, pred_counts = Counter(e.kind for e in reference), Counter(e.kind for e in predicted)
    if not ref_counts:
        return float(not pred_counts)
    return sum(pred_counts[k] == n for k, n in ref_counts.items()) / len(ref_counts)


def _order(pred: list[str], ref: list[str]) -> float:
    return float([k for k in pred if k in set(ref)] == ref)


def _timestamp(predicted: Sequence[EventLike], reference: Sequence[EventLike], tolerance_s: float) -> float:
    if not predicted and not reference:
        return 1.0
    pairs = sorted(
        (abs(p.onset_s - r.onset_s), i, j)
        for i, p in enumerate(predicted)
        for j, r in enumerate(reference)
        if p.kind == r.kind and abs(p.onset_s - r.onset_s) <= tolerance_s
    )
    used_pred, used_ref = set(), set()
    for _, i, j in pairs:
        if i not in used_pred and j not in used_ref:
            used_pred.add(i)
            used_ref.add(j)
    return len(used_ref) / max(len(predicted), len(reference))


def score_sample(
    predicted: Sequence[EventLike], reference: Sequence[EventLike], *, tolerance_s: float = 0.25
) -> InstructionScores:
    """Cat / Cnt / Ord / TS of one sample."""
    pred_kinds, ref_kinds = kinds_in_order(predicted), kinds_in_order(reference)
    return InstructionScores(
        category=_category(pred_kinds, ref_kinds),
        count=_count(predicted, reference),
        order=_order(pred_kinds, ref_kinds),
        timestamp=_timestamp(predicted, reference, tolerance_s),
    )


def score_instruction(
    predicted: Sequence[Sequence[EventLike]],
    reference: Sequence[Sequence[EventLike]],
    *,
    tolerance_s: float = 0.25,
) -> InstructionScores:
    """Mean Cat / Cnt / Ord / TS over samples (lists aligned by position)."""
    if len(predicted) != len(reference) or not reference:
        raise InputError(f"{len(predicted)=} and {len(reference)=} must be equal and > 0")
    scores = [score_sample(p, r, tolerance_s=tolerance_s) for p, r in zip(predicted, reference)]
    n = len(scores)
    return InstructionScores(
        category=sum(s.category for s in scores) / n,
        count=sum(s.count for s in scores) / n,
        order=sum(s.order for s in scores) / n,
        timestamp=sum(s.timestamp for s in scores) / n,
        num_samples=n,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class KindTally:
    """One kind over a set of samples: `requested` samples whose reference has it, `heard` of those where it
    was predicted, `unrequested` samples where it was predicted but not in the reference."""

    requested: int = 0
    heard: int = 0
    unrequested: int = 0


def tally_kinds(
    predicted: Sequence[Sequence[EventLike]], reference: Sequence[Sequence[EventLike]]
) -> dict[str, KindTally]:
    """{kind: KindTally} over samples (lists aligned by position), kinds sorted by name."""
    if len(predicted) != len(reference):
        raise InputError(f"{len(predicted)=} and {len(reference)=} must be equal")
    counts: dict[str, list[int]] = {}
    for pred, ref in zip(predicted, reference):
        pred_kinds, ref_kinds = {e.kind for e in pred}, {e.kind for e in ref}
        for kind in pred_kinds | ref_kinds:
            row = counts.setdefault(kind, [0, 0, 0])
            row[0] += kind in ref_kinds
            row[1] += kind in ref_kinds and kind in pred_kinds
            row[2] += kind in pred_kinds and kind not in ref_kinds
    return {k: KindTally(requested=r, heard=h, unrequested=u) for k, (r, h, u) in sorted(counts.items())}
