"""Every task end to end on tiny random-weight models: media in, audio out of the right length/rate/channels."""

from __future__ import annotations

import pytest
import torch

from audiox.pipeline import GenerationRequest
from tests.tiny_pipelines import FAST

TASKS = {
    "text-to-audio": lambda m: {"text": "a dog barks"},
    "text-to-music": lambda m: {"text": "calm piano", "task": "music"},
    "video-to-audio": lambda m: {"video": m["video"]},
    "video-to-music": lambda m: {"video": m["video"], "task": "music"},
    "text+video-to-audio": lambda m: {"text": "engine", "video": m["video"]},
    "image-to-audio": lambda m: {"image": m["image"]},
    "inpainting": lambda m: {"audio": m["audio"], "inpaint": (1.0, 2.0)},
    "continuation": lambda m: {"text": "piano", "audio": m["audio"], "task": "music"},
}


MODES = {
    "text-to-audio": "text-to-audio",
    "text-to-music": "text-to-audio",
    "video-to-audio": "video-to-audio",
    "video-to-music": "video-to-audio",
    "text+video-to-audio": "video-to-audio",
    "image-to-audio": "image-to-audio",
    "inpainting": "inpainting",
    "continuation": "continuation",
}


@pytest.mark.parametrize("task", sorted(TASKS))
def test_task_generates_requested_audio(pipe, media, task):
    fields = TASKS[task](media)
    out = pipe(GenerationRequest(duration_s=3.0, seed=1, **FAST, **fields))
    prompt_s = 6 if task == "continuation" else 0  # a continuation returns the 6 s prompt, then the new audio
    assert out.audio.shape == (1, 2, (prompt_s + 3) * pipe.sample_rate)
    assert out.sample_rate == pipe.sample_rate == 2048
    assert torch.isfinite(out.audio).all() and out.audio.abs().sum() > 0
    assert out.request.mode == MODES[task]


def test_modes_are_inferred(media):
    assert GenerationRequest(text="x").mode == "text-to-audio"
    assert GenerationRequest(video=media["video"]).mode == "video-to-audio"
    assert GenerationRequest(image=media["image"]).mode == "image-to-audio"
    assert GenerationRequest(audio=media["audio"]).mode == "continuation"
    assert GenerationRequest(audio=media["audio"], inpaint=(0.5, 1.0)).mode == "inpainting"


def test_default_text_for_video_follows_task(media):
    assert GenerationRequest(video=media["video"]).prompt_text() == "Generate general audio for the video"
    assert GenerationRequest(video=media["video"], task="music").prompt_text() == "Generate music for the video"
    assert GenerationRequest(video=media["video"], text="rain").prompt_text() == "rain"
    assert GenerationRequest().prompt_text() == ""


@pytest.mark.parametrize("duration_s", [0.5, 1.0, 2.25, 7.3])
def test_output_length_matches_duration(dit_pipe, duration_s):
    out = dit_pipe.generate("bell", duration_s=duration_s, **FAST)
    assert out.audio.shape[-1] == round(duration_s * dit_pipe.sample_rate)


def test_long_form_runs_in_windows(dit_pipe):
    out = dit_pipe.generate("rain", duration_s=23.0, batch_size=2, **FAST)
    assert out.audio.shape == (2, 2, 23 * dit_pipe.sample_rate)
    assert torch.isfinite(out.audio).all()


def test_same_seed_same_output_other_seed_differs(dit_pipe):
    a = dit_pipe.generate("knock", duration_s=2.0, seed=7, **FAST).audio
    b = dit_pipe.generate("knock", duration_s=2.0, seed=7, **FAST).audio
    c = dit_pipe.generate("knock", duration_s=2.0, seed=8, **FAST).audio
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_negative_prompt_changes_output(dit_pipe):
    base = dit_pipe.generate("knock", duration_s=2.0, seed=3, **FAST).audio
    neg = dit_pipe.generate("knock", negative_text="rain", duration_s=2.0, seed=3, **FAST).audio
    assert not torch.equal(base, neg)


def test_defaults_follow_the_model_family(pipe):
    d = pipe.defaults
    if pipe.model.objective == "v":
        assert (d.sampler, d.steps, d.cfg_scale) == ("dpmpp-3m-sde", 250, 7.0)
    else:
        assert d.sampler in ("rf-euler", "dmd")


def test_conditions_are_encoded_once_per_window_not_per_step(dit_pipe, monkeypatch):
    calls = []
    original = dit_pipe.model.conditioner.forward

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(dit_pipe.model.conditioner, "forward", counting)
    dit_pipe.generate("bell", duration_s=2.0, steps=6)
    assert len(calls) == 1
    text_calls = []
    text_conditioner = dit_pipe.model.conditioner.conditioners["text_prompt"]
    monkeypatch.setattr(text_conditioner, "forward", lambda texts: text_calls.append(texts) or original_text(texts))
    original_text = type(text_conditioner).forward.__get__(text_conditioner)
    dit_pipe.generate("bell", negative_text="rain", duration_s=2.0, steps=6)
    assert len(calls) == 2  # the negative prompt reruns only the text conditioner: media are encoded once
    assert [t[0] for t in text_calls] == ["bell", "rain"]


def test_long_form_windows_continue_each_batch_item_separately(dit_pipe):
    """Batch item k of window 2 is conditioned on item k's own first window, as two single runs would be."""
    from audiox.pipeline.windows import last_seconds

    audio = torch.arange(2 * 2 * 30, dtype=torch.float32).view(2, 2, 30)
    tail = last_seconds(audio, 10.0, 2)
    assert tail.shape == (2, 2, 20) and torch.equal(tail, audio[..., -20:])
    short = last_seconds(audio[..., :5], 10.0, 2)
    assert torch.equal(short[..., :15], torch.zeros(2, 2, 15)) and torch.equal(short[..., 15:], audio[..., :5])
