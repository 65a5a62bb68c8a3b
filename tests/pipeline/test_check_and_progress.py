"""`AudioX.check` (the model's checks without a run) and the `on_step` progress hook of `AudioX.__call__`."""

from __future__ import annotations

import pytest

from audiox.errors import InputError
from audiox.pipeline import GenerationRequest


def test_check_fills_the_models_defaults(dit_pipe):
    checked = dit_pipe.check(GenerationRequest(text="x", steps=3))
    d = dit_pipe.defaults
    assert (checked.steps, checked.sampler, checked.cfg_scale, checked.sigma_max) == (3, d.sampler, d.cfg_scale, d.sigma_max)


@pytest.mark.parametrize(
    "fields, text",
    [
        ({"text": "x", "sampler": "nope"}, "unknown sampler"),
        ({"text": "x", "sampler": "rf-euler"}, "for rectified-flow models"),
        ({"audio": "take.wav", "inpaint": (1.0, 30.0)}, "inside one"),
    ],
)
def test_check_refuses_without_running(dit_pipe, fields, text):
    with pytest.raises(InputError) as info:
        dit_pipe.check(GenerationRequest(**fields))
    assert text in str(info.value)


def test_check_refuses_a_video_shorter_than_the_span(dit_pipe, media):
    with pytest.raises(InputError, match="video is 4.00 s long"):
        dit_pipe.check(GenerationRequest(video=media["video"], duration_s=8.0))


def test_on_step_counts_every_sampler_step_over_all_windows(dit_pipe):
    calls = []
    request = GenerationRequest(text="x", steps=3, duration_s=dit_pipe.window_s + 2.0, sampler="euler")
    dit_pipe(request, on_step=lambda done, total: calls.append((done, total)))
    assert calls == [(i, 6) for i in range(1, 7)]  # two windows of three steps
