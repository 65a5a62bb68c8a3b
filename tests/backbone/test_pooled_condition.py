"""audiox's own MMDiT request paths: the pooled condition (`pooled_condition`) and the coherent init."""

from __future__ import annotations

import json

import pytest
import torch

from audiox.backbone.mmdit import MMDiffusionTransformer, PooledCondition, init_coherent_seq_projection
from audiox.config.own_model import own_small_config_dict
from audiox.config.parse import parse_config
from audiox.errors import ConfigError
from tests.backbone.tiny import randn, randomize_, tiny_mmdit_config


def test_pooled_path_starts_as_a_no_op_and_then_reads_the_request():
    plain = randomize_(MMDiffusionTransformer(tiny_mmdit_config(), mm_token_dim=16, num_mm_tokens=12))
    pooled = MMDiffusionTransformer(tiny_mmdit_config(pooled_condition=True), mm_token_dim=16, num_mm_tokens=12)
    missing = pooled.load_state_dict(plain.state_dict(), strict=False).missing_keys
    assert sorted(missing) == [f"transformer.pooled.net.{i}.{p}" for i in (0, 2) for p in ("bias", "weight")]
    x, t, ctx = randn(2, 4, 8), torch.tensor([0.3, 0.7]), randn(2, 12, 16, seed=3)
    assert torch.equal(pooled.eval()(x, t, ctx), plain(x, t, ctx))  # zero-initialised output layer
    torch.nn.init.normal_(pooled.transformer.pooled.net[2].weight)
    assert not torch.allclose(pooled(x, t, ctx), plain(x, t, ctx))


def test_pooled_mean_skips_padding_slots():
    path = PooledCondition(mm_token_dim=2, dim=3)
    context = torch.zeros(1, 6, 2)  # parts of 2 slots: text, video, audio
    context[0, 0] = torch.tensor([2.0, 4.0])  # one caption token, one padding slot (~0)
    context[0, 1] = 1e-6
    context[0, 2:4] = torch.tensor([[1.0, 1.0], [3.0, 3.0]])
    seen = {}

    def record(module, args, output):
        seen["x"] = args[0]

    path.net[0].register_forward_hook(record)
    path(context)
    assert torch.allclose(seen["x"][0, 0], torch.tensor([2.0, 4.0, 2.0, 2.0, 0.0, 0.0]))


def test_pooled_condition_is_an_own_key_that_official_configs_lack():
    config = own_small_config_dict("mmdit", pooled_condition=True)
    assert parse_config(json.loads(json.dumps(config))).model.diffusion.config.pooled_condition
    assert "pooled_condition" not in json.dumps(own_small_config_dict("mmdit"))
    with pytest.raises(ConfigError):
        MMDiffusionTransformer(tiny_mmdit_config(pooled_condition=True), mm_token_dim=16, num_mm_tokens=10)


def test_coherent_init_maps_text_to_every_position_and_video_by_time():
    model = MMDiffusionTransformer(tiny_mmdit_config(latent_seq_len=9), mm_token_dim=16, num_mm_tokens=12)
    init_coherent_seq_projection(model.transformer, text_weight=0.5)
    w = model.transformer.proj_mm_seq_len.weight  # (9 positions, 12 slots: 4 text, 4 video, 4 audio)
    assert torch.equal(w[0], torch.zeros(12))  # the time-token position
    assert torch.equal(w[1:, :4], torch.full((8, 4), 0.5))
    video = w[1:, 4:8].argmax(dim=1).tolist()
    assert video == [0, 0, 1, 1, 2, 2, 3, 3] and torch.equal(w[1:, 8:].argmax(dim=1), w[1:, 4:8].argmax(dim=1))
    assert torch.equal(w[1:, 4:].sum(dim=1), torch.full((8,), 2.0))
    same = MMDiffusionTransformer(tiny_mmdit_config(latent_seq_len=13), mm_token_dim=16, num_mm_tokens=12)
    same.transformer.proj_mm_seq_len = torch.nn.Identity()
    with pytest.raises(ConfigError, match="Linear"):
        init_coherent_seq_projection(same.transformer)
