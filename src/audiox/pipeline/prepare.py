"""A request checked against its media files before any model work, with what depends on them settled.

`prepare_request` reads only headers (no full decode): every file exists, opens, and is within the media
limits (audio length, picture size); a still image given as the video becomes the image; the default
duration follows the media; the span fits the video, the inpaint range and the start fit the audio.
"""

from __future__ import annotations

from pathlib import Path

import torch

from audiox.errors import InputError, MediaError
from audiox.media.audio import audio_duration_s
from audiox.media.image_header import check_image_size
from audiox.media.video import is_still_image, video_duration_s
from audiox.pipeline.checks import DEFAULT_DURATION_S, MAX_DURATION_S, MIN_DURATION_S
from audiox.pipeline.request import GenerationRequest

VIDEO_SPAN_SLACK_S = 0.5  # a video may end this much before the span (the last frame is repeated)


def prepare_request(request: GenerationRequest) -> GenerationRequest:
    """The request with `duration_s` set (see GenerationRequest) and a still `video` moved to `image`;
    MediaError / InputError (one line) when a file does not fit the request."""
    if request.video is not None and is_still_image(request.video):
        request = request.replace(image=request.video, video=None)
    if request.image is not None:
        check_image_size(Path(request.image))
    video_s = video_duration_s(request.video) if request.video is not None else None
    audio_s = media_seconds(request.audio, request.audio_sample_rate) if request.audio is not None else None
    init_s = (media_seconds(request.init_audio, request.init_audio_sample_rate)
              if request.init_audio is not None else None)
    start = request.seconds_start
    for name, have in (("video", video_s), ("init audio", init_s)):
        if have is not None and start >= have:
            raise InputError(f"seconds_start {start} is past the end of the {name} ({have:.2f} s); pass a smaller start")
    if request.inpaint is not None:
        _check_inpaint(request, audio_s)
    duration = request.duration_s
    if duration is None:
        duration = _default_duration(request, video_s, audio_s, init_s)
    request = request.replace(duration_s=duration)
    if video_s is not None:
        _check_video_span(request, video_s)
    return request


def media_seconds(media: str | Path | torch.Tensor, sample_rate: int | None) -> float:
    """Length in seconds of an audio file (from its header) or a (C, S) / (S,) tensor at `sample_rate`."""
    if isinstance(media, torch.Tensor):
        return media.shape[-1] / sample_rate
    return audio_duration_s(media)


def _check_inpaint(request: GenerationRequest, audio_s: float) -> None:
    if request.seconds_start >= audio_s:
        raise InputError(f"seconds_start {request.seconds_start} is past the end of the audio to inpaint "
                         f"({audio_s:.2f} s)")
    if request.inpaint[0] >= audio_s:
        raise InputError(f"inpaint range starts at {request.inpaint[0]} s, after the audio ends ({audio_s:.2f} s); "
                         "to add audio after it, use continuation (--audio without --inpaint)")


def _default_duration(request: GenerationRequest, video_s: float | None, audio_s: float | None,
                      init_s: float | None) -> float:
    """Inpainting: the rest of the audio; else 10 s, or less when the video / init audio ends sooner (at
    most MAX_DURATION_S, at least MIN_DURATION_S)."""
    start = request.seconds_start
    if request.inpaint is not None:
        wanted = audio_s - start
    else:
        wanted = min([DEFAULT_DURATION_S] + [have - start for have in (video_s, init_s) if have is not None])
    if wanted < MIN_DURATION_S:
        raise MediaError(f"only {wanted:.3f} s of media remain after seconds_start {start}; pass a smaller start")
    return min(wanted, MAX_DURATION_S)


def _check_video_span(request: GenerationRequest, have_s: float) -> None:
    """A video must cover the requested span [seconds_start, seconds_start + duration_s)."""
    end = request.seconds_start + request.duration_s
    if have_s + VIDEO_SPAN_SLACK_S < end:
        raise InputError(
            f"{request.video}: video is {have_s:.2f} s long but the requested span ends at {end:.2f} s; "
            f"pass --duration {max(have_s - request.seconds_start, 0):.2f} or less"
        )
