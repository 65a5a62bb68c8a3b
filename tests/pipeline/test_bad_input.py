"""Bad requests fail with one clear line, before any work."""

from __future__ import annotations

import pytest

from audiox.errors import AudioXError, InputError, MediaError
from audiox.pipeline import GenerationRequest


@pytest.mark.parametrize(
    "fields, error, text",
    [
        ({"duration_s": 0}, InputError, "duration must be > 0"),
        ({"steps": 0}, InputError, "steps must be >= 1"),
        ({"cfg_scale": -1.0}, InputError, "cfg_scale must be >= 0"),
        ({"batch_size": 0}, InputError, "batch_size must be >= 1"),
        ({"task": "speech"}, InputError, "task must be"),
        ({"video": "a.mp4", "image": "b.png"}, InputError, "either a video or an image"),
        ({"inpaint": (1.0, 2.0)}, InputError, "inpaint needs the audio"),
        ({"audio": "x.wav", "inpaint": (2.0, 1.0)}, InputError, "0 <= start < end"),
        ({"image": "x.mp4"}, InputError, "not an image file"),
    ],
)
def test_bad_requests(fields, error, text):
    with pytest.raises(error, match=None) as info:
        GenerationRequest(**fields)
    assert text in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "fields, error, text",
    [
        ({"text": "x", "sampler": "nope"}, InputError, "unknown sampler"),
        ({"video": "/no/such/clip.mp4"}, MediaError, "clip.mp4"),
        ({"audio": "/no/such/take.wav"}, MediaError, "take.wav"),
    ],
)
def test_bad_requests_at_generation(dit_pipe, fields, error, text):
    with pytest.raises(error) as info:
        dit_pipe(GenerationRequest(duration_s=1.0, steps=1, **fields))
    assert text in str(info.value)


def test_corrupt_video_is_a_media_error(dit_pipe, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(MediaError):
        dit_pipe.generate(video=bad, duration_s=1.0, steps=1)


def test_inpaint_range_longer_than_a_window(dit_pipe, media):
    with pytest.raises(AudioXError, match="one .* window"):
        dit_pipe.generate(audio=media["audio"], inpaint=(1.0, 12.0), duration_s=1.0, steps=1)
