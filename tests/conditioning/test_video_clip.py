"""CLIP video conditioners: scrambled projection, empty feature, sync add, pixel normalisation, tower path."""

from __future__ import annotations

import pytest
import torch

from audiox.conditioning.video_clip import (
    CLIP_MEAN,
    CLIP_STD,
    ClipSyncVideoConditioner,
    ClipVideoConditioner,
    normalize_clip_pixels,
    scrambled_projection,
)
from audiox.config.schema import ClipConditionerConfig, ClipSyncConditionerConfig
from audiox.errors import ConfigError, InputError
from tests.conditioning.conftest import tiny_clip_config

TEMPORAL = {"temporal_depth": 1, "temporal_heads": 2, "temporal_dim_head": 4, "temporal_mlp_dim": 8}


def _sync_conditioner(**cfg) -> ClipSyncVideoConditioner:
    torch.manual_seed(0)
    cond = ClipSyncVideoConditioner(
        ClipSyncConditionerConfig(video_fps=1, **cfg),
        output_dim=32,
        vision_config=tiny_clip_config(),
        **TEMPORAL,
    ).eval()
    with torch.no_grad():
        cond.sync_weight.fill_(0.7)
        cond.empty_visual_feat.normal_()
    return cond


def _video(batch: int = 2, frames: int = 10) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.randint(0, 256, (batch, frames, 3, 64, 64), generator=g).float()


def test_quirk_scrambled_projection_is_a_raw_view_not_a_transpose():
    torch.manual_seed(0)
    proj = torch.nn.Linear(6, 4)
    tokens = torch.randn(2, 6, 5)  # (B, N, D)
    ours = scrambled_projection(tokens, proj)
    expected = proj(tokens.reshape(2 * 5, 6)).reshape(2, 4, 5)
    torch.testing.assert_close(ours, expected, rtol=0, atol=0)
    transposed = proj(tokens.transpose(1, 2)).transpose(1, 2)
    assert not torch.allclose(ours, transposed)


def test_pixel_normalisation():
    frames = torch.full((1, 3, 2, 2), 255.0)
    out = normalize_clip_pixels(frames)
    expected = (
        torch.tensor([(1 - m) / s for m, s in zip(CLIP_MEAN, CLIP_STD)]).view(1, 3, 1, 1).expand(1, 3, 2, 2)
    )
    torch.testing.assert_close(out, expected)


def test_forward_through_tower_equals_after_clip_path():
    cond = _sync_conditioner()
    video, sync = _video(), torch.randn(2, 240, 32)
    with torch.no_grad():
        tokens, mask = cond(video, sync)
        pixels = normalize_clip_pixels(video.flatten(0, 1))
        hidden = cond.visual_encoder_model(pixel_values=pixels).last_hidden_state
        expected, _ = cond.condition_from_clip(hidden, video, sync)
    assert tokens.shape == (2, 128, 32) and mask.shape == (2, 1)
    torch.testing.assert_close(tokens, expected)


def test_uint8_video_equals_float_video():
    cond = _sync_conditioner()
    video, sync = _video(batch=1), torch.randn(1, 240, 32)
    with torch.no_grad():
        a, _ = cond(video, sync)
        b, _ = cond(video.to(torch.uint8), sync)
    torch.testing.assert_close(a, b)


def test_quirk_empty_video_replaces_whole_output_including_sync():
    cond = _sync_conditioner()
    video = _video()
    video[1] = 0
    with torch.no_grad():
        tokens, _ = cond(video, torch.randn(2, 240, 32))
    torch.testing.assert_close(tokens[1], cond.empty_visual_feat[0])
    assert not torch.allclose(tokens[0], cond.empty_visual_feat[0])


def test_sync_is_added_with_sync_weight():
    cond = _sync_conditioner()
    video, sync = _video(batch=1), torch.randn(1, 240, 32)
    with torch.no_grad():
        with_sync, _ = cond(video, sync)
        without, _ = cond(video, torch.zeros_like(sync))
        proj_sync = scrambled_projection(sync, cond.proj_sync) - scrambled_projection(
            torch.zeros_like(sync), cond.proj_sync
        )
    torch.testing.assert_close(with_sync - without, 0.7 * proj_sync, atol=1e-5, rtol=1e-4)


