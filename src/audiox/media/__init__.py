"""Media I/O: audio and video files in, generated audio (and muxed video) out."""

from audiox.media.audio import (
    peak_normalize,
    prepare_audio_prompt,
    read_audio,
    write_audio,
)
from audiox.media.resample import resample
from audiox.media.timing import (
    latent_frames_to_samples,
    samples_to_latent_frames,
    seconds_to_latent_frames,
    seconds_to_samples,
    seconds_to_video_frames,
)
from audiox.media.video import (
    mux_audio_into_video,
    read_video,
    read_video_prompt,
    video_duration_s,
)

__all__ = [
    "latent_frames_to_samples",
    "mux_audio_into_video",
    "peak_normalize",
    "prepare_audio_prompt",
    "read_audio",
    "read_video",
    "read_video_prompt",
    "resample",
    "samples_to_latent_frames",
    "seconds_to_latent_frames",
    "seconds_to_samples",
    "seconds_to_video_frames",
    "video_duration_s",
    "write_audio",
]
