"""MAF block: official key names, equivalence with an explicit formulation, gates, quirks."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from audiox.fusion.maf import MafBlock

DIM, K, HEADS, LAYERS = 16, 3, 4, 2


def _maf() -> MafBlock:
    torch.manual_seed(1)
    maf = MafBlock(DIM, num_experts_per_modality=K, num_heads=HEADS, num_fusion_layers=LAYERS).eval()
    with torch.no_grad():  # make every branch matter (official init: bypass gates -10)
        for name in ("bypass_gate_v", "bypass_gate_t", "bypass_gate_a"):
            getattr(maf, name).fill_(0.5)
    return maf


def _streams(batch: int = 2) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    return tuple(torch.randn(batch, n, DIM, generator=g) for n in (5, 7, 3))


def _mha(x_q, x_kv, w, b, w_out, b_out, heads):
    q, k, v = (F.linear(t, wi, bi) for t, wi, bi in zip((x_q, x_kv, x_kv), w.chunk(3), b.chunk(3)))
    split = lambda t: t.view(t.shape[0], t.shape[1], heads, -1).transpose(1, 2)
    q, k, v = split(q), split(k), split(v)
    att = torch.softmax(q @ k.transpose(-1, -2) / q.shape[-1] ** 0.5, dim=-1) @ v
    return F.linear(att.transpose(1, 2).reshape(x_q.shape), w_out, b_out)


def _explicit(maf: MafBlock, v, t, a):
    """The MAF computation written out with plain tensor ops (no nn.MultiheadAttention / encoder)."""
    sd = maf.state_dict()
    pooled = torch.cat([v.mean(1), t.mean(1), a.mean(1)], 1)
    h = F.gelu(F.linear(pooled, sd["gating_network.0.weight"], sd["gating_network.0.bias"]))
    gates = torch.sigmoid(F.linear(h, sd["gating_network.2.weight"], sd["gating_network.2.bias"]))
    ctx = torch.cat(
        [v * gates[:, 0, None, None], t * gates[:, 1, None, None], a * gates[:, 2, None, None]], 1
    )
    p = sd["unified_experts"].expand(v.shape[0], -1, -1)
    read = _mha(
        p,
        ctx,
        sd["cross_attn.in_proj_weight"],
        sd["cross_attn.in_proj_bias"],
        sd["cross_attn.out_proj.weight"],
        sd["cross_attn.out_proj.bias"],
        HEADS,
    )
    x = F.layer_norm(p + read, (DIM,), sd["norm1.weight"], sd["norm1.bias"])
    for i in range(LAYERS):
        pre = f"fusion_transformer.layers.{i}."
        y = F.layer_norm(x, (DIM,), sd[pre + "norm1.weight"], sd[pre + "norm1.bias"])
        x = x + _mha(
            y,
            y,
            sd[pre + "self_attn.in_proj_weight"],
            sd[pre + "self_attn.in_proj_bias"],
            sd[pre + "self_attn.out_proj.weight"],
            sd[pre + "self_attn.out_proj.bias"],
            HEADS,
        )
        y = F.layer_norm(x, (DIM,), sd[pre + "norm2.weight"], sd[pre + "norm2.bias"])
        y = F.linear(
            F.gelu(F.linear(y, sd[pre + "linear1.weight"], sd[pre + "linear1.bias"])),
            sd[pre + "linear2.weight"],
            sd[pre + "linear2.bias"],
        )
        x = x + y
    outs = []
    for i, (s, key) in enumerate(zip((v, t, a), "vta")):
        r = F.layer_norm(
            x[:, i * K : (i + 1) * K].mean(1), (DIM,), sd[f"norm_{key}2.weight"], sd[f"norm_{key}2.bias"]
        )
        outs.append(s + torch.sigmoid(sd[f"bypass_gate_{key}"]) * r[:, None])
    return outs, gates


def test_maf_matches_explicit_formulation():
    maf = _maf()
    v, t, a = _streams()
    with torch.no_grad():
        out = maf(v, t, a, return_gates=True)
        ref, gates = _explicit(maf, v, t, a)
    torch.testing.assert_close(out.gates, gates, atol=1e-6, rtol=1e-5)
    for ours, theirs in zip((out.video, out.text, out.audio), ref):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)


def test_maf_fast_path_equals_slow_path():
    maf = _maf()
    v, t, a = _streams()
    with torch.no_grad():
        fast = maf(v, t, a)
    slow = maf(v, t, a)  # grad mode: PyTorch takes the plain (non-fused) path
    for x, y in zip(fast[:3], slow[:3]):
        torch.testing.assert_close(x, y.detach(), atol=1e-5, rtol=1e-5)


def test_maf_official_key_names_and_shapes():
    sd = MafBlock(DIM, num_experts_per_modality=K, num_heads=HEADS, num_fusion_layers=LAYERS).state_dict()
    assert sd["unified_experts"].shape == (3 * K, DIM)
    assert sd["gating_network.0.weight"].shape == (DIM, 3 * DIM)
    assert sd["gating_network.2.weight"].shape == (3, DIM)
    assert sd["cross_attn.in_proj_weight"].shape == (3 * DIM, DIM)
    assert sd["fusion_transformer.layers.1.linear1.weight"].shape == (4 * DIM, DIM)
    assert sd["bypass_gate_v"].shape == ()
    assert {k for k in sd if k.startswith(("norm_", "bypass"))} == {
        f"norm_{m}2.{p}" for m in "vta" for p in ("weight", "bias")
    } | {f"bypass_gate_{m}" for m in "vta"}
    assert len(sd) == 20 + 12 * LAYERS  # 20 block-level tensors + 12 per fusion layer
    assert not any("fusion_transformer.norm" in k for k in sd)  # no final norm


def test_quirk_maf_exact_gelu():
    maf = _maf()
    assert maf.gating_network[1].approximate == "none"
    assert maf.fusion_transformer.layers[0].activation is F.gelu


def test_maf_output_shapes_and_gates_only_when_asked():
    maf = _maf()
    v, t, a = _streams(batch=3)
    with torch.no_grad():
        out = maf(v, t, a)
        with_gates = maf(v, t, a, return_gates=True)
    assert out.gates is None
    assert (out.video.shape, out.text.shape, out.audio.shape) == (v.shape, t.shape, a.shape)
    assert with_gates.gates.shape == (3, 3)
    assert ((with_gates.gates > 0) & (with_gates.gates < 1)).all()


def test_maf_refinement_is_one_vector_per_stream():
    """Every token of a stream receives the same refinement vector."""
    maf = _maf()
    v, t, a = _streams()
    with torch.no_grad():
        out = maf(v, t, a)
    delta = out.text - t
    torch.testing.assert_close(delta, delta[:, :1].expand_as(delta))


def test_maf_official_init_bypass_gates_nearly_identity():
    torch.manual_seed(3)
    maf = MafBlock(DIM, num_experts_per_modality=K, num_heads=HEADS, num_fusion_layers=1).eval()
    v, t, a = _streams()
    with torch.no_grad():
        out = maf(v, t, a)
    assert (out.video - v).abs().max() < 1e-3


@pytest.mark.parametrize("batch", [1, 2])
def test_maf_batch_items_independent(batch):
    maf = _maf()
    v, t, a = _streams(batch=2)
    with torch.no_grad():
        both = maf(v, t, a)
        one = maf(v[1:], t[1:], a[1:])
    torch.testing.assert_close(both.audio[1:], one.audio, atol=1e-6, rtol=1e-5)
