"""From what a client sends to an accepted job: the request fields (JSON or form values), the uploaded media
(size-limited, saved into the job's folder), every check the CLI makes before it generates (the request's
own validation, the model's sampler / inpainting / video-span checks, decoding each upload), then the
queue. Nothing reaches the queue unchecked; a refused submission leaves no folder behind."""

from __future__ import annotations

import json
import secrets
import time
from pathlib import Path
from typing import Any, BinaryIO, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from audiox.errors import AudioXError, InputError
from audiox.media.audio import read_audio
from audiox.media.video import read_video, video_duration_s
from audiox.pipeline import AudioX, GenerationRequest
from audiox.serving.jobs import JobQueue, QueueFull
from audiox.serving.settings import ServeSettings
from audiox.serving.store import Job, JobStore, request_record

MEDIA_SUFFIXES = {
    "video": (".mp4", ".mkv", ".mov", ".webm", ".avi"),
    "image": (".jpg", ".jpeg", ".png", ".webp", ".bmp"),
    "audio": (".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".aac", ".opus", ".aif", ".aiff"),
}
CHUNK = 1 << 20


class UploadTooLarge(InputError):
    """An upload or request body is over the server's limit (HTTP 413)."""


class JobFields(BaseModel):
    """The fields of a GenerationRequest a client may set (media come as uploads: video, image, audio)."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, description="text prompt")
    negative_text: str | None = Field(None, description="negative text prompt")
    task: Literal["auto", "audio", "music"] = Field("auto", description="force sound effects or music")
    duration_s: float | None = Field(
        None, description="seconds to generate, longer runs in windows (default: 10, or the video's length when "
                          "shorter; inpainting: the rest of the audio)")
    seconds_start: float = Field(0.0, description="start of the span in the video / audio")
    steps: int | None = Field(None, description="sampling steps (default: the model's)")
    cfg_scale: float | None = Field(None, description="classifier-free guidance scale (default: the model's)")
    sampler: str | None = Field(None, description="sampler name, see GET /v1/model (default: the model's)")
    sigma_min: float | None = Field(None, description="smallest noise level (v models)")
    sigma_max: float | None = Field(None, description="largest noise level")
    seed: int = Field(-1, description="0 .. 2**64-1; -1: a random seed, returned with the job")
    batch_size: int = Field(1, description="variations of the same request")
    inpaint: tuple[float, float] | None = Field(
        None, description="[start_s, end_s] of the audio upload to regenerate; without it an audio upload is "
                          "continued (form field: '2.0,3.5')")
    new_only: bool = Field(False, description="continuation: return only the new audio, not the audio upload "
                                              "before it")

    @field_validator("inpaint", mode="before")
    @classmethod
    def _pair_from_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            return json.loads(text) if text.startswith("[") else [part.strip() for part in text.split(",")]
        return value


def parse_fields(values: dict[str, Any]) -> JobFields:
    """JSON values, or form strings (empty ones mean "not given") -> JobFields; InputError naming the field."""
    values = {k: v for k, v in values.items() if not (isinstance(v, str) and v.strip() == "")}
    try:
        return JobFields.model_validate(values)
    except ValidationError as exc:
        raise InputError(_one_line(exc)) from None
    except ValueError as exc:  # a malformed inpaint list
        raise InputError(f"inpaint: give two numbers like [2.0, 3.5] ({exc})") from None


def _one_line(exc: ValidationError) -> str:
    error = exc.errors()[0]
    name = ".".join(str(part) for part in error["loc"]) or "request"
    if error["type"] == "extra_forbidden":
        return f"unknown field {name!r}; the fields are {', '.join(JobFields.model_fields)} (+ uploads video, image, audio)"
    return f"{name}: {error['msg']} (got {error['input']!r})"


def save_upload(kind: str, filename: str, source: BinaryIO, folder: Path, max_bytes: int) -> Path:
    """Copy an uploaded `kind` file into `folder/inputs/`, refusing unknown suffixes and oversized files."""
    if kind not in MEDIA_SUFFIXES:
        raise InputError(f"unknown upload {kind!r}; upload video, image or audio")
    suffix = Path(filename or "").suffix.lower()
    if suffix not in MEDIA_SUFFIXES[kind]:
        raise InputError(f"{kind} upload {filename!r}: not a {kind} file; use one of {', '.join(MEDIA_SUFFIXES[kind])}")
    target = folder / "inputs" / f"{kind}{suffix}"
    target.parent.mkdir(exist_ok=True)
    size = 0
    with open(target, "wb") as out:
        while chunk := source.read(CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise UploadTooLarge(f"{kind} upload {filename!r} is over this server's limit of "
                                     f"{max_bytes / 2**20:g} MB (audiox serve --max-upload-mb)")
            out.write(chunk)
    return target


def build_request(fields: JobFields, media: dict[str, Path], settings: ServeSettings) -> GenerationRequest:
    """A validated GenerationRequest within the server's limits; seed -1 becomes a random seed."""
    limits = [
        ("duration_s", fields.duration_s or 0, settings.max_duration_s, "--max-duration"),
        ("batch_size", fields.batch_size, settings.max_batch_size, "--max-batch"),
        ("steps", fields.steps or 0, settings.max_steps, "--max-steps"),
    ]
    for name, value, limit, option in limits:
        if value > limit:
            raise InputError(f"{name} {value:g} is over this server's limit of {limit:g} (audiox serve {option})")
    if not (fields.text or media):
        raise InputError("nothing to condition on: give a text prompt or upload a video, image or audio")
    values = fields.model_dump()
    seed = values.pop("seed")
    seed = secrets.randbits(32) if seed == -1 else seed
    return GenerationRequest(**values, seed=seed, **{kind: str(path) for kind, path in media.items()})


def check_media(request: GenerationRequest) -> None:
    """Decode each upload once, so a corrupt or mislabelled file is refused now, not when its job runs."""
    if request.audio is not None:
        read_audio(request.audio)
    if request.image is not None:
        read_video(request.image, fps=1.0, duration_s=1.0, size=16)
    if request.video is not None:
        video_duration_s(request.video)


def submit(
    pipe: AudioX, store: JobStore, queue: JobQueue, settings: ServeSettings,
    values: dict[str, Any], uploads: dict[str, tuple[str, BinaryIO]],
) -> Job:
    """Check a submission and queue it. Raises InputError / MediaError (bad input), UploadTooLarge, QueueFull."""
    fields = parse_fields(values)
    if queue.counts()["waiting"] >= queue.queue_size:  # refuse early, before copying and decoding uploads
        raise QueueFull(queue.queue_size, queue.retry_after_s())
    job_id, folder = store.new_folder()
    media: dict[str, Path] = {}
    try:
        for kind, (name, source) in uploads.items():
            media[kind] = save_upload(kind, name, source, folder, settings.max_upload_bytes)
        request = build_request(fields, media, settings)
        check_media(request)
        request = pipe.check(request)  # settles the duration a request left to its media
        if request.duration_s > settings.max_duration_s:
            raise InputError(f"duration_s {request.duration_s:g} (from the media) is over this server's limit of "
                             f"{settings.max_duration_s:g}; give a shorter duration_s (audiox serve --max-duration)")
        return queue.submit(Job(id=job_id, request=request_record(request), created=time.time()))
    except AudioXError as exc:
        store.discard(job_id)
        raise _with_upload_names(exc, media, uploads) from None
    except BaseException:
        store.discard(job_id)
        raise


def _with_upload_names(exc: AudioXError, media: dict[str, Path], uploads: dict[str, tuple[str, BinaryIO]]):
    """The error with the server's paths of the uploads replaced by the names the client sent."""
    message = str(exc)
    for kind, path in media.items():
        message = message.replace(str(path), repr(uploads[kind][0] or kind))
    return exc if message == str(exc) else type(exc)(message)
