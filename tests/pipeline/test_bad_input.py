"""Bad requests fail with one clear line, before any work."""

from __future__ import annotations

import pytest
import torch

from audiox.errors import AudioXError, InputError, MediaError
from audiox.pipeline import GenerationRequest


@pytest.mark.parametrize(
    "fields, error, text",
    [
        ({"duration_s": 0}, InputError, "duration must be a number from 0.01 to 600"),
        ({"duration_s": float("nan")}, InputError, "duration must be"),
        ({"duration_s": float("inf")}, InputError, "duration must be"),
        ({"duration_s": "10"}, InputError, "duration must be a number"),
        ({"duration_s": True}, InputError, "duration must be a number"),
        ({"seconds_start": -0.5}, InputError, "seconds_start must be"),
        ({"steps": 0}, InputError, "steps must be an integer from 1 to 10000"),
        ({"steps": 2.0}, InputError, "steps must be an integer"),
        ({"cfg_scale": -1.0}, InputError, "cfg_scale must be a number from 0 to 100"),
        ({"cfg_scale": float("nan")}, InputError, "cfg_scale must be"),
        ({"sigma_min": 0.0}, InputError, "sigma_min must be a number above 0"),
        ({"sigma_min": 3.0, "sigma_max": 2.0}, InputError, "below sigma_max"),
        ({"batch_size": 0}, InputError, "batch_size must be an integer from 1 to 64"),
        ({"seed": -1}, InputError, "seed must be an integer from 0 to 2**64 - 1"),
        ({"seed": 1.0}, InputError, "seed must be an integer"),
        ({"task": "speech"}, InputError, "task must be"),
        ({"video": "a.mp4", "image": "b.png"}, InputError, "either a video or an image"),
        ({"inpaint": (1.0, 2.0)}, InputError, "inpaint needs the audio"),
        ({"audio": "x.wav", "inpaint": (2.0, 1.0)}, InputError, "0 <= start < end"),
        ({"audio": "x.wav", "inpaint": (1.0,)}, InputError, "inpaint must be (start_s, end_s)"),
        ({"image": "x.mp4"}, InputError, "not an image file"),
        ({"video": 3}, InputError, "video must be a file path"),
        ({"audio": "bad\x00name.wav"}, InputError, "not a usable file path"),
        ({"audio": torch.zeros(2, 10)}, InputError, "an audio tensor needs audio_sample_rate"),
        ({"audio": torch.full((2, 10), float("nan")), "audio_sample_rate": 16000}, InputError, "NaN or infinite"),
        ({"audio": torch.zeros(2, 10, dtype=torch.int16), "audio_sample_rate": 16000}, InputError, "expected float"),
        ({"audio": torch.zeros(2, 0), "audio_sample_rate": 16000}, InputError, "S >= 1"),
        ({"audio": torch.zeros(2, 10), "audio_sample_rate": 0}, InputError, "audio_sample_rate must be"),
        ({"init_audio": torch.zeros(1, 10), "init_audio_sample_rate": 10**7}, InputError, "init_audio_sample_rate"),
        ({"init_strength": 0.5}, InputError, "init_strength needs an init audio"),
        ({"text": "x", "new_only": True}, InputError, "new_only is for continuation"),
        ({"text": 5}, InputError, "text must be a string"),
        ({"text": "\udcff"}, InputError, "not valid UTF-8"),
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
