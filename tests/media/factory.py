"""Tiny media files made on the fly (numpy + soundfile + PyAV) for the media tests."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import soundfile as sf

GRAY_STEP = 8  # frame i of a numbered video is uniformly gray with value GRAY_STEP * i


def tone(
    freq_hz: float, sample_rate: int, num_samples: int, channels: int = 1, amp: float = 0.5
) -> np.ndarray:
    """(C, S) float32 sine; channel c has amplitude amp / (c + 1)."""
    t = np.arange(num_samples) / sample_rate
    rows = [amp / (c + 1) * np.sin(2 * math.pi * freq_hz * t) for c in range(channels)]
    return np.stack(rows).astype(np.float32)


def write_sound(path: Path, audio: np.ndarray, sample_rate: int, subtype: str | None = None) -> Path:
    """audio: (C, S) -> file through soundfile (wav / flac / ogg by suffix)."""
    sf.write(path, audio.T, sample_rate, subtype=subtype)
    return path


def encode_sound(path: Path, audio: np.ndarray, sample_rate: int, codec: str) -> Path:
    """audio: (C, S) float -> compressed file through PyAV (e.g. aac in .m4a, libmp3lame in .mp3)."""
    layout = "mono" if audio.shape[0] == 1 else "stereo"
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=sample_rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio), format="fltp", layout=layout)
        frame.sample_rate, frame.pts = sample_rate, 0
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def numbered_frames(num_frames: int, height: int, width: int) -> list[np.ndarray]:
    """(H, W, 3) uint8 frames; frame i is gray GRAY_STEP * i."""
    return [np.full((height, width, 3), GRAY_STEP * i, np.uint8) for i in range(num_frames)]


def encode_video(
    path: Path,
    frames: list[np.ndarray],
    fps: int | Fraction,
    *,
    codec: str = "ffv1",
    pix_fmt: str = "bgr0",
    audio: tuple[np.ndarray, int] | None = None,
) -> Path:
    """RGB frames (H, W, 3) uint8 -> video file; ffv1/bgr0 in .mkv is lossless. Optional (audio, sr)."""
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        if codec == "mpeg4":
            stream.codec_context.gop_size = 4
        sound = _add_audio_stream(out, audio[1]) if audio is not None else None
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if audio is not None:
            _write_mono(out, sound, *audio)
    return path


def _add_audio_stream(out, sample_rate: int):
    return out.add_stream("aac", rate=sample_rate, layout="mono")


def _write_mono(out, stream, audio: np.ndarray, sample_rate: int) -> None:
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:1]), format="fltp", layout="mono")
    frame.sample_rate, frame.pts = sample_rate, 0
    out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def encode_image(path: Path, rgb: np.ndarray) -> Path:
    """(H, W, 3) uint8 -> still image via PyAV's image2 muxer; codec from the suffix."""
    codec, pix_fmt = {
        ".png": ("png", "rgb24"),
        ".jpg": ("mjpeg", "yuvj444p"),
        ".bmp": ("bmp", "bgr24"),
        ".webp": ("libwebp", "yuv420p"),
    }[path.suffix]
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream(codec, rate=1)
        stream.width, stream.height, stream.pix_fmt = rgb.shape[1], rgb.shape[0], pix_fmt
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
        out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def frame_numbers(frames) -> list[int]:
    """Inverse of numbered_frames for decoded (F, 3, H, W) frames (tolerant of small codec error)."""
    return [round(float(f.float().mean()) / GRAY_STEP) for f in frames]
