"""StepInvariantCache: a backbone step with the prepared cache computes exactly what a step without it does
(MMDiT: adaLN modulations once per generation, the dead single-key query skipped; DiT: cross-attention K/V
once), for both backbones, with and without CFG, batch 1 and 2, over several steps of one cache."""

from __future__ import annotations

from functools import partial

import pytest
import torch

from audiox.backbone.dit import DiffusionTransformer
from audiox.backbone.mmdit import MMDiffusionTransformer
from audiox.diffusion.guidance import apply_cfg, guidance_context, guided_step
from audiox.errors import InputError
from tests.backbone.tiny import randn, randomize_, tiny_dit_config, tiny_mmdit_config

KINDS = ("dit", "mmdit", "mmdit-pooled")


def build(kind: str):
    """(backbone, context shape (N, D), latent frames L)."""
    if kind == "dit":
        return randomize_(DiffusionTransformer(tiny_dit_config())), (5, 32), 6
    pooled = kind == "mmdit-pooled"
    model = MMDiffusionTransformer(tiny_mmdit_config(pooled_condition=pooled), mm_token_dim=16, num_mm_tokens=12)
    return randomize_(model), (12, 16), 8


@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("cfg_scale", [1.0, 7.0])
@pytest.mark.parametrize("kind", KINDS)
def test_cached_steps_equal_uncached(kind, cfg_scale, batch):
    backbone, ctx_shape, frames = build(kind)
    context = randn(batch, *ctx_shape, seed=2)
    batch_context = guidance_context(context, cfg_scale)
    with torch.no_grad():
        cache = backbone.prepare(batch_context)
        for step, t in enumerate((0.9, 0.5, 0.1)):  # one cache serves every step
            x, tt = randn(batch, 4, frames, seed=10 + step), torch.full((batch,), t)
            expect = apply_cfg(backbone, x, tt, context, cfg_scale)
            got = guided_step(partial(backbone, cache=cache), x, tt, batch_context, cfg_scale)
            assert torch.equal(got, expect), f"step {step}: {(got - expect).abs().max()}"


@pytest.mark.parametrize("kind", KINDS)
def test_cached_steps_equal_uncached_negative_context_and_rescale(kind):
    backbone, ctx_shape, frames = build(kind)
    context, negative = randn(2, *ctx_shape, seed=2), randn(2, *ctx_shape, seed=3)
    mask = torch.tensor([[1] * ctx_shape[0], [0, 1] * (ctx_shape[0] // 2) + [1] * (ctx_shape[0] % 2)])
    x, t = randn(2, 4, frames, seed=4), torch.tensor([0.7, 0.2])
    batch_context = guidance_context(context, 4.0, negative, mask)
    with torch.no_grad():
        expect = apply_cfg(backbone, x, t, context, 4.0, negative, mask, scale_phi=0.6)
        got = guided_step(partial(backbone, cache=backbone.prepare(batch_context)), x, t, batch_context, 4.0, 0.6)
    assert torch.equal(got, expect)


@pytest.mark.parametrize("kind", KINDS)
def test_cache_of_another_context_is_refused(kind):
    backbone, ctx_shape, frames = build(kind)
    context = randn(1, *ctx_shape, seed=2)
    cache = backbone.prepare(context)
    x, t = randn(1, 4, frames), torch.tensor([0.5])
    with pytest.raises(InputError, match="prepared for another context"):
        backbone(x, t, context.clone(), cache=cache)


def test_mmdit_cached_step_skips_the_dead_query_projection():
    """The single-key cross-attention's output does not depend on `to_q`: with the cache `to_q` is not run
    at all, and NaN weights there leave the cached output equal to the official computation's."""
    backbone, ctx_shape, frames = build("mmdit")
    context, x, t = randn(2, *ctx_shape, seed=2), randn(2, 4, frames), torch.tensor([0.3, 0.8])
    calls = []
    for layer in backbone.transformer.layers:
        layer.cross_attn.to_q.register_forward_hook(lambda *_: calls.append(1))
    with torch.no_grad():
        expect = backbone(x, t, context)
        assert len(calls) == len(backbone.transformer.layers)  # the official path runs every to_q
        for layer in backbone.transformer.layers:
            layer.cross_attn.to_q.weight.fill_(float("nan"))
        got = backbone(x, t, context, cache=backbone.prepare(context))
    assert len(calls) == len(backbone.transformer.layers)  # the cached path runs none
    assert torch.equal(got, expect)


def test_mmdit_cache_reads_no_context_and_no_modulation_weights_per_step():
    """Everything context-dependent is in the cache: after `prepare`, changing the adaLN and token
    projection weights does not change a cached step (the cache was computed with the old ones)."""
    backbone, ctx_shape, frames = build("mmdit-pooled")
    context, x, t = randn(1, *ctx_shape, seed=2), randn(1, 4, frames), torch.tensor([0.4])
    with torch.no_grad():
        cache = backbone.prepare(context)
        expect = backbone(x, t, context)
        for layer in backbone.transformer.layers:
            layer.adaLN_modulation[1].weight.zero_()
        backbone.transformer.proj_mm_seq_len.weight.zero_()
        assert torch.equal(backbone(x, t, context, cache=cache), expect)


def test_dit_cache_covers_grouped_kv_heads():
    backbone, ctx_shape, _ = build("dit")
    attn = backbone.transformer.layers[0].cross_attn
    assert attn.kv_heads != attn.num_heads  # the repeat_interleave quirk is inside the cached K/V
    context = randn(2, *ctx_shape, seed=2)
    k, v = backbone.prepare(context).per_layer[0]
    assert k.shape == v.shape == (2, attn.num_heads, ctx_shape[0], 32)
