"""The VAE encoder's output for silence, remembered per model.

A text-only request still feeds the audio conditioner 10 s of silence, and its VAE encoder output is the
same every time (the random part, the posterior sample, is drawn afterwards and stays per call). The memo
keeps that output per input shape, dtype, device and autocast state, and forgets it as soon as any weight of
the encoder changes (in place: an optimiser step or `load_state_dict`; replaced: an assigning load; or its
storage swapped: `.to(dtype)`), so it never hands out a stale result. It is bypassed while autograd records (training).

Encoding silence itself is cheap too (`stitch_silence`): the encoder is convolutional, so every latent frame
farther than its receptive field from both ends sees only zeros and equals every other such frame; the
output is built from a silence just long enough to hold both ends and one such middle frame.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

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
        compute: Callable[[], torch.Tensor],
        stitched: bool = False,
    ) -> torch.Tensor:
        """compute() = the encoder output for silence (B, C, S) = `shape` -> from the memo when the `weights`
        (the encoder's parameters and buffers) are the same tensors, unchanged, as last time. `stitched`
        results (`stitch_silence`) are kept apart from full encodes: an exact caller never gets one."""
        if torch.is_grad_enabled():
            return compute()
        weights = list(weights)
        # the thread count and deterministic mode are in the key: CPU kernels sum in another order with another
        # thread count, and a result from other settings is not what a fresh encode would give now
        key = (tuple(shape), dtype, str(device), *_autocast_state(device), stitched, torch.get_num_threads(),
               torch.are_deterministic_algorithms_enabled())
        entry = self._entries.get(key)
        if entry is not None and _unchanged(entry[0], weights):
            return entry[1]
        out = compute()
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


def receptive_field(encoder: nn.Module) -> int:
    """Input samples one output frame of a convolutional encoder sees: 1 + sum over its convolutions, in
    forward (= registration) order, of (kernel - 1) * dilation * (product of the strides before it)."""
    field, jump = 1, 1
    for module in encoder.modules():
        weight = getattr(module, "weight_v", None)
        if weight is None or not hasattr(module, "stride"):
            continue
        field += (weight.shape[-1] - 1) * getattr(module, "dilation", 1) * jump
        jump *= module.stride
    return field


def stitch_silence(
    encode: Callable[[torch.Tensor], torch.Tensor],
    shape: tuple[int, ...],
    *,
    ratio: int,
    edge_frames: int,
    latent_length: Callable[[int], int],
    device: torch.device,
    dtype: torch.dtype,
) -> torch.Tensor:
    """encode(zeros(shape)) for silence (B, C, S) from a shorter silence: S - k * ratio samples keep every
    downsampling level's remainder (so the frames near either end see the same padding), the `edge_frames`
    at each end are copied, and every frame between them, which sees only zeros, repeats the middle frame.
    -> (B, F, L). Falls back to the full encode when the audio is too short to gain anything."""
    batch, channels, samples = shape
    frames = latent_length(samples)
    shorter = 2 * edge_frames + 1
    cut = frames - shorter
    if cut <= 0 or latent_length(samples - cut * ratio) != shorter:
        return encode(torch.zeros(shape, device=device, dtype=dtype))
    short = encode(torch.zeros(batch, channels, samples - cut * ratio, device=device, dtype=dtype))  # (B, F, 2e+1)
    middle = short[..., edge_frames : edge_frames + 1].expand(-1, -1, frames - 2 * edge_frames)
    return torch.cat([short[..., :edge_frames], middle, short[..., edge_frames + 1 :]], dim=-1)  # (B, F, L)


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
