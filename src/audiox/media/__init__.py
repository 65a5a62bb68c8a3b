"""Media I/O: audio and video files in, generated audio (and muxed video) out.

The names below are imported on first use (they need torch, PyAV and soundfile), so importing a light
submodule such as `audiox.media.formats` or `audiox.media.timing` stays cheap.
"""

from importlib import import_module

_SOURCES = {
    "peak_normalize": "audio",
    "prepare_audio_prompt": "audio",
    "read_audio": "audio",
    "write_audio": "audio",
    "resample": "resample",
    "latent_frames_to_samples": "timing",
    "samples_to_latent_frames": "timing",
    "seconds_to_latent_frames": "timing",
    "seconds_to_samples": "timing",
    "seconds_to_video_frames": "timing",
    "mux_audio_into_video": "video",
    "read_video": "video",
    "read_video_prompt": "video",
    "video_duration_s": "video",
}

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


def __getattr__(name: str):
    if name not in _SOURCES:
        raise AttributeError(f"module 'audiox.media' has no attribute {name!r}")
    return getattr(import_module(f"audiox.media.{_SOURCES[name]}"), name)
