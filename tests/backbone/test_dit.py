"""DiT backbone: shapes, keys, official quirks, bad input."""

from __future__ import annotations

import pytest
import torch

from audiox.backbone.dit import Attention, DiffusionTransformer
from audiox.errors import ConfigError, InputError
from tests.backbone.tiny import randn, randomize_, tiny_dit_config


def test_dit_forward_shape_and_keys():
    model = randomize_(DiffusionTransformer(tiny_dit_config(global_cond_dim=8)))
    out = model(randn(2, 4, 10), torch.tensor([0.3, 0.7]), randn(2, 5, 32))
    assert out.shape == (2, 4, 10)
    keys = set(model.state_dict())
    assert "transformer.rotary_pos_emb.inv_freq" in keys
    assert "transformer.layers.1.ff.ff.0.proj.weight" in keys and "transformer.layers.1.ff.ff.2.bias" in keys
    assert model.state_dict()["to_global_embed.0.weight"].shape == (64, 8)
    assert not any(k.endswith(".bias") for k in keys if "to_qkv" in k or "to_out" in k or "project_" in k)


def test_dit_project_cond_tokens_true_widens_context():
    model = DiffusionTransformer(tiny_dit_config(project_cond_tokens=True))
    sd = model.state_dict()
    assert sd["to_cond_embed.0.weight"].shape == (64, 32)
    assert sd["transformer.layers.0.cross_attn.to_kv.weight"].shape == (128, 64)
    assert model.transformer.layers[0].cross_attn.kv_heads == 2


def test_quirk_dit_grouped_kv_heads_repeat_interleave():
    attn = randomize_(Attention(dim=16, dim_heads=4, dim_context=8))  # 4 query heads, 2 kv heads
    x, ctx = randn(1, 3, 16, seed=2), randn(1, 5, 8, seed=3)
    q = attn.to_q(x).view(1, 3, 4, 4).transpose(1, 2)
    k, v = (a.view(1, 5, 2, 4).transpose(1, 2) for a in attn.to_kv(ctx).chunk(2, -1))
    heads = []
    for h in range(4):  # query head h reads kv head h // 2
        w = torch.softmax(q[:, h] @ k[:, h // 2].transpose(-1, -2) / 2.0, dim=-1)
        heads.append(w @ v[:, h // 2])
    expect = attn.to_out(torch.cat(heads, dim=-1))
    torch.testing.assert_close(attn(x, context=ctx), expect, atol=1e-6, rtol=1e-5)


def test_quirk_dit_zero_context_tokens_are_attended():
    """No context mask: appending zero (padding) tokens changes the output."""
    model = randomize_(DiffusionTransformer(tiny_dit_config()))
    x, t, ctx = randn(1, 4, 6), torch.tensor([0.5]), randn(1, 5, 32)
    padded = torch.cat([ctx, torch.zeros(1, 3, 32)], dim=1)
    assert not torch.allclose(model(x, t, ctx), model(x, t, padded), atol=1e-4)


def test_quirk_dit_rotary_width_is_max_half_head_or_32():
    model = DiffusionTransformer(tiny_dit_config(embed_dim=160, num_heads=2))  # head dim 80 -> rotary 40
    assert model.transformer.rotary_pos_emb.inv_freq.shape == (20,)
    model = DiffusionTransformer(tiny_dit_config())  # head dim 32 -> rotary 32
    assert model.transformer.rotary_pos_emb.inv_freq.shape == (16,)


def test_dit_batch_of_two_equals_two_single_runs():
    model = randomize_(DiffusionTransformer(tiny_dit_config()))
    x, t, ctx = randn(2, 4, 6), torch.tensor([0.2, 0.9]), randn(2, 5, 32)
    both = model(x, t, ctx)
    for i in range(2):
        torch.testing.assert_close(
            both[i : i + 1], model(x[i : i + 1], t[i : i + 1], ctx[i : i + 1]), atol=1e-5, rtol=1e-5
        )


@pytest.mark.parametrize(
    ("x", "t", "ctx", "message"),
    [
        ((2, 3, 6), (2,), (2, 5, 32), "expected (B, 4, L)"),
        ((2, 4, 6), (1,), (2, 5, 32), "t.shape"),
        ((2, 4, 6), (2,), (2, 5, 31), "expected (2, N, 32)"),
    ],
)
def test_dit_bad_input_shapes(x, t, ctx, message):
    model = DiffusionTransformer(tiny_dit_config())
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        model(torch.zeros(x), torch.zeros(t), torch.zeros(ctx))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"patch_size": 2}, "patch_size"),
        ({"prepend_cond_dim": 8}, "prepend_cond_dim"),
        ({"cond_token_dim": 0}, "cond_token_dim"),
    ],
)
def test_backbone_rejects_unsupported_config(override, message):
    with pytest.raises(ConfigError, match=message):
        DiffusionTransformer(tiny_dit_config(**override))


def test_meta_build_then_load_equals_cpu_build():
    reference = randomize_(DiffusionTransformer(tiny_dit_config()))
    with torch.device("meta"):
        model = DiffusionTransformer(tiny_dit_config())
    model = model.to_empty(device="cpu")
    model.load_state_dict(reference.state_dict(), strict=True)
    x, t, ctx = randn(1, 4, 6), torch.tensor([0.5]), randn(1, 5, 32)
    torch.testing.assert_close(model.eval()(x, t, ctx), reference(x, t, ctx))
