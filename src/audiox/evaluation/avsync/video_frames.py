"""Synchformer's video input as the av-benchmark reads it: 25 fps frames, short side resized to 224
(bicubic, antialiased), centre-cropped to 224 x 224, uint8 RGB.

Frames are picked by timestamp as ffmpeg's `fps=25` filter does (which the benchmark's torio decoder
runs): output frame k shows the latest source frame whose time, rounded to the nearest 1/25 s, is at
most k / 25 (halves round up, as ffmpeg's rescaling does); the last frame is held for its own duration.
This differs from `audiox.media.video.read_video`, which reproduces AudioX's own frame
grid and squashes to a square for the conditioner.
"""

from __future__ import annotations

import math
import os

import torch
import torch.nn.functional as F

from audiox.errors import MediaError
from audiox.media.audio import check_media_file
from audiox.media.video import _decoded_frames, _frame_to_tensor, _open_input, _video_stream

SYNC_FPS = 25


def resize_short_side_and_crop(frame: torch.Tensor, size: int) -> torch.Tensor:
    """frame: (3, H, W) uint8 -> (3, size, size) uint8: short side to `size` (bicubic, antialias, rounded
    to uint8 as torchvision's Resize on uint8 tensors), then the centre crop."""
    height, width = frame.shape[-2:]
    short, long = sorted((height, width))
    new_long = int(size * long / short)  # torchvision's rule for the long side
    new_h, new_w = (size, new_long) if height <= width else (new_long, size)
    if (new_h, new_w) != (height, width):
        out = F.interpolate(
            frame[None].float(), size=(new_h, new_w), mode="bicubic", align_corners=False, antialias=True
        )[0]
        frame = out.round().clamp(0, 255).to(torch.uint8)
    top, left = round((new_h - size) / 2.0), round((new_w - size) / 2.0)  # torchvision CenterCrop
    return frame[:, top : top + size, left : left + size]


def read_sync_frames(path: str | os.PathLike, *, max_frames: int, size: int = 224) -> torch.Tensor:
    """The first `max_frames` (or fewer, for a shorter video) 25 fps frames -> (F, 3, size, size) uint8."""
    path = check_media_file(path)
    frames: list[torch.Tensor] = []
    current, end = None, 0
    with _open_input(path) as container:
        stream = _video_stream(container, path)
        for decoded in _decoded_frames(container, stream, path):
            if decoded.pts is None or decoded.time_base is None:
                raise MediaError(f"{path}: video frames carry no timestamps; re-encode it as MP4 (H.264)")
            start_s = float(decoded.pts * decoded.time_base)
            while current is not None and len(frames) < min(_slot(start_s), max_frames):
                frames.append(current)  # the previous source frame fills the slots before this one
            if len(frames) >= max_frames:
                break
            current = resize_short_side_and_crop(_frame_to_tensor(decoded), size)
            end = max(_slot(start_s) + 1, _slot(start_s + _frame_duration_s(decoded, stream)))
    while current is not None and len(frames) < min(end, max_frames):
        frames.append(current)
    if not frames:
        raise MediaError(f"{path}: no decodable video frames; re-encode it as MP4 (H.264)")
    return torch.stack(frames)


def _slot(seconds: float) -> int:
    """The 25 fps slot a time falls in, rounding to the nearest slot with halves up."""
    return math.floor(seconds * SYNC_FPS + 0.5)


def _frame_duration_s(frame, stream) -> float:
    """How long a decoded frame is shown: its own duration, else one frame at the stream's rate."""
    if frame.duration:
        return float(frame.duration * frame.time_base)
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(1 / rate) if rate else 0.0
