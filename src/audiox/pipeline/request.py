"""What a user asks for: `GenerationRequest`, validated once, and the task inferred from its inputs."""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from audiox.errors import InputError

if TYPE_CHECKING:  # torch is not imported here: building a request (e.g. in the CLI) stays light
    import torch

Task = Literal["auto", "audio", "music"]

# default prompts of the official demos when a video is given without text
DEFAULT_VIDEO_TEXT = {"audio": "Generate general audio for the video", "music": "Generate music for the video"}
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


@dataclass(frozen=True, kw_only=True)
class GenerationRequest:
    """One generation. Media are file paths (an image is a still video; `audio` may also be a
    (C, S) tensor at `audio_sample_rate`). `inpaint` = (start_s, end_s) of `audio` to regenerate (the rest
    is kept); `audio` without `inpaint` is music/audio continuation. Sampler fields left None take the
    model's defaults (`AudioX.defaults`)."""

    text: str | None = None
    negative_text: str | None = None
    video: str | Path | None = None
    image: str | Path | None = None
    audio: str | Path | torch.Tensor | None = None
    audio_sample_rate: int | None = None
    inpaint: tuple[float, float] | None = None
    task: Task = "auto"
    duration_s: float = 10.0
    seconds_start: float = 0.0
    steps: int | None = None
    cfg_scale: float | None = None
    sampler: str | None = None
    sigma_min: float | None = None
    sigma_max: float | None = None
    seed: int = 0
    batch_size: int = 1

    def __post_init__(self) -> None:
        checks = [
            (self.duration_s > 0, f"duration must be > 0 seconds, got {self.duration_s}"),
            (self.seconds_start >= 0, f"seconds_start must be >= 0, got {self.seconds_start}"),
            (self.steps is None or self.steps >= 1, f"steps must be >= 1, got {self.steps}"),
            (self.cfg_scale is None or self.cfg_scale >= 0, f"cfg_scale must be >= 0, got {self.cfg_scale}"),
            (self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}"),
            (self.task in ("auto", "audio", "music"), f"task must be auto, audio or music, got {self.task!r}"),
            (not (self.video and self.image), "give either a video or an image, not both"),
            (self.inpaint is None or self.audio is not None, "inpaint needs the audio to inpaint (--audio)"),
            (_is_seed(self.seed), f"seed must be an integer from 0 to 2**64 - 1, got {self.seed!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise InputError(message)
        if _is_tensor(self.audio) and self.audio_sample_rate is None:
            raise InputError("an audio tensor needs audio_sample_rate")
        if self.image is not None and not str(self.image).lower().endswith(IMAGE_SUFFIXES):
            raise InputError(f"{self.image}: not an image file ({', '.join(IMAGE_SUFFIXES)}); pass videos as video")
        if self.inpaint is not None:
            start, end = self.inpaint
            if not 0 <= start < end:
                raise InputError(f"inpaint range must satisfy 0 <= start < end, got {self.inpaint}")

    @property
    def visual(self) -> str | Path | None:
        """The video, or the image (a still video)."""
        return self.video if self.video is not None else self.image

    @property
    def mode(self) -> str:
        """What is being done: inpainting, continuation, video-to-X, text-to-X."""
        if self.inpaint is not None:
            return "inpainting"
        if self.audio is not None:
            return "continuation"
        if self.visual is not None:
            return "image-to-audio" if self.image is not None else "video-to-audio"
        return "text-to-audio"

    def prompt_text(self) -> str:
        """The text the text conditioner gets: the user's, else the official default for a video-only
        request, else "" (absent text is the empty string, as officially)."""
        if self.text:
            return self.text
        if self.visual is not None:
            return DEFAULT_VIDEO_TEXT["music" if self.task == "music" else "audio"]
        return ""

    def replace(self, **changes) -> GenerationRequest:
        return dataclasses.replace(self, **changes)

    def window_seed(self, index: int) -> int:
        """The seed of window `index` (long-form generation): seed + index, wrapping within 64 bits."""
        return (self.seed + index) % SEED_LIMIT


SEED_LIMIT = 2**64  # torch.Generator.manual_seed takes 0 .. 2**64 - 1


def _is_seed(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < SEED_LIMIT


def _is_tensor(value: object) -> bool:
    """isinstance(value, torch.Tensor), without importing torch (no torch imported: no tensor exists)."""
    torch_module = sys.modules.get("torch")
    return torch_module is not None and isinstance(value, torch_module.Tensor)
