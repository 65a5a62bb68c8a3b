"""Audio files in and out: read (soundfile, else PyAV), prepare a prompt, write atomically.

Reading returns float32 `(C, S)` tensors and the file's sample rate. WAV/FLAC/OGG/AIFF go through
soundfile (libsndfile); anything else (mp3, m4a, aac, opus in webm, the audio track of a video...)
through PyAV. Every failure a user can cause is a one-line `MediaError` naming the file.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import soundfile as sf
import torch

from audiox.errors import InputError, MediaError
from audiox.media.formats import WRITE_FORMATS, check_media_file, one_line
from audiox.media.resample import resample
from audiox.media.timing import seconds_to_samples

MAX_AUDIO_S = 1200.0  # longest audio file read (20 minutes), checked before decoding it in full
MAX_SAMPLE_RATE = 768_000
MAX_AUDIO_VALUES = 200_000_000  # channels x samples (800 MB as float32)
SOUNDFILE_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff"})
SAMPLE_FORMATS = ("pcm16", "float")
PAD_SIDES = ("left", "right")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; move it onto `path` only if the block succeeds.

    On any error the temporary file is removed and an existing `path` is left untouched, so readers
    never see a half-written file. The temporary name keeps the suffix so format sniffing works.
    """
    path = Path(path)
    if not path.parent.is_dir():
        raise MediaError(f"{path}: folder {path.parent} does not exist; create it first")
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    except OSError as exc:
        raise MediaError(f"{path}: cannot write ({exc.strerror or one_line(exc)}); pick another place") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a written file gets the usual permissions
        os.replace(tmp, path)
    except OSError as exc:  # disk full, name too long, permissions changed under us, ...
        raise MediaError(f"{path}: cannot write ({exc.strerror or one_line(exc)}); pick another place") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_audio(path: str | os.PathLike) -> tuple[torch.Tensor, int]:
    """Decode an audio file (or the first audio track of a video). Returns (audio: (C, S) float32, sr).

    The length is checked against MAX_AUDIO_S from the header before decoding in full; NaN or infinite
    samples (float files) are a MediaError, not silence."""
    path = check_media_file(path)
    audio_duration_s(path)  # refuses an over-long file before decoding it
    if path.suffix.lower() in SOUNDFILE_SUFFIXES:
        audio, sample_rate = _read_with_soundfile(path)
    else:
        audio, sample_rate = _read_with_pyav(path)
    if audio.shape[1] == 0:
        raise MediaError(f"{path}: contains no audio samples; pick a file with sound in it")
    if not np.isfinite(audio).all():
        raise MediaError(f"{path}: holds NaN or infinite samples; re-export it as 16-bit PCM")
    return torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32)), int(sample_rate)


def audio_duration_s(path: str | os.PathLike) -> float:
    """Length in seconds of an audio file from its header (no full decode); MediaError for a file that
    cannot be read or is longer than MAX_AUDIO_S."""
    path = check_media_file(path)
    if path.suffix.lower() in SOUNDFILE_SUFFIXES:
        try:
            info = sf.info(str(path))
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise MediaError(f"{path}: cannot decode audio ({one_line(exc)}); re-export it as WAV or FLAC") from exc
        frames, rate, channels = info.frames, info.samplerate, info.channels
    else:
        frames, rate, channels = _pyav_header(path)
    if not 0 < rate <= MAX_SAMPLE_RATE:
        raise MediaError(f"{path}: sample rate {rate} Hz is outside 1 .. {MAX_SAMPLE_RATE}; re-export it")
    seconds = frames / rate
    if seconds > MAX_AUDIO_S or frames * channels > MAX_AUDIO_VALUES:
        raise MediaError(f"{path}: audio is {seconds:.0f} s x {channels} channels, over the limit of "
                         f"{MAX_AUDIO_S:.0f} s; trim it first")
    return seconds


