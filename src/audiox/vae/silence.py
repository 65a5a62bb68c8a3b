"""The VAE encoder's output for silence, remembered per model.

A text-only request still feeds the audio conditioner 10 s of silence, and its VAE encoder output is the
same every time (the random part, the posterior sample, is drawn afterwards and stays per call). The memo
keeps that output per input shape, dtype, device and autocast state, and forgets it as soon as any weight of
the encoder changes (in place: an optimiser step or `load_state_dict`; replaced: an assigning load; or its
storage swapped: `.to(dtype)`), so it never hands out a stale result. It is bypassed while autograd records (training).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any

import torch

MAX_ENTRIES = 4  # distinct shapes kept (batch sizes, window lengths); the oldest is dropped


class SilenceMemo:
    """`features(shape, fn)`: fn(zeros(shape)) computed once while the watched tensors are unchanged."""

    def __init__(self) -> None:
        self._entries: dict[tuple, tuple[list[Stamp], torch.Tensor]] = {}

    def features(
        self,
        shape: tuple[int, ...],
        *,
        device: torch.device,
        dtype: torch.dtype,
        weights: Iterable[torch.Tensor],
        encode: Callable[[torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """encode(zeros(shape)) for audio (B, C, S) of silence -> the encoder output, from the memo when the
        `weights` (the encoder's parameters and buffers) are the same tensors, unchanged, as last time."""
        silence = torch.zeros(shape, device=device, dtype=dtype)
        if torch.is_grad_enabled():
            return encode(silence)
        weights = list(weights)
        key = (tuple(shape), dtype, str(device), *_autocast_state(device))
        entry = self._entries.get(key)
        if entry is not None and _unchanged(entry[0], weights):
            return entry[1]
        out = encode(silence)
        stamps = _stamps(weights)
        if stamps is not None:
            self._entries.pop(key, None)
            self._entries[key] = (stamps, out)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.pop(next(iter(self._entries)))
        return out

    def clear(self) -> None:
        self._entries.clear()

    def __getstate__(self) -> dict[str, Any]:
        return {"_entries": {}}  # weak references do not pickle; a copy starts empty


def _autocast_state(device: torch.device) -> tuple[bool, torch.dtype]:
    kind = torch.device(device).type
    return torch.is_autocast_enabled(kind), torch.get_autocast_dtype(kind)


Stamp = tuple[weakref.ref, tuple]


def _state(w: torch.Tensor) -> tuple:
    """What changes when a tensor's values may have: its version counter (in-place writes), and its storage,
    dtype and device (`.data` swaps, as `module.to(dtype)` does, keep the object and the counter)."""
    return (w._version, w.data_ptr(), w.dtype, w.device, tuple(w.shape))


def _stamps(weights: list[torch.Tensor]) -> list[Stamp] | None:
    """(weak reference, state) per tensor; None for tensors without a version counter (inference-mode
    tensors), which the memo then never trusts."""
    try:
        return [(weakref.ref(w), _state(w)) for w in weights]
    except RuntimeError:
        return None


def _unchanged(stamps: list[Stamp], weights: list[torch.Tensor]) -> bool:
    if len(stamps) != len(weights):
        return False
    try:
        return all(ref() is w and state == _state(w) for (ref, state), w in zip(stamps, weights))
    except RuntimeError:
        return False
