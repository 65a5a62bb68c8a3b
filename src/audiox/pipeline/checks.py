"""Limits of a generation request and the checks that hold every user-facing value to them.

Every number a user can type is checked here before any work: it must be a real number (not a bool, not
NaN or inf) inside the stated range. The limits are also quoted in `audiox generate --help`.
"""

from __future__ import annotations

import math
import numbers
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from audiox.errors import InputError

if TYPE_CHECKING:  # torch is imported only where a tensor is checked: building a request stays light
    import torch

DEFAULT_DURATION_S = 10.0  # without --duration (or less when the video / init audio ends sooner)
MIN_DURATION_S = 0.01
MAX_DURATION_S = 600.0  # long-form generation runs window by window up to this
MAX_SECONDS_START_S = 86_400.0
MAX_STEPS = 10_000
MAX_CFG_SCALE = 100.0
MAX_SIGMA = 10_000.0
MAX_BATCH_SIZE = 64
MAX_SAMPLE_RATE = 768_000
DEFAULT_INIT_STRENGTH = 0.5  # a variation without init_strength: half way (model time t = 0.5)
MAX_TEXT_CHARS = 2_000  # T5 reads the first 128 tokens of a prompt anyway


def check_number(
    name: str, value, low: float, high: float, *, integer: bool = False, low_open: bool = False
) -> None:
    """Raise InputError unless `value` is a finite real (an int when `integer`) in [low, high]
    ((low, high] when `low_open`). The message states the range."""
    kind = "an integer" if integer else "a number"
    opening = "above" if low_open else "from"
    span = f"{opening} {_fmt(low)} to {_fmt(high)}"
    ok_type = isinstance(value, numbers.Integral if integer else numbers.Real) and not isinstance(value, bool)
    if not ok_type or not math.isfinite(float(value)):
        raise InputError(f"{name} must be {kind} {span}, got {value!r}")
    above_low = value > low if low_open else value >= low
    if not (above_low and value <= high):
        raise InputError(f"{name} must be {kind} {span}, got {value!r}")


def check_text(name: str, text) -> None:
    """A prompt: a str that is valid UTF-8 (no lone surrogates from undecodable bytes), not blank unless
    empty, at most MAX_TEXT_CHARS long."""
    if text is None:
        return
    if not isinstance(text, str):
        raise InputError(f"{name} must be a string, got {type(text).__name__}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InputError(
            f"{name} is not valid UTF-8 (undecodable byte at character {e.start}); re-type it or fix the "
            "terminal's encoding"
        ) from None
    if text and not text.strip():
        raise InputError(f"{name} is blank; give some words or leave it out")
    if len(text) > MAX_TEXT_CHARS:
        raise InputError(f"{name} is {len(text)} characters long; the limit is {MAX_TEXT_CHARS}")


def check_media_field(name: str, value) -> None:
    """A media field: None, a path (str / PathLike, no NUL byte) or, where allowed, a tensor (checked by
    `check_audio_tensor`)."""
    if value is None or is_tensor(value):
        return
    if not isinstance(value, (str, os.PathLike)):
        raise InputError(f"{name} must be a file path, got {type(value).__name__}")
    text = str(value)
    if not text or "\x00" in text:
        raise InputError(f"{name} {text!r} is not a usable file path")
    if isinstance(value, Path) and text == ".":
        raise InputError(f"{name} is empty; pass a file path")


def check_audio_tensor(name: str, audio: torch.Tensor) -> None:
    """An audio tensor: float (S,) or (C, S), C <= 64, S >= 1, every sample finite."""
    import torch

    if not torch.is_floating_point(audio) or audio.ndim not in (1, 2):
        raise InputError(f"{name}: {tuple(audio.shape)=} {audio.dtype=}, expected float (S,) or (C, S)")
    if audio.shape[-1] == 0 or (audio.ndim == 2 and not 1 <= audio.shape[0] <= 64):
        raise InputError(f"{name}: {tuple(audio.shape)=}, expected (C, S) with 1 <= C <= 64 and S >= 1")
    if not torch.isfinite(audio).all():
        raise InputError(f"{name} holds NaN or infinite samples; fix the audio first")


def is_tensor(value: object) -> bool:
    """isinstance(value, torch.Tensor), without importing torch (no torch imported: no tensor exists)."""
    torch_module = sys.modules.get("torch")
    return torch_module is not None and isinstance(value, torch_module.Tensor)


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
