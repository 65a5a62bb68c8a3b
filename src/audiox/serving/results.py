"""A finished job's files, written atomically into its folder: per variation i, `audio_i.wav` (16-bit PCM,
peak-normalised like the CLI, the request in its comment metadata), `spectrogram_i.png` and, for a video
input, `video_i.mp4` (the video's span with the new soundtrack)."""

from __future__ import annotations

import json
from pathlib import Path

from torch import Tensor

from audiox.media.audio import write_audio
from audiox.media.spectrogram import spectrogram_image, write_png
from audiox.media.video import mux_audio_into_video
from audiox.pipeline import AudioOutput
from audiox.serving.store import Job

SPECTROGRAM_WIDTH = 1024  # about this many STFT frames, whatever the duration (a picture, not an analysis)
N_FFT = 512


def write_job_files(folder: Path, job: Job, output: AudioOutput, model_name: str) -> dict[str, list[str]]:
    """Write every variation of `output` (audio (B, C, S)) into `folder`; kind -> file names."""
    request = output.request
    comment = provenance(job, model_name)
    files: dict[str, list[str]] = {"audio": [], "spectrogram": []}
    if request.video is not None:
        files["video"] = []
    for index, audio in enumerate(output.audio):  # (C, S) each
        files["audio"].append(write_audio(folder / f"audio_{index}.wav", audio, output.sample_rate,
                                          comment=comment).name)
        files["spectrogram"].append(write_png(folder / f"spectrogram_{index}.png", spectrogram(audio)).name)
        if request.video is not None:
            video = mux_audio_into_video(request.video, audio, output.sample_rate, folder / f"video_{index}.mp4",
                                         request.seconds_start, request.duration_s)
            files["video"].append(video.name)
    return files


def spectrogram(audio: Tensor) -> Tensor:
    """audio: (C, S) -> (N_FFT // 2 + 1, ~SPECTROGRAM_WIDTH) uint8 picture."""
    hop = max(64, audio.shape[-1] // SPECTROGRAM_WIDTH)
    return spectrogram_image(audio, n_fft=N_FFT, hop=hop)


def provenance(job: Job, model_name: str) -> str:
    """The request as compact JSON for the WAV's metadata: uploads by file name, the seed, the model."""
    fields = {k: (Path(v).name if k in ("video", "image", "audio") else v)
              for k, v in job.request.items() if v is not None}
    fields["model"] = model_name
    return json.dumps(fields, separators=(",", ":"))
