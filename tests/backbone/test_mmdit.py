"""MMDiT backbone: head geometry, interleaved layouts, swapped cross-attention, fixed length."""

from __future__ import annotations

import pytest
import torch

from audiox.backbone.layers import attend, rms_norm
from audiox.backbone.mmdit import MMDiffusionTransformer
from audiox.backbone.mmdit_block import CrossAttention, SelfAttention
from audiox.backbone.rotary import adjacent_rope_table, apply_adjacent_rope
from audiox.config.schema import BackboneConfig
from audiox.errors import InputError
from tests.backbone.tiny import randn, randomize_, tiny_mmdit_config


def build(**overrides) -> MMDiffusionTransformer:
    return randomize_(
        MMDiffusionTransformer(tiny_mmdit_config(**overrides), mm_token_dim=16, num_mm_tokens=12)
    )


def test_mmdit_forward_shape_and_keys():
    model = build()
    out = model(randn(2, 4, 8), torch.tensor([0.3, 0.7]), randn(2, 12, 16))
    assert out.shape == (2, 4, 8)
    sd = model.state_dict()
    assert sd["transformer.proj_mm_seq_len.weight"].shape == (9, 12)
    assert sd["transformer.proj_mm_tokens.weight"].shape == (24, 16)
    assert sd["transformer.layers.0.linear1.weight"].shape == (24, 24, 3)
    assert sd["transformer.layers.0.ffn.w1.weight"].shape == (256, 24, 3)
    assert not any("rope" in k or "norm" in k for k in sd)  # RoPE table and RMS norms are not saved


def test_quirk_mmdit_num_heads_is_head_dim():
    model = MMDiffusionTransformer(tiny_mmdit_config(), mm_token_dim=16, num_mm_tokens=12)
    attn = model.transformer.layers[0].attn
    assert attn.num_heads == 6  # embed_dim 24 // num_heads 4 = 6 heads of dim 4
    assert model.transformer.head_dim == 4


def test_quirk_mmdit_interleaved_qkv_layout():
    attn = randomize_(SelfAttention(dim=8, num_heads=2))  # 2 heads of 4 dims
    x = randn(1, 3, 8)
    cos, sin = adjacent_rope_table(3, 4)
    qkv = attn.qkv(x).view(1, 3, 2, 4, 3)  # (b, s, h, e, j)
    q, k, v = (qkv[..., j].transpose(1, 2) for j in range(3))
    q, k = (apply_adjacent_rope(rms_norm(a), cos, sin) for a in (q, k))
    torch.testing.assert_close(attn(x, cos, sin), attend(q, k, v))


def test_quirk_mmdit_cross_attention_returns_normed_key_of_time_token():
    attn = randomize_(CrossAttention(dim=8, num_heads=2))
    x, time_token = randn(2, 5, 8, seed=4), randn(2, 1, 8, seed=5)
    kv = attn.to_kv(time_token).view(2, 1, 2, 4, 2)  # (b, m, h, e, j)
    expect = rms_norm(kv[..., 0]).reshape(2, 1, 8).expand(2, 5, 8)
    torch.testing.assert_close(attn(x, time_token), expect)


def test_quirk_mmdit_unused_cond_and_global_embed():
    model = build(global_cond_dim=8, project_cond_tokens=True)
    x, t, ctx = randn(1, 4, 8), torch.tensor([0.4]), randn(1, 12, 16)
    before = model(x, t, ctx)
    with torch.no_grad():
        for p in [*model.to_cond_embed.parameters(), *model.to_global_embed.parameters()]:
            p.mul_(3.0)
    torch.testing.assert_close(model(x, t, ctx), before)


def test_quirk_mmdit_proj_mm_tokens_identity_only_at_official_width():
    cfg = BackboneConfig(
        io_channels=4, embed_dim=768, depth=0, num_heads=24, cond_token_dim=768, latent_seq_len=384
    )
    with torch.device("meta"):
        model = MMDiffusionTransformer(cfg)
    assert isinstance(model.transformer.proj_mm_tokens, torch.nn.Identity)
    assert isinstance(model.transformer.proj_mm_seq_len, torch.nn.Identity)
    assert isinstance(build().transformer.proj_mm_tokens, torch.nn.Linear)


def test_quirk_mmdit_per_position_conditioning():
    """Each position gets its own adaLN modulation from the context resampled over the token axis."""
    model = build()
    ctx = randn(1, 12, 16)
    cond = model.transformer.project_mm_tokens(ctx)
    assert cond.shape == (1, 9, 24)
    assert not torch.allclose(cond[0, 0], cond[0, 1])


@pytest.mark.parametrize(("length", "tokens"), [(7, 12), (9, 12), (8, 11)])
def test_quirk_mmdit_fixed_sequence_and_context_length(length, tokens):
    model = build()
    with pytest.raises(InputError):
        model(torch.zeros(1, 4, length), torch.zeros(1), torch.zeros(1, tokens, 16))


def test_mmdit_batch_of_two_equals_two_single_runs():
    model = build()
    x, t, ctx = randn(2, 4, 8), torch.tensor([0.1, 0.8]), randn(2, 12, 16)
    both = model(x, t, ctx)
    for i in range(2):
        torch.testing.assert_close(
            both[i : i + 1], model(x[i : i + 1], t[i : i + 1], ctx[i : i + 1]), atol=1e-5, rtol=1e-5
        )


def test_meta_build_then_load_equals_cpu_build():
    """Nothing but the checkpoint decides the numbers: a `meta` build materialised by a strict load."""
    reference = build()
    with torch.device("meta"):
        model = MMDiffusionTransformer(tiny_mmdit_config(), mm_token_dim=16, num_mm_tokens=12)
    model = model.to_empty(device="cpu")
    model.load_state_dict(reference.state_dict(), strict=True)
    x, t, ctx = randn(1, 4, 8), torch.tensor([0.5]), randn(1, 12, 16)
    torch.testing.assert_close(model.eval()(x, t, ctx), reference(x, t, ctx))
