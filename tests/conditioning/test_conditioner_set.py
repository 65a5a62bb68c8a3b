"""ConditionerSet: config-order ModuleDict, dispatch by type, official full-size key sets."""

from __future__ import annotations

import json

import pytest
import torch

from audiox.conditioning.audio_latent import AudioLatentConditionerV1, AudioLatentConditionerV2
from audiox.conditioning.conditioner_set import ConditionerSet, VideoWithSync
from audiox.config.parse import load_config, parse_section
from audiox.config.presets import official_config_path
from audiox.config.schema import ConditioningConfig
from audiox.errors import ConfigError, InputError
from audiox.fusion.maf import MafBlock
from tests.conditioning.conftest import TINY_VAE, tiny_clip_config, tiny_t5
from tests.conftest import REFVECTORS

TEMPORAL = {"temporal_depth": 1, "temporal_heads": 2, "temporal_dim_head": 4, "temporal_mlp_dim": 8}


def _tiny_conditioning(audio_extra: dict | None = None) -> ConditioningConfig:
    audio = {"sample_rate": 44100, "pretransform_config": TINY_VAE} | (audio_extra or {})
    data = {
        "cond_dim": 32,
        "configs": [
            {"id": "video_prompt", "type": "clip-with-sync-w-empty-feat", "config": {"video_fps": 1}},
            {"id": "text_prompt", "type": "t5", "config": {"t5_model_name": "t5-small", "max_length": 6}},
            {"id": "audio_prompt", "type": "audio_autoencoder", "config": audio},
        ],
    }
    return parse_section(ConditioningConfig, data, path="model.conditioning")


def _tiny_set(audio_extra: dict | None = None) -> ConditionerSet:
    torch.manual_seed(0)
    return ConditionerSet(
        _tiny_conditioning(audio_extra),
        text_encoder=tiny_t5(d_model=32),
        vision_config=tiny_clip_config(),
        temporal_sizes=TEMPORAL,
    ).eval()


def test_tiny_set_runs_every_conditioner_in_config_order():
    cs = _tiny_set({"latent_seq_len": 10, "mask_ratio_start": 0.25, "mask_ratio_end": 0.75})
    assert list(cs.conditioners) == ["video_prompt", "text_prompt", "audio_prompt"]
    assert isinstance(cs.conditioners["audio_prompt"], AudioLatentConditionerV2)
    inputs = {
        "video_prompt": VideoWithSync(torch.zeros(2, 10, 3, 64, 64), torch.zeros(2, 240, 32)),
        "text_prompt": ["a dog barks", ""],
        "audio_prompt": torch.randn(2, 2, 40),
    }
    with torch.no_grad():
        out = cs(inputs, generator=torch.Generator().manual_seed(0))
        again = cs(inputs, generator=torch.Generator().manual_seed(0))
    assert [tuple(out[k][0].shape) for k in out] == [(2, 128, 32), (2, 6, 32), (2, 128, 32)]
    assert [tuple(out[k][1].shape) for k in out] == [(2, 1), (2, 6), (2, 32)]
    assert torch.equal(out["audio_prompt"][0], again["audio_prompt"][0])


def test_audio_noise_per_id_is_used():
    cs = _tiny_set()
    assert isinstance(cs.conditioners["audio_prompt"], AudioLatentConditionerV1)  # no v2 fields -> v1
    inputs = {
        "video_prompt": VideoWithSync(torch.zeros(1, 10, 3, 64, 64), torch.zeros(1, 240, 32)),
        "text_prompt": [""],
        "audio_prompt": torch.randn(1, 2, 4 * 215),  # v1 needs exactly 215 latent frames
    }
    with torch.no_grad():
        a = cs(inputs, noise={"audio_prompt": torch.zeros(1, 3, 215)})["audio_prompt"][0]
        b = cs(inputs, noise={"audio_prompt": torch.ones(1, 3, 215)})["audio_prompt"][0]
    assert a.shape == (1, 215, 32) and not torch.equal(a, b)


def test_missing_input_and_unknown_type():
    with pytest.raises(InputError, match="audio_prompt"):
        _tiny_set()({"video_prompt": None, "text_prompt": [""]})
    data = {"cond_dim": 8, "configs": [{"id": "x", "type": "int", "config": {}}]}
    with pytest.raises(ConfigError):
        ConditionerSet(parse_section(ConditioningConfig, data))


@pytest.mark.parametrize("name", ["audiox_turbo_infer_4step", "audiox_v1"])
def test_full_size_official_keys_shapes_and_order(name):
    """Built on `meta`: the conditioner (+ MAF) keys equal the official full-size manifest exactly."""
    cfg = load_config(official_config_path(name))
    with torch.device("meta"):
        ours = {
            f"conditioner.{k}": list(v.shape)
            for k, v in ConditionerSet(cfg.model.conditioning).state_dict().items()
        }
        if cfg.model.diffusion.gate:
            g = cfg.model.diffusion.gate_type_config
            maf = MafBlock(
                cfg.model.conditioning.cond_dim,
                num_experts_per_modality=g.num_experts_per_modality,
                num_heads=g.num_heads,
                num_fusion_layers=g.num_fusion_layers,
                mlp_ratio=g.mlp_ratio,
            )
            ours |= {f"maf_block.{k}": list(v.shape) for k, v in maf.state_dict().items()}
    manifest = json.loads((REFVECTORS / "full_size_keys" / f"{name}.json").read_text())["keys"]
    ref = {k: v for k, v in manifest.items() if k.startswith(("conditioner.", "maf_block."))}
    assert list(ours.items()) == list(ref.items())


def test_quirk_audio_autoencoder_type_collision():
    """`audio_autoencoder` builds v1 without the v2-only fields and v2 with any of them."""
    assert isinstance(_tiny_set().conditioners["audio_prompt"], AudioLatentConditionerV1)
    v2 = _tiny_set({"latent_seq_len": 10}).conditioners["audio_prompt"]
    assert isinstance(v2, AudioLatentConditionerV2) and not v2.masks_spans
    assert "empty_audio_feat" not in v2.state_dict() and "proj_features_128.weight" in v2.state_dict()
