"""Attention kernel, norms, rotary tables and timestep features."""

from __future__ import annotations

import math

import torch

from audiox.backbone.layers import LayerNorm, attend, conv_mlp_hidden, rms_norm
from audiox.backbone.rotary import (
    RotaryEmbedding,
    adjacent_rope_table,
    apply_adjacent_rope,
    apply_rotate_half,
)
from audiox.backbone.timestep import FourierFeatures
from tests.backbone.tiny import randn


def explicit_attention(q, k, v):
    """Reference: softmax(q k^T / sqrt(E)) v in float64, heads merged as (h e)."""
    q, k, v = (a.double() for a in (q, k, v))
    weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
    out = weights @ v  # (B, H, T, E)
    return out.permute(0, 2, 1, 3).reshape(out.shape[0], out.shape[2], -1).float()


def test_sdpa_matches_explicit_softmax_attention():
    q, k, v = randn(2, 3, 7, 8, seed=1), randn(2, 3, 5, 8, seed=2), randn(2, 3, 5, 8, seed=3)
    torch.testing.assert_close(attend(q, k, v), explicit_attention(q, k, v), atol=1e-6, rtol=1e-5)


def test_quirk_layernorm_beta_buffer_in_state_dict():
    norm = LayerNorm(6)
    sd = norm.state_dict()
    assert set(sd) == {"gamma", "beta"}
    assert [n for n, _ in norm.named_parameters()] == ["gamma"]
    assert torch.equal(sd["beta"], torch.zeros(6))
    x = randn(2, 3, 6)
    torch.testing.assert_close(norm(x), torch.nn.functional.layer_norm(x, (6,)))


def test_rms_norm_is_weightless_with_eps_1e6():
    x = torch.tensor([[3.0, 4.0]])
    torch.testing.assert_close(rms_norm(x), x / math.sqrt(12.5 + 1e-6))


def test_quirk_fourier_features_cos_first_with_2pi():
    ff = FourierFeatures(1, 4)
    assert ff.weight.shape == (2, 1)
    with torch.no_grad():
        ff.weight.copy_(torch.tensor([[0.25], [0.5]]))
    t = torch.tensor([[0.5]])
    f = 2 * math.pi * torch.tensor([0.125, 0.25])
    torch.testing.assert_close(ff(t), torch.cat([f.cos(), f.sin()])[None])


def test_quirk_rotary_inv_freq_saved_and_partial():
    rot = RotaryEmbedding(32)
    assert list(rot.state_dict()) == ["inv_freq"]
    torch.testing.assert_close(rot.inv_freq, 10000.0 ** (-torch.arange(0, 32, 2) / 32))
    freqs = rot(5)  # (T, 32)
    assert freqs.shape == (5, 32)
    x = randn(1, 2, 5, 48)
    y = apply_rotate_half(x, freqs)
    assert torch.equal(y[..., 32:], x[..., 32:])  # dims past the rotary width pass through
    assert torch.allclose(y[:, :, 0], x[:, :, 0])  # position 0 (the time token) is not rotated
    # rotate-half pairing: dim 0 rotates with dim 16
    theta = freqs[3, 0]
    expect0 = x[..., 3, 0] * theta.cos() - x[..., 3, 16] * theta.sin()
    torch.testing.assert_close(y[..., 3, 0], expect0)


def test_quirk_mmdit_rope_adjacent_pairs():
    cos, sin = adjacent_rope_table(6, 4)
    assert cos.shape == (6, 2)
    x = randn(1, 1, 6, 4)
    y = apply_adjacent_rope(x, cos, sin)
    phi = 4 * 10000.0 ** (-2 / 4)  # position 4, pair 1 (dims 2, 3)
    phi = torch.tensor(phi)
    torch.testing.assert_close(y[0, 0, 4, 2], x[0, 0, 4, 2] * phi.cos() - x[0, 0, 4, 3] * phi.sin())
    torch.testing.assert_close(y[0, 0, 4, 3], x[0, 0, 4, 2] * phi.sin() + x[0, 0, 4, 3] * phi.cos())
    torch.testing.assert_close(y.norm(dim=-1), x.norm(dim=-1))


def test_conv_mlp_hidden_official_rounding():
    assert conv_mlp_hidden(1536, 4.0) == 4096
    assert conv_mlp_hidden(32, 4.0) == 256
