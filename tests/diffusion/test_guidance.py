"""Classifier-free guidance: batched [cond; uncond] evaluation, negative context, CFG rescale."""

from __future__ import annotations

import pytest
import torch

from audiox.backbone.dit import DiffusionTransformer
from audiox.diffusion.guidance import apply_cfg, combine_cfg, null_context
from audiox.errors import InputError
from tests.backbone.tiny import randn, randomize_, tiny_dit_config


@pytest.fixture(scope="module")
def model():
    return randomize_(DiffusionTransformer(tiny_dit_config()))


def inputs():
    return randn(2, 4, 6, seed=1), torch.tensor([0.3, 0.6]), randn(2, 5, 32, seed=2)


def test_cfg_scale_one_is_the_conditional_forward(model):
    x, t, ctx = inputs()
    calls = []

    def forward(*args):
        calls.append(args[0].shape[0])
        return model(*args)

    torch.testing.assert_close(apply_cfg(forward, x, t, ctx, 1.0, scale_phi=0.7), model(x, t, ctx))
    assert calls == [2]  # a single pass, no batch doubling


def test_batched_cfg_equals_two_passes(model):
    x, t, ctx = inputs()
    cond, uncond = model(x, t, ctx), model(x, t, torch.zeros_like(ctx))
    expect = uncond + 7.0 * (cond - uncond)
    torch.testing.assert_close(apply_cfg(model, x, t, ctx, 7.0), expect, atol=1e-4, rtol=1e-5)


def test_quirk_negative_context_masked_positions_are_zeros(model):
    x, t, ctx = inputs()
    neg = randn(2, 5, 32, seed=3)
    mask = torch.tensor([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1]], dtype=torch.uint8)
    uncond_ctx = null_context(ctx, neg, mask)
    assert torch.equal(uncond_ctx[0, 2], torch.zeros(32)) and torch.equal(uncond_ctx[1, 1], neg[1, 1])
    cond, uncond = model(x, t, ctx), model(x, t, uncond_ctx)
    out = apply_cfg(model, x, t, ctx, 5.0, negative_context=neg, negative_mask=mask)
    torch.testing.assert_close(out, uncond + 5.0 * (cond - uncond), atol=1e-4, rtol=1e-5)


def test_quirk_cfg_rescale_uses_unbiased_channel_std():
    cond, uncond = randn(2, 4, 6, seed=4), randn(2, 4, 6, seed=5)
    out = combine_cfg(cond, uncond, 7.0, scale_phi=0.75)
    guided = uncond + 7.0 * (cond - uncond)
    ratio = cond.std(dim=1, keepdim=True, unbiased=True) / guided.std(dim=1, keepdim=True, unbiased=True)
    torch.testing.assert_close(out, 0.75 * guided * ratio + 0.25 * guided)
    torch.testing.assert_close(combine_cfg(cond, uncond, 7.0), guided)


def test_negative_mask_shape_is_checked():
    ctx = torch.zeros(2, 5, 3)
    with pytest.raises(InputError, match="negative_mask"):
        null_context(ctx, torch.zeros(2, 5, 3), torch.ones(2, 4))
    with pytest.raises(InputError, match="negative_context"):
        null_context(ctx, torch.zeros(2, 4, 3))
