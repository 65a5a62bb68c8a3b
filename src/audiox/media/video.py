"""Video and still images in, video with a new soundtrack out (PyAV only).

Frame grid of the official `read_video` (decord): with source rate f, start frame floor(start_s * f),
interval k = ceil(f / target_fps) and n = duration_s * target_fps, the frames
range(start, min(start + n * k, total), k) are taken, squashed to size x size (bilinear, antialias,
aspect NOT kept) and padded to exactly n frames by repeating the last one. Frame indices count
decoded frames from the start of the stream (decord's indexing), so decoding always starts at the
beginning of the file. Still images (.jpg/.jpeg/.png/.webp/.bmp, decoded by PyAV) become n copies.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import torch
import torch.nn.functional as F
from av.video.reformatter import VideoReformatter

from audiox.errors import InputError, MediaError
from audiox.media.audio import atomic_output
from audiox.media.formats import IMAGE_SUFFIXES, check_media_file, is_image_path, one_line  # noqa: F401
from audiox.media.image_header import check_image_size, check_pixels, looks_like_image
from audiox.media.resample import resample
from audiox.media.timing import seconds_to_samples, seconds_to_video_frames

MAX_SOURCE_FPS = 1000.0
MUX_SUFFIXES = frozenset({".mp4", ".mkv", ".mov"})
_LAYOUTS = {1: "mono", 2: "stereo"}


def is_still_image(path: str | os.PathLike) -> bool:
    """True for an image file: an image suffix, or (for a video suffix) an image inside (PNG, JPEG...)."""
    return is_image_path(path) or looks_like_image(check_media_file(path))


def frame_grid(source_fps: float, target_fps: float, start_s: float, num_frames: int) -> range:
    """Source frame indices the official reader asks for (before capping at the stream length)."""
    start = math.floor(start_s * source_fps)
    # official quirk: the step is ceil(f / target_fps), so a 30 fps source read "at 25 fps" takes
    # every 2nd frame (15 fps effective) and the tail of the n frames is the last frame repeated.
    interval = math.ceil(source_fps / target_fps)
    return range(start, start + num_frames * interval, interval)


def pad_frames(frames: torch.Tensor, num_frames: int) -> torch.Tensor:
    """frames: (F', 3, H, W) with F' >= 1 -> (num_frames, 3, H, W): truncate, or repeat the last frame."""
    if frames.shape[0] >= num_frames:
        return frames[:num_frames]
    tail = frames[-1:].expand(num_frames - frames.shape[0], *frames.shape[1:])
    return torch.cat([frames, tail], dim=0)


def resize_frames(frames: torch.Tensor, size: int) -> torch.Tensor:
    """frames: (F, 3, H, W) uint8 or float -> (F, 3, size, size), same dtype.

    Squash to a square (aspect not kept), bilinear with antialias, computed in float32; uint8 input
    is rounded back to uint8 (torchvision's tensor `Resize` does the same).
    """
    if frames.shape[-2:] == (size, size):
        return frames
    out = F.interpolate(
        frames.float(), size=(size, size), mode="bilinear", align_corners=False, antialias=True
    )
    if frames.dtype == torch.uint8:
        return out.round().clamp(0, 255).to(torch.uint8)
    return out.to(frames.dtype)


def _open_input(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path))
    except av.FFmpegError as exc:
        raise MediaError(f"{path}: cannot open ({one_line(exc)}); re-encode it as MP4 (H.264)") from exc


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    if not container.streams.video:
        raise MediaError(f"{path}: has no video stream; pass a video or image file, or omit the video prompt")
    stream = container.streams.video[0]
    check_pixels(path, stream.codec_context.width, stream.codec_context.height)  # before any frame decodes
    stream.thread_type = "AUTO"
    return stream


def _source_rate(stream: av.video.stream.VideoStream, path: Path) -> Fraction:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or not 0 < rate <= MAX_SOURCE_FPS:
        raise MediaError(f"{path}: frame rate {rate or 'unknown'} is unusable; re-encode it at a constant "
                         f"rate of at most {MAX_SOURCE_FPS:.0f} fps")
    return Fraction(rate)


def _decoded_frames(container: av.container.InputContainer, stream, path: Path) -> Iterator[av.VideoFrame]:
    """Every frame of `stream` in presentation order; decoder errors become MediaError."""
    try:
        yield from container.decode(stream)
    except av.FFmpegError as exc:
        raise MediaError(
            f"{path}: cannot decode video ({one_line(exc)}); re-encode it as MP4 (H.264)"
        ) from exc


def _frame_to_tensor(frame: av.VideoFrame, reformatter: VideoReformatter | None = None) -> torch.Tensor:
    """One decoded frame -> (3, H, W) uint8 RGB. Pass one `reformatter` for all frames of a stream: it keeps
    its colour-conversion context, 2-4x faster than a fresh one per frame, with the same pixels."""
    rgb = (reformatter or VideoReformatter()).reformat(frame, format="rgb24")
    return torch.from_numpy(rgb.to_ndarray()).permute(2, 0, 1)


def _read_still(path: Path) -> torch.Tensor:
    """First frame of an image file -> (3, H, W) uint8 RGB (alpha dropped). The size is read from the
    header first, so an oversized picture is refused before it decodes."""
    check_image_size(path)
    with _open_input(path) as container:
        stream = _video_stream(container, path)
        frame = next(_decoded_frames(container, stream, path), None)
        if frame is None:
            raise MediaError(f"{path}: image has no decodable picture; re-save it as PNG or JPEG")
        return _frame_to_tensor(frame)


def read_video(
    path: str | os.PathLike,
    *,
    fps: float,
    start_s: float = 0.0,
    duration_s: float,
    size: int = 224,
    require_full_span: bool = False,
) -> torch.Tensor:
    """Frames of a video (or still image) on the official grid. Returns (n, 3, size, size) uint8.

    n = round(duration_s * fps): 50 for CLIP (5 fps, 10 s), 250 for sync features (25 fps).
    A video ending inside the span is padded with its last frame (official behaviour) unless
    `require_full_span`; a span starting after the end is a MediaError.
    """
    path = check_media_file(path)
    num_frames = _check_span(fps, start_s, duration_s)
    if is_still_image(path):
        still = resize_frames(_read_still(path)[None], size)  # (1, 3, size, size)
        return still.expand(num_frames, -1, -1, -1).clone()
    with _open_input(path) as container:
        stream = _video_stream(container, path)
        rate = _source_rate(stream, path)
        grid = frame_grid(float(rate), fps, start_s, num_frames)
        span_frames = math.ceil(float((start_s + duration_s) * rate) - 1e-6)  # frames 0..end of span
        last_index = max(grid[-1], span_frames - 1) if require_full_span else grid[-1]
        frames, total = _decode_grid(container, stream, path, grid, size, last_index)
    length_s = float(total / rate)
    if not frames:
        raise MediaError(
            f"{path}: video is {length_s:.2f} s long but the requested span starts at "
            f"{start_s} s; pass a smaller start"
        )
    if require_full_span and total < span_frames:
        raise MediaError(
            f"{path}: video is {length_s:.2f} s long, shorter than the requested span "
            f"{start_s}-{start_s + duration_s} s; pass a shorter duration or an earlier start"
        )
    return pad_frames(torch.stack(frames), num_frames)


def _check_span(fps: float, start_s: float, duration_s: float) -> int:
    if not fps > 0 or start_s < 0 or not duration_s > 0:
        raise InputError(f"{fps=} and {duration_s=} must be > 0 and {start_s=} >= 0")
    num_frames = seconds_to_video_frames(duration_s, fps)
    if num_frames < 1:
        raise InputError(f"{duration_s=} at {fps=} is less than one frame; pass a longer duration")
    return num_frames


def _decode_grid(
    container, stream, path: Path, grid: range, size: int, last_index: int
) -> tuple[list[torch.Tensor], int]:
    """Decode from the start, keep frames whose index is in `grid`, each resized to (3, size, size).

    Returns (kept frames, number of frames decoded). Stops after frame `last_index`, so `total` is
    the stream length only when the stream ends before that.
    """
    kept, total, reformatter = [], 0, VideoReformatter()
    for index, frame in enumerate(_decoded_frames(container, stream, path)):
        total = index + 1
        if index in grid:
            kept.append(resize_frames(_frame_to_tensor(frame, reformatter)[None], size)[0])
        if index >= last_index:
            break
    return kept, total


def read_video_prompt(
    path: str | os.PathLike,
    *,
    fps: float,
    start_s: float = 0.0,
    duration_s: float,
    size: int = 224,
    official_image_scaling: bool = True,
) -> torch.Tensor:
    """Video input for the CLIP conditioner, which divides by 255. Returns (n, 3, size, size).

    Videos: uint8 frames as `read_video`. Images with `official_image_scaling`: float32 in [0, 1]
    (resized in float, not rounded), so the picture reaches CLIP scaled to [0, 1/255].
    """
    if not (official_image_scaling and is_still_image(path)):
        return read_video(path, fps=fps, start_s=start_s, duration_s=duration_s, size=size)
    path = check_media_file(path)
    num_frames = _check_span(fps, start_s, duration_s)
    # official quirk: the image path converts to float in [0, 1] (ToTensor) and the conditioner
    # divides by 255 again; kept for conformance, pass official_image_scaling=False for the fix.
    still = resize_frames(_read_still(path)[None].float() / 255.0, size)  # (1, 3, size, size)
    return still.expand(num_frames, -1, -1, -1).clone()


def video_duration_s(path: str | os.PathLike) -> float:
    """Duration of the first video stream in seconds (stream, then container metadata, else decoded)."""
    path = check_media_file(path)
    if is_still_image(path):
        raise MediaError(f"{path}: is a still image and has no duration; pass the duration explicitly")
    with _open_input(path) as container:
        stream = _video_stream(container, path)
        if stream.duration:
            return float(stream.duration * stream.time_base)
        if container.duration:
            return container.duration / av.time_base
        rate = _source_rate(stream, path)
        count = sum(1 for _ in _decoded_frames(container, stream, path))
        return float(count / rate)


def mux_audio_into_video(
    video_path: str | os.PathLike,
    audio: torch.Tensor,
    sample_rate: int,
    out_path: str | os.PathLike,
    start_s: float,
    duration_s: float,
) -> Path:
    """Write the span [start_s, start_s + duration_s) of a video with `audio` as its only soundtrack.

    audio: (C, S) float in [-1, 1], C in {1, 2}, starting at start_s. The video is re-encoded
    (H.264 when available, else MPEG-4 part 2) so the cut is frame-exact; the soundtrack is AAC.
    Like ffmpeg's `-shortest`, the output ends where the shorter of picture and sound ends.
    The file appears atomically at `out_path` (.mp4, .mkv or .mov).
    """
    src, out_path = check_media_file(video_path), Path(out_path)
    _check_mux_args(audio, sample_rate, out_path, start_s, duration_s)
    if sample_rate not in AAC_SAMPLE_RATES:  # AAC has a fixed set of rates: resample up to the next one
        target = min((r for r in AAC_SAMPLE_RATES if r >= sample_rate), default=max(AAC_SAMPLE_RATES))
        audio, sample_rate = resample(audio, sample_rate, target), target
    with _open_input(src) as container, atomic_output(out_path) as tmp:
        stream = _video_stream(container, src)
        rate = _source_rate(stream, src)
        first = math.floor(start_s * rate)
        wanted = range(first, first + seconds_to_video_frames(duration_s, float(rate)))
        with av.open(str(tmp), "w") as out:
            vout = _add_video_stream(out, stream, rate)
            aout = out.add_stream("aac", rate=sample_rate, layout=_LAYOUTS[audio.shape[0]])
            written = _copy_video_span(container, stream, src, out, vout, wanted, rate)
            if written == 0:
                raise MediaError(f"{src}: video ends before {start_s} s; pass a smaller start")
            kept = min(
                audio.shape[1],
                seconds_to_samples(duration_s, sample_rate),
                seconds_to_samples(float(written / rate), sample_rate),
            )
            _write_audio_track(out, aout, audio[:, :kept], sample_rate)
    return out_path


AAC_SAMPLE_RATES = (7350, 8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000)


def _check_mux_args(audio: torch.Tensor, sample_rate: int, out_path: Path, start_s: float, duration_s: float):
    if out_path.suffix.lower() not in MUX_SUFFIXES:
        raise InputError(f"{out_path}: cannot write {out_path.suffix or 'no suffix'}; use .mp4, .mkv or .mov")
    if (
        audio.ndim != 2
        or audio.shape[0] not in (1, 2)
        or audio.shape[1] == 0
        or not audio.is_floating_point()
    ):
        raise InputError(f"{audio.shape=} {audio.dtype=}, expected float (C, S) with C = 1 or 2")
    if sample_rate <= 0 or start_s < 0 or not duration_s > 0:
        raise InputError(f"{sample_rate=} and {duration_s=} must be > 0 and {start_s=} >= 0")


def _add_video_stream(out, stream, rate: Fraction):
    """An H.264 (else MPEG-4) yuv420p stream of `out` at the source rate and (even) size."""
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    vout = out.add_stream(codec, rate=rate)
    vout.width, vout.height = _even(stream.codec_context.width), _even(stream.codec_context.height)
    vout.pix_fmt = "yuv420p"
    return vout


def _copy_video_span(container, stream, src: Path, out, vout, wanted: range, rate: Fraction) -> int:
    """Re-encode the decoded frames with index in `wanted` into `vout`; returns how many were written."""
    written = 0
    for index, frame in enumerate(_decoded_frames(container, stream, src)):
        if index >= wanted.stop:
            break
        if index >= wanted.start:
            picture = frame.reformat(width=vout.width, height=vout.height, format="yuv420p")
            picture.pts, picture.time_base = written, 1 / rate
            out.mux(vout.encode(picture))
            written += 1
    out.mux(vout.encode(None))
    return written


def _even(pixels: int) -> int:
    """yuv420p needs even frame sizes: drop the odd last row / column (at least 2)."""
    return max(2, pixels - pixels % 2)


def _write_audio_track(out, aout, audio: torch.Tensor, sample_rate: int) -> None:
    """audio: (C, S) float -> the AAC stream `aout` of `out`."""
    samples = audio.detach().to("cpu", torch.float32).clamp(-1.0, 1.0).contiguous().numpy()
    frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=_LAYOUTS[audio.shape[0]])
    frame.sample_rate, frame.pts, frame.time_base = sample_rate, 0, Fraction(1, sample_rate)
    out.mux(aout.encode(frame))
    out.mux(aout.encode(None))
