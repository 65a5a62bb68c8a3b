"""What a user asks for: `GenerationRequest`, validated once, and the task inferred from its inputs."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from audiox.errors import InputError
from audiox.media.formats import IMAGE_SUFFIXES, is_image_path
from audiox.media.image_header import looks_like_image
from audiox.pipeline.checks import (
    MAX_BATCH_SIZE,
    MAX_CFG_SCALE,
    MAX_DURATION_S,
    MAX_SAMPLE_RATE,
    MAX_SECONDS_START_S,
    MAX_SIGMA,
    MAX_STEPS,
    MIN_DURATION_S,
    check_audio_tensor,
    check_media_field,
    check_number,
    check_text,
    is_tensor,
)

if TYPE_CHECKING:  # torch is not imported here: building a request (e.g. in the CLI) stays light
    import torch

Task = Literal["auto", "audio", "music"]

# default prompts of the official demos when a video is given without text
DEFAULT_VIDEO_TEXT = {"audio": "Generate general audio for the video", "music": "Generate music for the video"}


@dataclass(frozen=True, kw_only=True)
class GenerationRequest:
    """One generation, every value checked on construction (one-line `InputError`; limits in
    `pipeline.checks`).

    Media are file paths (an image is a still video, and an image file given as `video` is taken as the
    image; `audio` and `init_audio` may also be (C, S) tensors at their `*_sample_rate`).
    `inpaint` = (start_s, end_s) of `audio` to regenerate: the output is the audio from `seconds_start`
    with only that range replaced (crossfaded at its borders, `pipeline.splice`). `audio` without
    `inpaint` is continuation: the output is the whole audio followed by `duration_s` of new audio
    (`new_only=True`: the new audio alone). `init_audio` + `init_strength` in (0, 1] (default 0.5) is a
    variation: sampling starts from the init audio's latents noised to time t = strength (0: the init
    itself, 1: pure noise). `duration_s` None: 10 s, or less when the video / init audio ends sooner;
    for inpainting the rest of the audio from `seconds_start`. Sampler fields left None take the model's
    defaults (`AudioX.defaults`)."""

    text: str | None = None
    negative_text: str | None = None
    video: str | Path | None = None
    image: str | Path | None = None
    audio: str | Path | torch.Tensor | None = None
    audio_sample_rate: int | None = None
    inpaint: tuple[float, float] | None = None
    init_audio: str | Path | torch.Tensor | None = None
    init_audio_sample_rate: int | None = None
    init_strength: float | None = None
    new_only: bool = False
    task: Task = "auto"
    duration_s: float | None = None
    seconds_start: float = 0.0
    steps: int | None = None
    cfg_scale: float | None = None
    sampler: str | None = None
    sigma_min: float | None = None
    sigma_max: float | None = None
    seed: int = 0
    batch_size: int = 1

    def __post_init__(self) -> None:
        for name in ("video", "image", "audio", "init_audio"):
            check_media_field(name, getattr(self, name))
        if isinstance(self.video, (str, os.PathLike)) and self.image is None and is_image_path(self.video):
            # a still image given as the video is an image (image-to-audio), not a one-frame video
            object.__setattr__(self, "image", self.video)
            object.__setattr__(self, "video", None)
        self._check_values()
        self._check_media()
        self._check_combinations()

    def _check_values(self) -> None:
        if self.duration_s is not None:
            check_number("duration", self.duration_s, MIN_DURATION_S, MAX_DURATION_S)
        check_number("seconds_start", self.seconds_start, 0, MAX_SECONDS_START_S)
        if self.steps is not None:
            check_number("steps", self.steps, 1, MAX_STEPS, integer=True)
        if self.cfg_scale is not None:
            check_number("cfg_scale", self.cfg_scale, 0, MAX_CFG_SCALE)
        for name in ("sigma_min", "sigma_max"):
            if getattr(self, name) is not None:
                check_number(name, getattr(self, name), 0, MAX_SIGMA, low_open=True)
        if self.sigma_min is not None and self.sigma_max is not None and not self.sigma_min < self.sigma_max:
            raise InputError(f"sigma_min must be below sigma_max, got {self.sigma_min} and {self.sigma_max}")
        check_number("batch_size", self.batch_size, 1, MAX_BATCH_SIZE, integer=True)
        if not _is_seed(self.seed):
            raise InputError(f"seed must be an integer from 0 to 2**64 - 1, got {self.seed!r}")
        if self.task not in ("auto", "audio", "music"):
            raise InputError(f"task must be auto, audio or music, got {self.task!r}")
        if self.sampler is not None and not isinstance(self.sampler, str):
            raise InputError(f"sampler must be a name, got {self.sampler!r}")
        if self.init_strength is not None:
            check_number("init_strength", self.init_strength, 0, 1, low_open=True)
        if not isinstance(self.new_only, bool):
            raise InputError(f"new_only must be True or False, got {self.new_only!r}")
        check_text("text", self.text)
        check_text("negative_text", self.negative_text)

    def _check_media(self) -> None:
        for name in ("video", "image"):
            if is_tensor(getattr(self, name)):
                raise InputError(f"{name} must be a file path, got a tensor")
        for name, rate_name in (("audio", "audio_sample_rate"), ("init_audio", "init_audio_sample_rate")):
            value, rate = getattr(self, name), getattr(self, rate_name)
            if is_tensor(value):
                if rate is None:
                    raise InputError(f"an {name} tensor needs {rate_name}")
                check_audio_tensor(name, value)
            if rate is not None:
                check_number(rate_name, rate, 1, MAX_SAMPLE_RATE, integer=True)
        if self.image is not None and not _is_image_file(self.image):
            raise InputError(f"{self.image}: not an image file ({', '.join(sorted(IMAGE_SUFFIXES))}); pass videos as video")

    def _check_combinations(self) -> None:
        if self.video is not None and self.image is not None:
            raise InputError("give either a video or an image, not both")
        if self.inpaint is not None:
            if self.audio is None:
                raise InputError("inpaint needs the audio to inpaint (--audio)")
            if not isinstance(self.inpaint, (tuple, list)) or len(self.inpaint) != 2:
                raise InputError(f"inpaint must be (start_s, end_s), got {self.inpaint!r}")
            start, end = self.inpaint
            check_number("inpaint start", start, 0, MAX_SECONDS_START_S)
            check_number("inpaint end", end, 0, MAX_SECONDS_START_S + MAX_DURATION_S)
            if not start < end:
                raise InputError(f"inpaint range must satisfy 0 <= start < end, got {tuple(self.inpaint)}")
            if start < self.seconds_start:
                raise InputError(f"inpaint range {tuple(self.inpaint)} starts before seconds_start "
                                 f"{self.seconds_start}; the output begins at seconds_start")
            if self.init_audio is not None:
                raise InputError("inpainting already starts from its audio; drop the init audio")
        if self.init_strength is not None and self.init_audio is None:
            raise InputError("init_strength needs an init audio (--init-audio)")
        if self.new_only and self.mode != "continuation":
            raise InputError("new_only is for continuation (audio without inpaint): it drops the prompt")

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


def _is_image_file(path: str | Path) -> bool:
    """An image suffix, or an existing file that starts like an image whatever its name."""
    if is_image_path(path):
        return True
    path = Path(path)
    return path.is_file() and looks_like_image(path)
