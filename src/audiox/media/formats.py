"""Light media helpers without heavy imports (no torch, PyAV or soundfile), for the CLI's and the request's
early checks: the audio formats audiox writes, still-image suffixes, and the file checks done before any
decoding."""

from __future__ import annotations

import os
from pathlib import Path

from audiox.errors import MediaError

WRITE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}  # suffix -> soundfile format
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp"})


def is_image_path(path: str | os.PathLike) -> bool:
    """True for the still-image suffixes that become a still video."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def one_line(exc: BaseException) -> str:
    """An exception's text squeezed onto one line (decoder messages can span several)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def check_media_file(path: str | os.PathLike) -> Path:
    """Return `path` as a Path if it names a non-empty file, else raise a one-line MediaError."""
    path = Path(path)
    if not path.exists():
        raise MediaError(f"{path}: file not found; check the path")
    if not path.is_file():
        raise MediaError(f"{path}: not a file; pass the path of an audio, video or image file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: file is empty (0 bytes); re-export it or pick another file")
    return path
