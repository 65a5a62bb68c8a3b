"""Temporal transformer (official SA_Transformer): key names, Identity output projection, attention maths."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from audiox.conditioning.temporal import TemporalAttention, TemporalTransformer


def test_official_key_names_and_default_sizes():
    with torch.device("meta"):
        sd = TemporalTransformer().state_dict()
    assert sd["layers.3.0.fn.to_qkv.weight"].shape == (3 * 16 * 64, 768)
    assert sd["layers.3.0.fn.to_out.0.weight"].shape == (768, 1024)
    assert sd["layers.0.1.fn.net.0.weight"].shape == (3072, 768)
    assert sd["layers.0.1.fn.net.3.weight"].shape == (768, 3072)
    assert {"norm.weight", "norm.bias", "layers.0.0.norm.weight", "layers.0.1.norm.bias"} <= set(sd)
    assert "layers.0.0.fn.to_qkv.bias" not in sd
    assert len([k for k in sd if k.startswith("layers.")]) == 4 * 11


def test_output_projection_identity_only_when_it_would_be_identity():
    assert isinstance(TemporalAttention(dim=8, heads=1, dim_head=8).to_out, torch.nn.Identity)
    assert isinstance(TemporalAttention(dim=8, heads=2, dim_head=4).to_out, torch.nn.Sequential)


def test_attention_equals_sdpa():
    torch.manual_seed(0)
    attn = TemporalAttention(dim=12, heads=3, dim_head=5).eval()
    x = torch.randn(4, 7, 12)
    q, k, v = (t.view(4, 7, 3, 5).transpose(1, 2) for t in attn.to_qkv(x).chunk(3, dim=-1))
    ref = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(4, 7, 15)
    torch.testing.assert_close(attn(x), attn.to_out(ref), atol=1e-6, rtol=1e-5)


def test_forward_shape_and_final_norm():
    torch.manual_seed(0)
    tt = TemporalTransformer(dim=16, depth=2, heads=2, dim_head=4, mlp_dim=8).eval()
    y = tt(torch.randn(3, 5, 16))
    assert y.shape == (3, 5, 16)
    torch.testing.assert_close(
        y.mean(-1), torch.zeros(3, 5), atol=1e-5, rtol=0
    )  # LayerNorm (bias 0) at the end