def _pyav_header(path: Path) -> tuple[int, int, int]:
    """(frames, sample rate, channels) of the first audio stream from container metadata (frames 0 when
    the container does not say)."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(f"{path}: has no audio stream; pass a file with sound in it")
            stream = container.streams.audio[0]
            seconds = float(stream.duration * stream.time_base) if stream.duration else (
                container.duration / av.time_base if container.duration else 0.0)
            return round(seconds * stream.rate), stream.rate, stream.channels
    except av.FFmpegError as exc:
        raise MediaError(f"{path}: cannot decode audio ({one_line(exc)}); convert it to WAV or FLAC") from exc


def _read_with_soundfile(path: Path) -> tuple[np.ndarray, int]:
    try:
        data, sample_rate = sf.read(path, dtype="float32", always_2d=True)  # (S, C)
    except sf.LibsndfileError as exc:
        raise MediaError(
            f"{path}: cannot decode audio ({one_line(exc)}); re-export it as WAV or FLAC"
        ) from exc
    return data.T, sample_rate  # (C, S)


def _read_with_pyav(path: Path) -> tuple[np.ndarray, int]:
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError(f"{path}: has no audio stream; pass a file with sound in it")
            stream = container.streams.audio[0]
            to_float = av.AudioResampler(format="fltp", layout=stream.layout, rate=stream.rate)
            chunks = []
            for frame in container.decode(stream):
                chunks.extend(out.to_ndarray() for out in to_float.resample(frame))
                if frame.pts is not None and frame.time_base and float(frame.pts * frame.time_base) > MAX_AUDIO_S:
                    raise MediaError(f"{path}: audio is longer than the limit of {MAX_AUDIO_S:.0f} s; trim it")
            chunks.extend(out.to_ndarray() for out in to_float.resample(None))
            sample_rate, num_channels = stream.rate, stream.channels
    except av.FFmpegError as exc:
        raise MediaError(f"{path}: cannot decode audio ({one_line(exc)}); convert it to WAV or FLAC") from exc
    if not chunks:
        return np.zeros((num_channels, 0), np.float32), sample_rate
    return np.concatenate(chunks, axis=1), sample_rate  # (C, S)


def fix_channels(audio: torch.Tensor, channels: int) -> torch.Tensor:
    """audio: (..., C, S) -> (..., channels, S), e.g. (C, S) or a batch (B, C, S).

    Like the official conditioner: mono is repeated to every channel, extra channels are dropped
    (first ones kept). A mono target averages the channels (stable-audio's `set_audio_channels`).
    """
    num_channels = audio.shape[-2]
    if num_channels == channels:
        return audio
    if channels == 1:
        return audio.mean(dim=-2, keepdim=True)
    if num_channels == 1:
        return audio.expand(*audio.shape[:-2], channels, -1).clone()
    if num_channels > channels:
        return audio[..., :channels, :]
    raise InputError(f"cannot turn {num_channels} audio channels into {channels}; pass mono or {channels}")


def crop_or_pad(audio: torch.Tensor, start: int, length: int, pad: str) -> torch.Tensor:
    """audio: (C, S) -> (C, length): the samples [start, start + length), zero-padded on `pad` side."""
    if pad not in PAD_SIDES:
        raise InputError(f"pad={pad!r} must be one of {PAD_SIDES}")
    piece = audio[:, start : start + length]
    missing = length - piece.shape[1]
    if missing == 0:
        return piece
    zeros = piece.new_zeros(piece.shape[0], missing)
    return torch.cat([zeros, piece] if pad == "left" else [piece, zeros], dim=1)


def prepare_audio_prompt(
    source: str | os.PathLike | torch.Tensor,
    sample_rate: int,
    channels: int,
    start_s: float,
    duration_s: float,
    pad: str = "left",
    *,
    source_sample_rate: int | None = None,
) -> torch.Tensor:
    """Audio prompt for the conditioner: returns (channels, round(duration_s * sample_rate)) float32.

    `source` is a file path or a (S,) / (C, S) float tensor at `source_sample_rate` (default:
    already at `sample_rate`). Steps: resample the whole signal, fix channels, crop the span
    [start_s, start_s + duration_s), pad a short crop with zeros. The official helper pads on the
    left (`pad="left"`, its default here); training data is right-padded.
    """
    if duration_s <= 0 or start_s < 0:
        raise InputError(f"{start_s=} must be >= 0 and {duration_s=} > 0")
    audio, rate, name = _prompt_source(source, sample_rate, source_sample_rate)
    audio = resample(audio, rate, sample_rate)
    audio = fix_channels(audio, channels)
    start = seconds_to_samples(start_s, sample_rate)
    if start >= audio.shape[1]:
        have_s = audio.shape[1] / sample_rate
        raise MediaError(
            f"{name}: audio is {have_s:.2f} s long but the prompt starts at {start_s} s; pass a smaller start"
        )
    return crop_or_pad(audio, start, seconds_to_samples(duration_s, sample_rate), pad)


def _prompt_source(
    source: str | os.PathLike | torch.Tensor, sample_rate: int, source_sample_rate: int | None
) -> tuple[torch.Tensor, int, str]:
    if not isinstance(source, torch.Tensor):
        audio, rate = read_audio(source)
        return audio, rate, str(source)
    if source.ndim not in (1, 2) or not torch.is_floating_point(source):
        raise InputError(f"audio prompt {source.shape=} {source.dtype=}, expected float (S,) or (C, S)")
    audio = source if source.ndim == 2 else source[None]
    return audio.float(), source_sample_rate or sample_rate, "audio prompt tensor"


def peak_normalize(audio: torch.Tensor) -> torch.Tensor:
    """audio: (..., S) -> same shape: divide by max(|x|) (at least 1e-8), clamp to [-1, 1].

    The official post-processing, applied to the whole tensor at once (global peak).
    """
    peak = audio.abs().max().clamp_min(1e-8)
    return (audio / peak).clamp(-1.0, 1.0)


def to_pcm16(audio: torch.Tensor) -> torch.Tensor:
    """audio: (C, S) float -> (C, S) int16 via x * 32767 with truncation toward zero."""
    # official quirk: the original README converts with `.mul(32767).to(torch.int16)`, which
    # truncates instead of rounding (so 0.99999 -> 32766); values are clamped to [-1, 1] first.
    return (audio.clamp(-1.0, 1.0) * 32767).to(torch.int16)


def write_audio(
    path: str | os.PathLike,
    audio: torch.Tensor,
    sample_rate: int,
    *,
    sample_format: str = "pcm16",
    normalize: bool = True,
    comment: str | None = None,
) -> Path:
    """Write audio: (C, S) float to .wav, .flac or .ogg (Vorbis) atomically; returns the path.

    `normalize=True` applies `peak_normalize` (official post-processing); `False` writes the raw
    values (clamped to [-1, 1] for PCM). `sample_format`: "pcm16" (default) or "float" (WAV only);
    OGG is always Vorbis-coded. `comment` goes into the file's metadata (WAV INFO / Vorbis comment).
    """
    path = Path(path)
    file_format = _check_write_args(path, audio, sample_format)
    audio = audio.detach().to("cpu", torch.float32)
    if normalize:
        audio = peak_normalize(audio)
    if file_format == "OGG":
        data, subtype = audio.clamp(-1.0, 1.0).numpy(), "VORBIS"
    elif sample_format == "pcm16":
        data, subtype = to_pcm16(audio).numpy(), "PCM_16"
    else:
        data, subtype = audio.numpy(), "FLOAT"
    with atomic_output(path) as tmp, sf.SoundFile(tmp, "w", sample_rate, data.shape[0], subtype=subtype,
                                                  format=file_format) as f:
        f.software = "audiox"
        if comment:
            f.comment = comment
        f.write(data.T)  # (S, C)
    return path


def _check_write_args(path: Path, audio: torch.Tensor, sample_format: str) -> str:
    suffix = path.suffix.lower()
    if suffix not in WRITE_FORMATS:
        raise InputError(f"{path}: cannot write {suffix or 'files without a suffix'}; use one of {', '.join(WRITE_FORMATS)}")
    if sample_format not in SAMPLE_FORMATS:
        raise InputError(f"sample_format={sample_format!r} must be one of {SAMPLE_FORMATS}")
    if sample_format == "float" and suffix != ".wav":
        raise InputError(f"{path}: {WRITE_FORMATS.get(suffix, suffix)} stores no float samples; use .wav for float output")
    if audio.ndim != 2 or not torch.is_floating_point(audio):
        raise InputError(f"{audio.shape=} {audio.dtype=}, expected float (C, S)")
    return WRITE_FORMATS[suffix]
