"""The official <-> internal key map."""

from __future__ import annotations

import pytest
import torch

from audiox.checkpoints.keys import official_to_internal_key, to_internal, to_official
from audiox.errors import CheckpointError

from .tiny import TinyModel, official_state_dict

OFFICIAL_TO_INTERNAL = {
    "model.model.transformer.layers.0.attn.qkv.weight": "backbone.transformer.layers.0.attn.qkv.weight",
    "conditioner.conditioners.video_prompt.proj.weight": "conditioner.conditioners.video_prompt.proj.weight",
    "conditioner.conditioners.audio_prompt.pretransform.model.encoder.layers.0.bias": (
        "conditioner.conditioners.audio_prompt.pretransform.model.encoder.layers.0.bias"
    ),
    "pretransform.model.decoder.layers.7.weight_v": "pretransform.model.decoder.layers.7.weight_v",
    "maf_block.unified_experts": "maf_block.unified_experts",
}


@pytest.mark.parametrize("official, internal", OFFICIAL_TO_INTERNAL.items())
def test_prefix_map(official, internal):
    t = torch.zeros(1)
    assert list(to_internal({official: t})) == [internal]
    assert list(to_official({internal: t})) == [official]


def test_round_trip_on_a_whole_model():
    official = official_state_dict(TinyModel())
    internal = to_internal(official)
    assert set(internal) == set(TinyModel().state_dict())
    back = to_official(internal)
    assert list(back) == list(official)
    assert all(back[k] is official[k] for k in official)


def test_to_internal_is_idempotent():
    internal = to_internal(official_state_dict(TinyModel()))
    assert list(to_internal(internal)) == list(internal)


@pytest.mark.parametrize(
    "wrapped, expected",
    [
        ("module.model.model.preprocess_conv.weight", "backbone.preprocess_conv.weight"),
        (
            "student.model.model.preprocess_conv.weight",
            "backbone.preprocess_conv.weight",
        ),  # student = wrapper
        (
            "student.model.model.model.preprocess_conv.weight",
            "backbone.preprocess_conv.weight",
        ),  # one more level
        ("student.conditioner.conditioners.text_prompt.x", "conditioner.conditioners.text_prompt.x"),
        (
            "student.model.pretransform.model.encoder.layers.0.bias",
            "pretransform.model.encoder.layers.0.bias",
        ),
        ("model.maf_block.norm1.weight", "maf_block.norm1.weight"),
        ("model.model.model.postprocess_conv.weight", "backbone.postprocess_conv.weight"),
        ("module.student.maf_block.norm1.bias", "maf_block.norm1.bias"),
        ("student.something_else", "student.something_else"),  # not a known root: left for the report
    ],
)
def test_turbo_wrapper_prefixes_are_stripped_only_onto_known_roots(wrapped, expected):
    assert official_to_internal_key(wrapped) == expected


def test_lightning_ema_weights_win_over_online():
    online, ema = torch.zeros(1), torch.ones(1)
    sd = {
        "diffusion.model.model.preprocess_conv.weight": online,
        "diffusion.conditioner.conditioners.video_prompt.proj.bias": online,
        "diffusion.pretransform.model.encoder.layers.0.bias": online,
        "diffusion_ema.ema_model.model.preprocess_conv.weight": ema,
        "diffusion_ema.initted": torch.tensor(True),
        "diffusion_ema.step": torch.tensor(3),
    }
    out = to_internal(sd)
    assert set(out) == {
        "backbone.preprocess_conv.weight",
        "conditioner.conditioners.video_prompt.proj.bias",
        "pretransform.model.encoder.layers.0.bias",
    }
    assert out["backbone.preprocess_conv.weight"] is ema


def test_lightning_without_ema_uses_online_weights():
    w = torch.ones(1)
    assert to_internal({"diffusion.model.model.preprocess_conv.weight": w}) == {
        "backbone.preprocess_conv.weight": w
    }


def test_dmd_checkpoint_keeps_only_the_student():
    w = torch.ones(1)
    sd = {
        "student.model.model.preprocess_conv.weight": w,
        "teacher.model.model.preprocess_conv.weight": w,
        "fake.model.model.preprocess_conv.weight": w,
        "discriminator_heads.0.weight": w,
    }
    assert list(to_internal(sd)) == ["backbone.preprocess_conv.weight"]


def test_clip_position_ids_are_dropped():
    key = "conditioner.conditioners.video_prompt.visual_encoder_model.vision_model.embeddings.position_ids"
    assert to_internal({key: torch.arange(50)[None], "maf_block.w": torch.ones(1)}) == {
        "maf_block.w": torch.ones(1)
    }


def test_weight_norm_parametrization_names_become_legacy():
    g, v = torch.ones(4, 1, 1), torch.ones(4, 2, 3)
    sd = {
        "pretransform.model.encoder.layers.0.parametrizations.weight.original0": g,
        "pretransform.model.encoder.layers.0.parametrizations.weight.original1": v,
    }
    assert list(to_internal(sd)) == [
        "pretransform.model.encoder.layers.0.weight_g",
        "pretransform.model.encoder.layers.0.weight_v",
    ]
    assert list(to_official(sd)) == list(to_internal(sd))


def test_two_layouts_mapping_to_one_key_is_an_error():
    w = torch.ones(1)
    with pytest.raises(CheckpointError, match="both map to 'maf_block.w'"):
        to_internal({"maf_block.w": w, "module.maf_block.w": w})
