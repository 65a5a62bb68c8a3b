"""Inpainting keeps what the user did not ask to change: latents bit-for-bit in the sampler, audio sample for
sample in the output; continuation returns the prompt before the new audio."""

from __future__ import annotations

from functools import partial

import pytest
import torch

from audiox.pipeline.splice import INPAINT_CROSSFADE_S, generated_weight
from audiox.sampling.run import SamplerSettings, sample_latents

SAMPLERS = {"v": ["dpmpp-3m-sde", "k-heun", "euler"], "rectified_flow": ["rf-euler", "dmd"]}


@pytest.mark.parametrize("index", [0, 1])
def test_kept_latents_are_bit_exact(pipe, index):
    objective = pipe.model.objective
    sampler = SAMPLERS[objective][index]
    model, gen = pipe.model, torch.Generator().manual_seed(0)
    frames = pipe.num_latent_frames
    noise = torch.randn(1, 4, frames, generator=gen)
    init = torch.randn(1, 4, frames, generator=gen)
    keep = torch.ones(1, 1, frames, dtype=torch.bool)
    keep[..., frames // 4 : frames // 2] = False
    context = torch.randn(1, 384, 32, generator=gen)
    net = partial(model.velocity, context=context, cfg_scale=3.0)
    out = sample_latents(net, noise, objective=objective, settings=SamplerSettings(sampler=sampler, steps=3),
                         generator=gen, keep=(init, keep))
    assert torch.equal(out[..., keep[0, 0]], init[..., keep[0, 0]])
    assert not torch.equal(out[..., ~keep[0, 0]], init[..., ~keep[0, 0]])


def test_pipeline_inpainting_only_changes_the_gap(dit_pipe, media):
    """Decoded audio far from the gap is what the VAE makes of the kept latents, identical across seeds."""
    a = dit_pipe.generate(audio=media["audio"], inpaint=(4.0, 6.0), duration_s=8.0, steps=2, seed=1).audio
    b = dit_pipe.generate(audio=media["audio"], inpaint=(4.0, 6.0), duration_s=8.0, steps=2, seed=2).audio
    rate = dit_pipe.sample_rate
    assert not torch.allclose(a[..., 4 * rate : 6 * rate], b[..., 4 * rate : 6 * rate])
    # the tiny VAE decoder's receptive field is a few latent frames: compare well away from the gap
    assert torch.allclose(a[..., : 3 * rate], b[..., : 3 * rate], atol=1e-4)


# --------------------------------------------------------------- the output keeps the user's audio exactly


def _user_audio(pipe, path):
    """The user's file as the pipeline sees it: (C, S) at the model's rate and channel count."""
    from audiox.media.audio import prepare_audio_prompt, read_audio

    audio, rate = read_audio(path)
    return prepare_audio_prompt(audio, pipe.sample_rate, 2, 0.0, audio.shape[-1] / rate, pad="right",
                                source_sample_rate=rate)


def test_outside_the_range_the_output_is_the_input_sample_for_sample(pipe, media):
    rate, fade = pipe.sample_rate, round(INPAINT_CROSSFADE_S * pipe.sample_rate)
    user = _user_audio(pipe, media["audio"])  # 6 s of two sines
    out = pipe.generate(audio=media["audio"], inpaint=(2.0, 3.5), steps=2, seed=3)
    assert out.request.duration_s == 6.0 and out.audio.shape == (1, 2, 6 * rate)  # default: the whole audio
    start, end = 2 * rate, round(3.5 * rate)
    assert torch.equal(out.audio[0, :, :start], user[:, :start])
    assert torch.equal(out.audio[0, :, end:], user[:, end:])
    inner = out.audio[0, :, start + fade : end - fade]
    assert not torch.allclose(inner, user[:, start + fade : end - fade], atol=1e-3)  # the gap is new audio


def test_the_input_is_kept_after_resampling_and_channel_fixing(dit_pipe, tmp_path):
    """A mono file at twice the model's rate: kept samples equal its resampled, channel-repeated self."""
    from audiox.media.audio import prepare_audio_prompt
    from tests.media.factory import tone, write_sound

    path = write_sound(tmp_path / "mono.wav", tone(300.0, 4096, 4 * 4096), 4096)
    expected = prepare_audio_prompt(path, 2048, 2, 0.0, 4.0, pad="right")  # (2, 8192)
    out = dit_pipe.generate(audio=path, inpaint=(1.0, 2.0), steps=1, seed=0).audio[0]
    assert out.shape == expected.shape
    assert torch.equal(out[:, :2048], expected[:, :2048]) and torch.equal(out[:, 4096:], expected[:, 4096:])
    assert torch.equal(out[0, :2048], out[1, :2048])  # mono repeated to both channels


def test_seconds_start_moves_the_output_span(dit_pipe, media):
    rate = dit_pipe.sample_rate
    user = _user_audio(dit_pipe, media["audio"])
    out = dit_pipe.generate(audio=media["audio"], seconds_start=1.0, inpaint=(2.0, 3.0), duration_s=3.0, steps=1)
    assert out.audio.shape[-1] == 3 * rate
    assert torch.equal(out.audio[0, :, :rate], user[:, rate : 2 * rate])
    assert torch.equal(out.audio[0, :, 2 * rate :], user[:, 3 * rate : 4 * rate])


def test_a_range_past_the_end_of_the_audio_is_generated_there(dit_pipe, media):
    rate = dit_pipe.sample_rate
    user = _user_audio(dit_pipe, media["audio"])
    out = dit_pipe.generate(audio=media["audio"], inpaint=(5.0, 8.0), duration_s=8.0, steps=2).audio[0]
    assert torch.equal(out[:, : 5 * rate], user[:, : 5 * rate])
    assert out[:, 6 * rate :].abs().mean() > 1e-3  # not the zero padding of the input: new audio


def test_long_audio_generates_only_the_window_with_the_range(dit_pipe, tmp_path, monkeypatch):
    """A 25 s file: the later windows are the user's audio, so only the first is sampled."""
    from tests.media.factory import tone, write_sound

    path = write_sound(tmp_path / "long.wav", tone(200.0, 2048, 25 * 2048, channels=2), 2048)
    calls = []
    original = dit_pipe._generate_window
    monkeypatch.setattr(dit_pipe, "_generate_window", lambda *a, **k: calls.append(1) or original(*a, **k))
    out = dit_pipe.generate(audio=path, inpaint=(4.0, 5.0), steps=1).audio[0]
    user = _user_audio(dit_pipe, path)
    assert len(calls) == 1 and out.shape == user.shape
    assert torch.equal(out[:, : 4 * 2048], user[:, : 4 * 2048]) and torch.equal(out[:, 5 * 2048 :], user[:, 5 * 2048 :])


def test_crossfade_weights():
    weight = generated_weight(100, (20, 60), kept_samples=100, fade=10)
    assert torch.all(weight[:20] == 0) and torch.all(weight[60:] == 0) and torch.all(weight[30:50] == 1)
    ramp = weight[20:30]
    assert torch.all((ramp > 0) & (ramp < 1)) and torch.all(ramp[1:] > ramp[:-1])
    assert torch.allclose(weight[50:60], ramp.flip(0))
    short = generated_weight(100, (40, 46), kept_samples=100, fade=10)  # fades shrink to half the gap
    assert torch.all(short[40:46] > 0) and short[:40].sum() == 0 and short[46:].sum() == 0
    edge = generated_weight(100, (0, 30), kept_samples=80, fade=10)  # no fade where no audio is kept
    assert torch.all(edge[:20] == 1) and torch.all(edge[80:] == 1)


# --------------------------------------------------------------- continuation: prompt, then the new audio


def test_continuation_returns_the_prompt_then_the_new_audio(dit_pipe, media):
    rate = dit_pipe.sample_rate
    user = _user_audio(dit_pipe, media["audio"])
    full = dit_pipe.generate("piano", audio=media["audio"], duration_s=2.0, steps=1, seed=5, batch_size=2).audio
    new = dit_pipe.generate("piano", audio=media["audio"], duration_s=2.0, steps=1, seed=5, batch_size=2,
                            new_only=True).audio
    assert full.shape == (2, 2, 8 * rate) and new.shape == (2, 2, 2 * rate)
    assert torch.equal(full[:, :, : 6 * rate], user.expand(2, -1, -1))
    assert torch.equal(full[:, :, 6 * rate :], new)