def test_original_clip_conditioner_empty_feature_and_keys():
    torch.manual_seed(0)
    cond = ClipVideoConditioner(
        ClipConditionerConfig(video_fps=1), output_dim=32, vision_config=tiny_clip_config(), **TEMPORAL
    ).eval()
    video = _video()
    video[0] = 0
    with torch.no_grad():
        tokens, mask = cond(video)
    torch.testing.assert_close(tokens[0], cond.empty_visual_feat[0])
    assert mask.tolist() == [[1.0], [1.0]]
    keys = set(cond.state_dict())
    assert {"empty_visual_feat", "Temp_pos_embedding", "proj.weight"} <= keys
    assert not any(k.startswith(("proj_sync", "sync_weight")) for k in keys)
    assert cond.state_dict()["proj.weight"].shape == (128, 5 * 10)  # tokens per frame x frames
    assert cond.state_dict()["Temp_pos_embedding"].shape == (1, 10, 32)


def test_no_temporal_transformer_variant():
    cond = _sync_conditioner(temporal_transformer=False)
    assert not any(k.startswith("Temp_") for k in cond.state_dict())
    with torch.no_grad():
        tokens, _ = cond(_video(batch=1), torch.randn(1, 240, 32))
    assert tokens.shape == (1, 128, 32)


def test_official_sizes_without_tower():
    with torch.device("meta"):
        cond = ClipSyncVideoConditioner(ClipSyncConditionerConfig(), output_dim=768, vision_config=None)
    sd = cond.state_dict()
    assert sd["proj.weight"].shape == (128, 2500)
    assert sd["Temp_pos_embedding"].shape == (1, 50, 768)
    assert sd["proj_sync.weight"].shape == (128, 240)
    assert "proj_out.weight" not in sd


@pytest.mark.parametrize(
    ("build", "error", "text"),
    [
        (
            lambda: ClipSyncVideoConditioner(
                ClipSyncConditionerConfig(mask_ratio=0.2), output_dim=768, vision_config=None
            ),
            ConfigError,
            "mask_ratio",
        ),
        (
            lambda: ClipSyncVideoConditioner(
                ClipSyncConditionerConfig(sync_type="cross-attention"), output_dim=768, vision_config=None
            ),
            ConfigError,
            "sync_type",
        ),
        (
            lambda: _sync_conditioner()(_video(frames=7), torch.zeros(2, 240, 32)),
            InputError,
            "clip_hidden.shape",
        ),
        (lambda: _sync_conditioner()(_video(), torch.zeros(2, 100, 32)), InputError, "sync_features.shape"),
        (
            lambda: _sync_conditioner()(torch.zeros(2, 10, 64, 64), torch.zeros(2, 240, 32)),
            InputError,
            "video.shape",
        ),
        (
            lambda: ClipVideoConditioner(ClipConditionerConfig(), output_dim=768, vision_config=None)(
                torch.ones(1, 50, 3, 2, 2)  # (an all-zero video needs no tower: the empty feature)
            ),
            InputError,
            "without its CLIP tower",
        ),
    ],
)
def test_errors(build, error, text):
    with pytest.raises(error, match=text), torch.no_grad():
        build()


def test_quirk_video_proj_out_built_but_never_applied():
    torch.manual_seed(0)
    cond = ClipVideoConditioner(
        ClipConditionerConfig(video_fps=1), output_dim=16, vision_config=tiny_clip_config(), **TEMPORAL
    ).eval()
    assert isinstance(cond.proj_out, torch.nn.Linear)  # width 32 != cond_dim 16
    with torch.no_grad():
        tokens, _ = cond(_video(batch=1))
    assert tokens.shape == (1, 128, 32)  # CLIP width, not cond_dim


def test_quirk_clip_features_before_post_layernorm():
    cond = _sync_conditioner()
    video = _video(batch=1)
    with torch.no_grad():
        ours = cond.clip_hidden_states(video)
        out = cond.visual_encoder_model(
            pixel_values=normalize_clip_pixels(video.flatten(0, 1)), output_hidden_states=True
        )
    torch.testing.assert_close(ours, out.hidden_states[-1])
    assert not torch.allclose(ours[:, 0], cond.visual_encoder_model.vision_model.post_layernorm(ours[:, 0]))
