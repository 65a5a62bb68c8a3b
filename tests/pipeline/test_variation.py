"""Init-audio variations: sampling starts from the init latents noised to the requested strength (both
objectives), so a low strength stays near the init audio and a high one moves away from it."""

from __future__ import annotations

import math
from functools import partial

import pytest
import torch

from audiox.errors import InputError
from audiox.pipeline import GenerationRequest
from audiox.sampling.run import SamplerSettings, sample_latents, sampling_grid

V_SAMPLERS = ["euler", "dpmpp-3m-sde", "k-heun"]
FLOW_SAMPLERS = ["rf-euler", "dmd"]


def _net(pipe, gen):
    context = torch.randn(1, 384, 32, generator=gen)
    return partial(pipe.model.velocity, context=context, cfg_scale=1.0)


@pytest.mark.parametrize("strength", [0.25, 0.6, 1.0])
def test_sampling_starts_from_the_noised_init(pipe, strength):
    objective = pipe.model.objective
    gen = torch.Generator().manual_seed(0)
    frames = pipe.num_latent_frames
    noise, init = torch.randn(1, 4, frames, generator=gen), torch.randn(1, 4, frames, generator=gen)
    for sampler in V_SAMPLERS if objective == "v" else FLOW_SAMPLERS:
        seen = []
        settings = SamplerSettings(sampler=sampler, steps=3, init_strength=strength)
        sample_latents(_net(pipe, gen), noise, objective=objective, settings=settings, generator=gen, init=init,
                       callback=seen.append)
        first = seen[0]
        if objective == "v":
            sigma = min(math.tan(math.pi * strength / 2), settings.sigma_max)
            assert float(first["sigma"]) == pytest.approx(sigma, rel=1e-6)
            assert torch.allclose(first["x"], init + first["sigma"] * noise, atol=1e-5)
        else:
            assert float(first["t"]) == pytest.approx(strength)
            assert torch.allclose(first["x"], (1 - strength) * init + strength * noise, atol=1e-6)


def test_full_strength_rectified_flow_is_plain_generation():
    gen = torch.Generator().manual_seed(1)
    noise, init = torch.randn(1, 4, 16, generator=gen), torch.randn(1, 4, 16, generator=gen)

    def net(x, t):  # any velocity field
        return 0.5 * x + t.view(-1, 1, 1)

    plain = sample_latents(net, noise, objective="rectified_flow", settings=SamplerSettings(sampler="rf-euler", steps=2))
    full = sample_latents(net, noise, objective="rectified_flow", init=init,
                          settings=SamplerSettings(sampler="rf-euler", steps=2, init_strength=1.0))
    assert torch.equal(plain, full)


def test_v_strength_below_sigma_min_takes_one_step():
    settings = SamplerSettings(sampler="euler", steps=10, sigma_min=0.3, init_strength=0.1)
    grid = sampling_grid("v", "euler", settings)
    assert grid.tolist() == pytest.approx([math.tan(math.pi * 0.05), 0.0])
    longer = sampling_grid("v", "euler", SamplerSettings(sampler="euler", steps=10, init_strength=0.5))
    assert len(longer) == 11 and float(longer[0]) == pytest.approx(1.0) and float(longer[-2]) == pytest.approx(0.3)


def test_init_latents_and_strength_come_together(dit_pipe):
    with pytest.raises(InputError, match="come together"):
        sample_latents(lambda x, t: x, torch.zeros(1, 4, 8), objective="v", settings=SamplerSettings(init_strength=0.5))


def test_low_strength_stays_near_the_init_audio(pipe, media):
    """On a real waveform's latents: the lower the strength, the closer the sample to the init."""
    audio = _model_rate_audio(pipe, media["audio"])
    frames = pipe.num_latent_frames
    init = pipe.encode(torch.nn.functional.pad(audio, (0, frames * 32 - audio.shape[-1]))[None])  # (1, 4, L)
    gen = torch.Generator().manual_seed(3)
    noise, net = torch.randn(init.shape, generator=gen), _net(pipe, gen)
    sampler = "euler" if pipe.model.objective == "v" else "rf-euler"
    errors = []
    for strength in (0.1, 0.5, 0.95):
        settings = SamplerSettings(sampler=sampler, steps=4, init_strength=strength)
        out = sample_latents(net, noise, objective=pipe.model.objective, settings=settings, init=init)
        errors.append(float((out - init).pow(2).mean()))
    assert errors[0] < errors[1] < errors[2], errors


def test_pipeline_variation_follows_the_init_audio(pipe, media):
    a = pipe.generate(init_audio=media["audio"], init_strength=0.3, steps=2, seed=2)
    b = pipe.generate(init_audio=media["audio"], init_strength=0.3, steps=2, seed=2)
    c = pipe.generate(init_audio=media["audio"], init_strength=0.9, steps=2, seed=2)
    assert a.request.duration_s == 6.0 and a.audio.shape[-1] == 6 * pipe.sample_rate  # the init audio's length
    assert torch.equal(a.audio, b.audio) and not torch.equal(a.audio, c.audio)


def test_variation_with_text_and_windows_runs(dit_pipe, media):
    out = dit_pipe(GenerationRequest(text="rain", init_audio=media["audio"], duration_s=12.0, steps=1,
                                     batch_size=2))
    assert out.audio.shape == (2, 2, 12 * dit_pipe.sample_rate) and torch.isfinite(out.audio).all()


def _model_rate_audio(pipe, path):
    from audiox.media.audio import prepare_audio_prompt

    return prepare_audio_prompt(path, pipe.sample_rate, 2, 0.0, 6.0, pad="right")
