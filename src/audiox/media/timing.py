"""Seconds <-> audio samples <-> latent frames <-> video frames.

The official pipeline sizes everything from a sample count: latent length L = sample_size // ratio
(ratio = the VAE's downsampling ratio, 2048 for the shipped Oobleck VAE) and the decoder returns
L * ratio samples. 10 s at 44.1 kHz is 441000 samples; callers pass 485100 (11 s) so that
L = 236 latents decode to 483328 samples, which are then trimmed back to the requested 441000.
Durations are rounded to the nearest whole sample / frame so that 10.1 s * 44100 Hz is 445410
and not 445409 from float error.
"""

from __future__ import annotations

from audiox.errors import InputError

OFFICIAL_DOWNSAMPLING_RATIO = 2048  # Oobleck VAE strides [2, 4, 4, 8, 8]


def _check_positive(name: str, value: float) -> None:
    if not value > 0:
        raise InputError(f"{name}={value!r} must be > 0")


def _check_non_negative(name: str, value: float) -> None:
    if not value >= 0:
        raise InputError(f"{name}={value!r} must be >= 0")


def seconds_to_samples(duration_s: float, sample_rate: int) -> int:
    """Number of audio samples in `duration_s` seconds, rounded to the nearest sample."""
    _check_non_negative("duration_s", duration_s)
    _check_positive("sample_rate", sample_rate)
    return round(duration_s * sample_rate)


def samples_to_seconds(num_samples: int, sample_rate: int) -> float:
    """Duration in seconds of `num_samples` samples."""
    _check_non_negative("num_samples", num_samples)
    _check_positive("sample_rate", sample_rate)
    return num_samples / sample_rate


def samples_to_latent_frames(
    num_samples: int, *, downsampling_ratio: int = OFFICIAL_DOWNSAMPLING_RATIO
) -> int:
    """Latent length the official sampler uses for `sample_size` samples: floor(S / ratio)."""
    _check_non_negative("num_samples", num_samples)
    _check_positive("downsampling_ratio", downsampling_ratio)
    return num_samples // downsampling_ratio


def latent_frames_to_samples(
    num_latent_frames: int, *, downsampling_ratio: int = OFFICIAL_DOWNSAMPLING_RATIO
) -> int:
    """Number of samples the VAE decoder returns for L latent frames: L * ratio."""
    _check_non_negative("num_latent_frames", num_latent_frames)
    _check_positive("downsampling_ratio", downsampling_ratio)
    return num_latent_frames * downsampling_ratio


def seconds_to_latent_frames(
    duration_s: float, sample_rate: int, *, downsampling_ratio: int = OFFICIAL_DOWNSAMPLING_RATIO
) -> int:
    """Latent frames for a sample_size of round(duration_s * sample_rate) samples (floor division)."""
    num_samples = seconds_to_samples(duration_s, sample_rate)
    return samples_to_latent_frames(num_samples, downsampling_ratio=downsampling_ratio)


def latent_frames_covering(
    duration_s: float, sample_rate: int, *, downsampling_ratio: int = OFFICIAL_DOWNSAMPLING_RATIO
) -> int:
    """Smallest latent length whose decoded audio is at least `duration_s` long: ceil(S / ratio)."""
    num_samples = seconds_to_samples(duration_s, sample_rate)
    _check_positive("downsampling_ratio", downsampling_ratio)
    return -(-num_samples // downsampling_ratio)


def seconds_to_video_frames(duration_s: float, fps: float) -> int:
    """Number of video frames n = duration * fps (50 for 10 s at 5 fps, 250 at 25 fps), rounded."""
    _check_non_negative("duration_s", duration_s)
    _check_positive("fps", fps)
    return round(duration_s * fps)
