import pytest

from audiox.errors import InputError
from audiox.media.timing import (
    latent_frames_covering,
    latent_frames_to_samples,
    samples_to_latent_frames,
    samples_to_seconds,
    seconds_to_latent_frames,
    seconds_to_samples,
    seconds_to_video_frames,
)


def test_official_sizes():
    assert seconds_to_samples(10, 44100) == 441000
    assert samples_to_latent_frames(441000) == 215
    assert samples_to_latent_frames(485100) == 236  # the sample_size the official callers pass
    assert latent_frames_to_samples(236) == 483328
    assert seconds_to_latent_frames(11, 44100) == 236
    assert samples_to_seconds(441000, 44100) == 10.0


@pytest.mark.parametrize("duration_s", [0.1, 1.0, 2.5, 10.1, 11.0, 47.3])
def test_samples_are_rounded_not_truncated(duration_s):
    assert seconds_to_samples(duration_s, 44100) == round(duration_s * 44100)
    assert seconds_to_samples(10.1, 44100) == 445410


def test_other_ratio_and_covering():
    assert samples_to_latent_frames(1000, downsampling_ratio=4) == 250
    assert latent_frames_to_samples(3, downsampling_ratio=4) == 12
    assert latent_frames_covering(10, 44100) == 216  # 215 * 2048 < 441000 <= 216 * 2048
    assert latent_frames_covering(1, 8, downsampling_ratio=4) == 2


def test_video_frames():
    assert seconds_to_video_frames(10, 5) == 50
    assert seconds_to_video_frames(10, 25) == 250
    assert seconds_to_video_frames(0.3, 10) == 3


@pytest.mark.parametrize(
    "call",
    [
        lambda: seconds_to_samples(-1, 44100),
        lambda: seconds_to_samples(1, 0),
        lambda: samples_to_latent_frames(10, downsampling_ratio=0),
        lambda: seconds_to_video_frames(1, -5),
    ],
)
def test_bad_arguments(call):
    with pytest.raises(InputError):
        call()
