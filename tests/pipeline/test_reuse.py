"""Whole generations with the exact savings (`AudioX(reuse=True)`, the default) equal generations without
them, bit for bit on CPU: both backbones, with and without CFG, batch 2, two windows; and the fixed work
(CLIP on no video, the VAE encoder on a silent prompt) is really skipped."""

from __future__ import annotations

import pytest
import torch

from audiox.pipeline import AudioX, GenerationRequest


def without_reuse(pipe: AudioX) -> AudioX:
    return AudioX(pipe.model, synchformer=pipe.synchformer, reuse=False)


@pytest.mark.parametrize("cfg_scale", [1.0, 3.0])
def test_generation_is_identical_with_and_without_reuse(pipe, cfg_scale):
    request = GenerationRequest(text="a dog barks", duration_s=12.0, seed=7, steps=2, cfg_scale=cfg_scale,
                                batch_size=2)  # 12 s: two windows, the second with an audio prompt
    assert torch.equal(pipe(request).audio, without_reuse(pipe)(request).audio)


def test_negative_prompt_generation_is_identical_with_and_without_reuse(dit_pipe):
    request = GenerationRequest(text="rain", negative_text="wind", duration_s=2.0, seed=3, steps=3, cfg_scale=4.0)
    assert torch.equal(dit_pipe(request).audio, without_reuse(dit_pipe)(request).audio)


def test_text_only_request_skips_clip_and_reencoding_silence(pipe):
    model = pipe.model
    video = next(c for c in model.conditioner.conditioners.values() if hasattr(c, "visual_encoder_model"))
    audio = next(c for c in model.conditioner.conditioners.values() if hasattr(c, "pretransform"))
    clip_calls, vae_calls = [], []
    hooks = [
        video.visual_encoder_model.register_forward_hook(lambda *_: clip_calls.append(1)),
        audio.pretransform.model.encoder.register_forward_hook(lambda *_: vae_calls.append(1)),
    ]
    try:
        request = GenerationRequest(text="a bell", duration_s=2.0, seed=1, steps=1, batch_size=3)
        pipe(request)
        pipe(request.replace(seed=2))
        assert clip_calls == [] and len(vae_calls) <= 3  # at most the first fill (per item), then none
        without_reuse(pipe)(request)
        assert clip_calls and len(vae_calls) >= 3  # the official path runs both every time
    finally:
        for hook in hooks:
            hook.remove()


@pytest.fixture(scope="module")
def pooled_pipe() -> AudioX:
    """The tiny MMDiT with audiox's own pooled request path (its zero-initialised output given weights, so
    the pooled vector reaches every block's adaLN input)."""
    from audiox.conditioning.tiny_encoders import tiny_conditioner_options, tiny_t5
    from audiox.config.parse import parse_config
    from audiox.config.presets import tiny_config_dict
    from audiox.diffusion.model import DiffusionModel

    config = tiny_config_dict("mmdit")
    config["model"]["diffusion"]["config"]["pooled_condition"] = True
    cfg = parse_config(config, source="tiny mmdit + pooled_condition")
    model = DiffusionModel(cfg, text_encoder=tiny_t5(), conditioner_options=tiny_conditioner_options())
    pooled = model.backbone.transformer.pooled
    with torch.no_grad():
        pooled.net[2].weight.normal_(0.0, 0.5, generator=torch.Generator().manual_seed(0))
    return AudioX(model)


@pytest.mark.parametrize("cfg_scale", [1.0, 3.0])
def test_pooled_condition_generation_is_identical_with_and_without_reuse(pooled_pipe, cfg_scale):
    """The step-invariant cache holds the adaLN modulations with the pooled vector added (it depends on the
    context only): cached and official steps agree bit for bit, and the pooled path does change the output."""
    request = GenerationRequest(text="a dog barks", duration_s=2.0, seed=5, steps=2, cfg_scale=cfg_scale,
                                batch_size=2)
    out = pooled_pipe(request).audio
    assert torch.equal(out, without_reuse(pooled_pipe)(request).audio)
    with torch.no_grad():
        saved = pooled_pipe.model.backbone.transformer.pooled.net[2].weight.clone()
        pooled_pipe.model.backbone.transformer.pooled.net[2].weight.zero_()
    try:
        assert not torch.equal(pooled_pipe(request).audio, out)
    finally:
        with torch.no_grad():
            pooled_pipe.model.backbone.transformer.pooled.net[2].weight.copy_(saved)
