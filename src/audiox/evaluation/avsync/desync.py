"""DeSync as MMAudio's av-benchmark computes it: the mean absolute offset Synchformer predicts between a
video and its (generated) audio, in seconds (lower is better; 0 = judged in sync).

Per clip, the segment features of the first `clip_frames` video frames (25 fps) and of the same span of
audio are cut into two windows of `num_segments` consecutive segments (14 = 4.8 s): the first and the last
whole window on the segment grid (for an 8 s clip: 0-4.8 s and 3.2-8.0 s). Each window is classified into
one of 21 offsets, evenly spaced from -2.0 to +2.0 s (0.2 s apart); the clip contributes |offset| of both
windows, and DeSync is the mean over all windows of all clips (a clip exactly one window long counts its
single window twice, as the benchmark does).
"""

from __future__ import annotations

import numpy as np

from audiox.errors import InputError

VIDEO_FPS = 25
FRAMES_PER_SEGMENT = 16
FRAME_STEP = 8
MAX_OFFSET_S = 2.0


def offset_grid(num_classes: int = 21, max_offset_s: float = MAX_OFFSET_S) -> np.ndarray:
    """(num_classes,) offsets in seconds for the classifier's classes, -max .. +max evenly spaced."""
    return np.linspace(-max_offset_s, max_offset_s, num_classes)


def segments_in(num_frames: int) -> int:
    """Segments of 16 frames every 8 in `num_frames` 25 fps frames (0 when shorter than one segment)."""
    return max(0, (num_frames - FRAMES_PER_SEGMENT) // FRAME_STEP + 1)


def window_seconds(num_segments: int) -> float:
    """The span a window of `num_segments` segments covers (14 -> 4.8 s)."""
    return ((num_segments - 1) * FRAME_STEP + FRAMES_PER_SEGMENT) / VIDEO_FPS


def window_starts(available: int, num_segments: int) -> tuple[int, int]:
    """Start segments of the first and the last window among `available` segments."""
    if available < num_segments:
        raise InputError(
            f"{available} segments, a window needs {num_segments} ({window_seconds(num_segments):.2f} s)"
        )
    return 0, available - num_segments


def desync_from_logits(logits: np.ndarray, *, max_offset_s: float = MAX_OFFSET_S) -> tuple[float, np.ndarray]:
    """logits: (W, C) for W windows -> (DeSync in seconds, (W,) absolute predicted offsets).

    The predicted class of a window is its arg-max; its offset is `offset_grid(C)[class]`.
    """
    logits = np.asarray(logits)
    if logits.ndim != 2 or logits.shape[0] == 0 or not np.isfinite(logits).all():
        raise InputError(
            f"logits of shape {logits.shape}: expected finite (windows, classes) with windows >= 1"
        )
    offsets = np.abs(offset_grid(logits.shape[1], max_offset_s)[logits.argmax(axis=1)])
    return float(offsets.mean()), offsets
